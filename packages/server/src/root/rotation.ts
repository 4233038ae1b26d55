import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import { REWRAP_PHASES, type RootKeyDescriptor, type RootKeyProviderName, type RotationProgress } from './keyring.js';
import { KeyringConflictError, type KeyringRootKey } from './keyring-root-key.js';
import type { RootKeyOptions } from './options.js';
import { RootKeyMismatchError } from './root-key.js';
import { wrappedValuesPage, type WrappedValue } from './wrapped-values.js';

export interface RotationSettings {
  /** Keys (or principals) per batch; progress is saved after each. */
  readonly batchSize: number;
  /** How long to wait after a new root key becomes current before re-wrapping, so every node has switched to it (their keyring refresh interval). */
  readonly settleMs: number;
  /** The account roots whose access keys are re-wrapped with the principals'. */
  readonly accountRoots: readonly string[];
  /** Test-only: runs after each saved batch; a test stops the server there to interrupt a rotation. */
  readonly testOnlyAfterBatch?: () => Promise<void>;
}

interface RewrapResult {
  readonly rewrapped: number;
  /** Values under an old root key that did not unwrap: they keep the old keys in the keyring. */
  readonly unreadable: readonly WrappedValue[];
}

/** How many full sweeps may still find values under an old key (written by a node that had not yet switched) before giving up until the next start. */
const MAX_SWEEPS = 5;

/**
 * Root-key rotation and migration while serving (docs/root-keys.md): `begin` makes a new root key
 * current at once, then the background pass re-wraps every root-wrapped value (wrapped-values.ts)
 * batch by batch, saving its place in the keyring after each, so a pass cut short by a crash or a
 * restart resumes at the next start. Each value is replaced by compare-and-set, so a concurrent
 * writer is never overwritten. When a full sweep finds nothing left under an old key, the old
 * keys retire from the keyring and are no longer needed.
 */
export class RootRotation {
  readonly #root: KeyringRootKey;
  readonly #store: Store;
  readonly #log: Logger;
  readonly #settings: RotationSettings;
  #running: Promise<void> | undefined;
  #stopping = false;
  /** Ends the settle wait early when the server stops. */
  #wake: (() => void) | undefined;

  constructor(root: KeyringRootKey, store: Store, log: Logger, settings: RotationSettings) {
    this.#root = root;
    this.#store = store;
    this.#log = log;
    this.#settings = settings;
  }

  /** Starts a rotation to a new key of `provider` and returns its descriptor; the re-wrap runs in the background. */
  async begin(provider: RootKeyProviderName, options: RootKeyOptions, dataDir: string, now: number): Promise<RootKeyDescriptor> {
    const descriptor = await this.#root.beginRotation(provider, { dataDir, options }, now);
    this.#log('info', 'root key rotation began', { rootKeyId: descriptor.id, provider });
    this.resume();
    return descriptor;
  }

  /** Continues a rotation the keyring says is under way (at start, or after `begin`); no-op otherwise. */
  resume(): void {
    if (this.#running || !this.#root.keyring.rotation || this.#stopping) return;
    this.#running = this.#store.runExclusive('root-rotation', () => this.#run())
      .then(() => {}, (error: unknown) => this.#log('error', 'root key rotation paused; it resumes at the next keyring refresh (or the next start)', { error: error instanceof Error ? error.message : String(error) }))
      .finally(() => (this.#running = undefined));
  }

  /** Resolves when the background pass (if any) has stopped or finished. */
  async settled(): Promise<void> {
    await this.#running;
  }

  /** Stops after the batch in progress; the keyring keeps the place. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    await this.#running;
  }

  async #run(): Promise<void> {
    await this.#sleep(this.#settings.settleMs);
    if (this.#stopping) return;
    let progress = this.#root.keyring.rotation;
    if (!progress) return;
    for (let phase = REWRAP_PHASES.indexOf(progress.phase); phase < REWRAP_PHASES.length; phase++) {
      let after = REWRAP_PHASES[phase] === progress.phase ? progress.after : undefined;
      for (;;) {
        if (this.#stopping) return;
        const page = await wrappedValuesPage(this.#store, REWRAP_PHASES[phase]!, after, this.#settings.batchSize, this.#settings.accountRoots);
        const { rewrapped } = await this.#rewrapAll(page.values);
        const last = page.next === undefined;
        const nextPhase = last ? REWRAP_PHASES[phase + 1] : REWRAP_PHASES[phase]!;
        progress = { ...progress, rewrapped: progress.rewrapped + rewrapped, phase: nextPhase ?? REWRAP_PHASES[phase]!, ...(last ? { after: undefined } : { after: page.next }) };
        if (!last || nextPhase) await this.#save(progress);
        await this.#settings.testOnlyAfterBatch?.();
        if (last) break;
        after = page.next;
      }
    }
    // Values written under an old key by a node that had not yet switched: sweep until none are left.
    for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
      if (this.#stopping) return;
      const { rewrapped: left, unreadable } = await this.#sweep();
      if (left === 0) {
        // A value still under an old key keeps that key: its failure may pass (an HSM that did not answer), and retired, the key could never open it again.
        if (unreadable.length > 0) {
          throw new Error(`${unreadable.length} value(s) under an old root key do not unwrap (the first: ${unreadable[0]!.kind} ${unreadable[0]!.name}); the old root keys stay until they do: see coffer store check`);
        }
        if (!(await this.#root.retireOthers())) throw new KeyringConflictError('the root keyring changed while the old root keys were retired');
        this.#log('info', 'root key rotation finished; the old root keys are retired', { rootKeyId: this.#root.currentId, rewrapped: progress.rewrapped });
        return;
      }
      progress = { ...progress, rewrapped: progress.rewrapped + left };
    }
    throw new Error('values under old root keys kept appearing: is a node running without the new root key?');
  }

  /** A full pass without saving its place: how many values it re-wrapped, and which are left under an old key because they do not unwrap. */
  async #sweep(): Promise<RewrapResult> {
    let rewrapped = 0;
    const unreadable: WrappedValue[] = [];
    for (const phase of REWRAP_PHASES) {
      for (let after: string | undefined; ;) {
        const page = await wrappedValuesPage(this.#store, phase, after, this.#settings.batchSize, this.#settings.accountRoots);
        const result = await this.#rewrapAll(page.values);
        rewrapped += result.rewrapped;
        unreadable.push(...result.unreadable);
        if (page.next === undefined) break;
        after = page.next;
      }
    }
    return { rewrapped, unreadable };
  }

  async #rewrapAll(values: readonly WrappedValue[]): Promise<RewrapResult> {
    let count = 0;
    const unreadable: WrappedValue[] = [];
    for (const value of values) {
      if (this.#root.isCurrent(value.wrapped)) continue;
      let plaintext: Uint8Array;
      try {
        plaintext = await this.#root.unwrap(value.wrapped, value.aad);
      } catch (error) {
        if (!(error instanceof RootKeyMismatchError)) throw error;
        // Damaged, or its root key failed for a moment: left under the old key, which then stays; `coffer store check` reports it.
        this.#log('error', 'root key rotation: a value does not unwrap; left under its old root key, which stays', { kind: value.kind, name: value.name });
        unreadable.push(value);
        continue;
      }
      try {
        const next = await this.#root.wrap(plaintext, value.aad);
        // A lost compare-and-set means a writer changed or removed the value: the sweep looks at it again.
        if (await value.replace(next)) count++;
      } finally {
        Buffer.from(plaintext.buffer, plaintext.byteOffset, plaintext.byteLength).fill(0);
      }
    }
    return { rewrapped: count, unreadable };
  }

  async #save(progress: RotationProgress): Promise<void> {
    if (!(await this.#root.saveProgress(progress))) throw new KeyringConflictError('the root keyring changed during the rotation');
  }

  #sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((done) => {
      const timer = setTimeout(() => done(), ms);
      this.#wake = () => {
        clearTimeout(timer);
        done();
      };
    });
  }
}
