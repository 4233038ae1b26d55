import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { StoreUnavailableError, type Store } from '../store/store.js';
import { FileRootKey } from './file-root-key.js';
import { keyringHeader, LEGACY_ROOT_KEY_ID, newRootKeyId, wrappedBy } from './header.js';
import {
  CHECK_AAD, descriptorOf, LEGACY_ROOT_KEY_FILE, readKeyring, writeKeyring,
  type KeyringRecord, type RootKeyDescriptor, type RootKeyProviderName, type RotationProgress, type StoredKeyring,
} from './keyring.js';
import type { ProviderContext } from './options.js';
import { ROOT_KEY_PROVIDER_TABLE } from './providers/index.js';
import { RootKeyMismatchError, RootKeyUnavailableError, StartupError, type RootKey } from './root-key.js';
import type { RootSealer } from './sealer.js';

/** An opened root key: the legacy file key wraps in format 0x01 itself; every other through a sealer. */
type Opened = { readonly legacy: FileRootKey } | { readonly sealer: RootSealer };

/** How often a root key whose source failed is opened again, at most: each try asks the token for a session and a login. */
const REOPEN_INTERVAL_MS = 1_000;

/** The keyring changed under a rotation step (another node, another rotation): re-read and retry. */
/**
 * This node cannot use the current root key: another node made one current that this node cannot
 * open (a key file not copied here, a passphrase or PIN it was not given). Retryable, as the
 * store's unavailability is (503), and another node can serve the request meanwhile.
 */
export class RootKeyBehindError extends StoreUnavailableError {}

export class KeyringConflictError extends Error {
  override readonly name = 'KeyringConflictError';
}

/**
 * The root key as the rest of the server sees it: every root key of the store's keyring, opened.
 * New values are wrapped by the current root key, with a header naming it (header.ts); a value is
 * unwrapped by the root key its header names, so values made before a rotation still open while
 * the rotation re-wraps them. A value naming a root key this node has not opened (another node
 * rotated) makes it re-read the keyring once and open the new key from its descriptor.
 */
export class KeyringRootKey implements RootKey {
  readonly #store: Store;
  readonly #context: ProviderContext;
  #keyring: StoredKeyring;
  readonly #opened = new Map<string, Opened>();
  #refreshing: Promise<void> | undefined;
  /** Why this node cannot follow the keyring (a root key it cannot open), until a refresh succeeds. */
  #behind: string | undefined;
  /**
   * Root keys being opened again after their source failed, and the last failure to, per id, with
   * the failure that began the outage (its CKR_ code stays in every later message: a later try
   * meets only the session the re-initialisation ended).
   */
  readonly #reopening = new Map<string, Promise<RootSealer>>();
  readonly #reopenFailed = new Map<string, { readonly at: number; readonly error: RootKeyUnavailableError; readonly cause: RootKeyUnavailableError }>();

  private constructor(store: Store, context: ProviderContext, keyring: StoredKeyring) {
    this.#store = store;
    this.#context = context;
    this.#keyring = keyring;
  }

  get description(): string {
    const current = this.currentDescriptor;
    return `root key ${current.id} (${current.provider})`;
  }

  get currentId(): string {
    return this.#keyring.record.current;
  }

  get currentDescriptor(): RootKeyDescriptor {
    return descriptorOf(this.#keyring.record, this.currentId)!;
  }

  get keyring(): KeyringRecord {
    return this.#keyring.record;
  }

  /**
   * Opens the store's root keys, or makes the first one for a fresh store with `provider`
   * (default `file`: root.key, exactly as before the keyring). Every failure is a StartupError,
   * thrown before anything is written.
   */
  static async open(store: Store, context: ProviderContext, now: number): Promise<KeyringRootKey> {
    let keyring = await readKeyring(store);
    if (keyring === undefined) {
      const created = await KeyringRootKey.#createFirst(store, context, now);
      if (created) return created;
      // Another node made the first root key at the same time: open it as any existing store.
      keyring = (await readKeyring(store))!;
    }
    const root = new KeyringRootKey(store, context, keyring);
    try {
      for (const descriptor of keyring.record.keys) await root.#openKey(descriptor);
    } catch (error) {
      await root.close();
      throw error;
    }
    return root;
  }

  static async #createFirst(store: Store, context: ProviderContext, now: number): Promise<KeyringRootKey | undefined> {
    const provider = context.options.provider ?? 'file';
    if (provider === 'file') {
      const path = join(context.dataDir, LEGACY_ROOT_KEY_FILE);
      const legacy = FileRootKey.exists(path) ? FileRootKey.load(path, context.warn) : FileRootKey.create(path);
      const check = await legacy.wrap(randomBytes(32), CHECK_AAD);
      if (!(await store.putMetaIfAbsent('root-key-check', check))) return undefined;
      const keyring = (await readKeyring(store))!;
      const root = new KeyringRootKey(store, context, keyring);
      root.#opened.set(LEGACY_ROOT_KEY_ID, { legacy });
      return root;
    }
    const id = newRootKeyId();
    const { descriptor, sealer, discard } = await KeyringRootKey.#createKey(provider, id, context, now);
    const record: KeyringRecord = { format: 1, current: id, keys: [descriptor] };
    if (!(await writeKeyring(store, undefined, record))) {
      await discarded(sealer, discard);
      return undefined;
    }
    const root = new KeyringRootKey(store, context, (await readKeyring(store))!);
    root.#opened.set(id, { sealer });
    return root;
  }

  static async #createKey(
    provider: RootKeyProviderName, id: string, context: ProviderContext, now: number,
  ): Promise<{ descriptor: RootKeyDescriptor; sealer: RootSealer; discard: (() => Promise<void>) | undefined }> {
    const created = await ROOT_KEY_PROVIDER_TABLE[provider].create(id, context);
    const header = keyringHeader(id);
    const check = Buffer.concat([header, await created.sealer.seal(randomBytes(32), Buffer.concat([header, CHECK_AAD]))]);
    return { descriptor: { id, provider, settings: created.settings, check: check.toString('base64'), createdAt: now }, sealer: created.sealer, discard: created.discard };
  }

  async #openKey(descriptor: RootKeyDescriptor): Promise<void> {
    if (this.#opened.has(descriptor.id)) return;
    const check = Buffer.from(descriptor.check, 'base64');
    if (descriptor.id === LEGACY_ROOT_KEY_ID) {
      const path = join(this.#context.dataDir, LEGACY_ROOT_KEY_FILE);
      if (!FileRootKey.exists(path)) {
        throw new StartupError(
          `The root key file ${path} is missing (no root key file in ${this.#context.dataDir}), but the store was written with a root key. ` +
          'Restore the root key file from backup; Coffer will not create a new root key over existing data.');
      }
      const legacy = FileRootKey.load(path, this.#context.warn);
      try {
        await legacy.unwrap(check, CHECK_AAD);
      } catch (error) {
        if (!(error instanceof RootKeyMismatchError)) throw error;
        // "The store", not "the store in <dir>": a PostgreSQL store is not in the data directory.
        throw new StartupError(`The root key file ${path} is not the root key the store was written with. Restore the original root key file `
          + '(or point --data-dir at the directory that holds it); nothing was changed.');
      }
      this.#opened.set(descriptor.id, { legacy });
      return;
    }
    const provider = ROOT_KEY_PROVIDER_TABLE[descriptor.provider];
    // A rotation between two passphrases leaves a key of each until it ends: the previous one may open this key.
    const { previousPassphrase } = this.#context.options;
    const contexts = descriptor.provider === 'passphrase' && previousPassphrase !== undefined
      ? [this.#context, { ...this.#context, options: { ...this.#context.options, passphrase: previousPassphrase } }]
      : [this.#context];
    const header = keyringHeader(descriptor.id);
    for (const context of contexts) {
      const sealer = await provider.open(descriptor, context);
      const opened = wrappedBy(check) === descriptor.id
        ? await sealer.open(check.subarray(header.length), Buffer.concat([header, CHECK_AAD]))
        : undefined;
      if (opened) {
        this.#opened.set(descriptor.id, { sealer });
        return;
      }
      await sealer.close();
    }
    throw new StartupError(provider.mismatchHint(descriptor));
  }

  /** Why this node cannot wrap (the current root key is one it cannot open), or undefined. */
  get unusableReason(): string | undefined {
    return this.#behind === undefined ? undefined : `the current root key cannot be opened on this node: ${this.#behind}`;
  }

  async wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    // Retryable (503 DependencyTimeoutException): another node can serve it meanwhile.
    if (this.#behind !== undefined) throw new RootKeyBehindError(this.unusableReason!);
    const id = this.currentId;
    const opened = this.#opened.get(id);
    if (!opened) throw new Error(`the current root key ${id} is not open`);
    if ('legacy' in opened) return opened.legacy.wrap(plaintext, aad);
    const header = keyringHeader(id);
    return this.#withSealer(id, opened.sealer, async (sealer) => Buffer.concat([header, await sealer.seal(plaintext, Buffer.concat([header, aad]))]));
  }

  async unwrap(wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const id = wrappedBy(wrapped);
    if (id === undefined) throw new RootKeyMismatchError('wrapped value has no root-key header Coffer writes');
    if (!this.#opened.has(id)) {
      try {
        await this.refresh();
      } catch (error) {
        // A value under the root key another node made current, which this node cannot open (it
        // was not given the secret): retryable on another node, as this node's wraps are.
        if (this.#behind !== undefined) throw new RootKeyBehindError(this.unusableReason!);
        throw error;
      }
    }
    const opened = this.#opened.get(id);
    if (!opened) throw new RootKeyMismatchError(`wrapped value names root key ${id}, which is not in the keyring`);
    if ('legacy' in opened) return opened.legacy.unwrap(wrapped, aad);
    const header = keyringHeader(id);
    return this.#withSealer(id, opened.sealer, async (sealer) => {
      const plaintext = await sealer.open(wrapped.subarray(header.length), Buffer.concat([header, aad]));
      if (plaintext) return plaintext;
      // A token may report its own failure as a failed tag (SoftHSM2: CKR_GENERAL_ERROR): a root key
      // that no longer opens its own check value is failing, and the value may well be sound.
      if (!(await this.#opensCheck(id, sealer))) throw new RootKeyUnavailableError(`root key ${id} no longer opens its own check value: its key source is failing`);
      throw new RootKeyMismatchError('wrapped value does not open under its root key');
    });
  }

  /**
   * Runs `use` with the sealer of root key `id`; if its source failed (RootKeyUnavailableError),
   * opens the key again and runs `use` once more: a token that came back answers a new session.
   */
  async #withSealer<T>(id: string, sealer: RootSealer, use: (sealer: RootSealer) => Promise<T>): Promise<T> {
    try {
      return await use(sealer);
    } catch (error) {
      if (!(error instanceof RootKeyUnavailableError)) throw error;
      // Another request opened the key again meanwhile: use that.
      const latest = this.#opened.get(id);
      if (latest && 'sealer' in latest && latest.sealer !== sealer) return use(latest.sealer);
      return use(await this.#reopen(id, error));
    }
  }

  /**
   * Opens root key `id` again from its descriptor, proven by its check value (a key of the same
   * label that is another key is refused), and puts it in place of the failed sealer. One try
   * at a time per key, and none within REOPEN_INTERVAL_MS of a failed one: the last failure is
   * thrown meanwhile. Every failure is a RootKeyUnavailableError.
   */
  #reopen(id: string, cause: RootKeyUnavailableError): Promise<RootSealer> {
    const pending = this.#reopening.get(id);
    if (pending) return pending;
    const failed = this.#reopenFailed.get(id);
    if (failed && Date.now() - failed.at < REOPEN_INTERVAL_MS) return Promise.reject(failed.error);
    const descriptor = descriptorOf(this.#keyring.record, id);
    const provider = descriptor && ROOT_KEY_PROVIDER_TABLE[descriptor.provider];
    if (!descriptor || !provider?.reopen) return Promise.reject(cause);
    const first = failed?.cause ?? cause;
    const reopening = (async () => {
      let sealer: RootSealer | undefined;
      try {
        sealer = await provider.reopen!(descriptor, this.#context, (candidate) => this.#opensCheck(id, candidate));
        const previous = this.#opened.get(id);
        if (!previous || !descriptorOf(this.#keyring.record, id)) throw cause; // retired meanwhile
        const reopened = sealer;
        this.#opened.set(id, { sealer: reopened });
        sealer = undefined;
        this.#reopenFailed.delete(id);
        if ('sealer' in previous) await previous.sealer.close();
        return reopened;
      } catch (error) {
        await sealer?.close();
        const unavailable = error instanceof RootKeyUnavailableError ? error
          : new RootKeyUnavailableError(`root key ${id} could not be opened again after its source failed (${first.message}): ${error instanceof Error ? error.message : String(error)}`);
        this.#reopenFailed.set(id, { at: Date.now(), error: unavailable, cause: first });
        throw unavailable;
      } finally {
        this.#reopening.delete(id);
      }
    })();
    this.#reopening.set(id, reopening);
    return reopening;
  }

  /**
   * Proves that the root keys whose key lives outside the process (a PKCS#11 token: providers with
   * `reopen`) still work, each by opening its own check value: one decrypt on the token per key,
   * nothing written. A key that fails is opened again as a request would open it (#withSealer: at
   * most once a second, a PIN the token refused never tried again), so a token that came back is
   * in use again after one probe. Keys held in memory are not asked: nothing about them can fail
   * while serving. Resolves to undefined, or to why a root key cannot be used (never a secret).
   */
  async probe(): Promise<string | undefined> {
    for (const descriptor of this.#keyring.record.keys) {
      const opened = this.#opened.get(descriptor.id);
      if (!opened || !('sealer' in opened) || !ROOT_KEY_PROVIDER_TABLE[descriptor.provider].reopen) continue;
      try {
        await this.#withSealer(descriptor.id, opened.sealer, async (sealer) => {
          if (!(await this.#opensCheck(descriptor.id, sealer))) {
            throw new RootKeyUnavailableError(`root key ${descriptor.id} no longer opens its own check value: its key source is failing`);
          }
        });
      } catch (error) {
        if (!(error instanceof RootKeyUnavailableError)) throw error;
        return `the ${descriptor.provider} root key cannot be used: ${error.message}`;
      }
    }
    return undefined;
  }

  async #opensCheck(id: string, sealer: RootSealer): Promise<boolean> {
    const descriptor = descriptorOf(this.#keyring.record, id);
    if (!descriptor) return true;
    const header = keyringHeader(id);
    const check = await sealer.open(Buffer.from(descriptor.check, 'base64').subarray(header.length), Buffer.concat([header, CHECK_AAD]));
    check?.fill(0);
    return check !== undefined;
  }

  /** Whether `wrapped` is already under the current root key (a rotation skips it). */
  isCurrent(wrapped: Uint8Array): boolean {
    return wrappedBy(wrapped) === this.currentId;
  }

  /**
   * Re-reads the keyring (another node may have rotated): opens keys it has not opened, follows
   * the current key, closes retired ones. One refresh at a time; a key that cannot be opened here
   * is logged by the caller's failure, not fatal to the node.
   */
  refresh(): Promise<void> {
    return (this.#refreshing ??= (async () => {
      try {
        const keyring = await readKeyring(this.#store);
        if (!keyring) return;
        if (keyring.raw !== undefined && this.#keyring.raw !== undefined && Buffer.compare(keyring.raw, this.#keyring.raw) === 0) return;
        try {
          for (const descriptor of keyring.record.keys) await this.#openKey(descriptor);
        } catch (error) {
          // Another node made a root key current that this one cannot open: wrapping under the
          // old one would write values the rotation may retire the key of. Stop wrapping.
          if (keyring.record.current !== this.currentId) this.#behind = error instanceof Error ? error.message : String(error);
          throw error;
        }
        this.#keyring = keyring;
        this.#behind = undefined;
        await this.#closeRetired();
      } finally {
        this.#refreshing = undefined;
      }
    })());
  }

  /**
   * Makes a new root key with `provider` and makes it current at once (new wraps use it), with a
   * rotation under way to re-wrap everything else. Throws KeyringConflictError if a rotation is
   * already under way or the keyring changed meanwhile; a provider failure is a StartupError.
   */
  async beginRotation(provider: RootKeyProviderName, context: ProviderContext, now: number): Promise<RootKeyDescriptor> {
    await this.refresh();
    const previous = this.#keyring;
    if (previous.record.rotation) throw new KeyringConflictError('a root-key rotation is already under way');
    const id = newRootKeyId();
    const { descriptor, sealer, discard } = await KeyringRootKey.#createKey(provider, id, context, now);
    const next: KeyringRecord = {
      format: 1, current: id, keys: [...previous.record.keys, descriptor],
      rotation: { startedAt: now, phase: 'keys', rewrapped: 0 },
    };
    if (!(await writeKeyring(this.#store, previous, next))) {
      await discarded(sealer, discard);
      throw new KeyringConflictError('the root keyring changed while the rotation began');
    }
    this.#opened.set(id, { sealer });
    this.#keyring = (await readKeyring(this.#store))!;
    return descriptor;
  }

  /** Records how far the rotation got; false if the keyring changed meanwhile (the caller re-reads). */
  async saveProgress(rotation: RotationProgress): Promise<boolean> {
    const previous = this.#keyring;
    const ok = await writeKeyring(this.#store, previous, { ...previous.record, rotation });
    this.#keyring = (await readKeyring(this.#store))!;
    return ok;
  }

  /** Ends a rotation: only the current root key stays in the keyring; the others are closed. */
  async retireOthers(): Promise<boolean> {
    const previous = this.#keyring;
    const current = this.currentDescriptor;
    const ok = await writeKeyring(this.#store, previous, { format: 1, current: current.id, keys: [current] });
    this.#keyring = (await readKeyring(this.#store))!;
    await this.#closeRetired();
    return ok;
  }

  async #closeRetired(): Promise<void> {
    for (const [id, opened] of this.#opened) {
      if (descriptorOf(this.#keyring.record, id)) continue;
      this.#opened.delete(id);
      if ('sealer' in opened) await opened.sealer.close();
    }
  }

  async close(): Promise<void> {
    for (const opened of this.#opened.values()) if ('sealer' in opened) await opened.sealer.close();
    this.#opened.clear();
  }
}

/**
 * A key made for a keyring write that was refused (another node's write came first): what its
 * provider made outside the store goes, so no orphan key file or token object is left, nor a token
 * label taken by a key nobody names. Only on a refusal: a write that failed may have committed.
 */
async function discarded(sealer: RootSealer, discard: (() => Promise<void>) | undefined): Promise<void> {
  try {
    await discard?.();
  } catch {
    // A token that fails now keeps the object; named by no keyring, it wraps nothing of the store's.
  } finally {
    await sealer.close();
  }
}
