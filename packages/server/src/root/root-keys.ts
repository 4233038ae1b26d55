import type { Logger } from '../log.js';
import type { Store } from '../store/store.js';
import type { KeyringRootKey } from './keyring-root-key.js';
import type { RootKeyOptions } from './options.js';
import { RootKeyHealth, type RootKeyHealthSettings } from './root-key-health.js';
import { RootRotation, type RotationSettings } from './rotation.js';

/** The root keys of a running server, for the admin API's RotateRootKey and GetRootKeyStatus. */
export interface RootKeys {
  readonly key: KeyringRootKey;
  readonly rotation: RootRotation;
  readonly dataDir: string;
  /** The server's root-key configuration: the secrets a rotation target may use. */
  readonly options: RootKeyOptions;
  /** Whether this node can use its root keys now (a token may be away), as /readyz says. */
  readonly health: Pick<RootKeyHealth, 'check'>;
}

export interface RootKeyWorkSettings extends Partial<RotationSettings>, RootKeyHealthSettings {
  /** How often this node re-reads the keyring to follow a rotation begun on another node, in ms. */
  readonly refreshMs?: number;
}

const DEFAULT_REFRESH_MS = 5_000;

/**
 * Starts what a server does with its root keys besides wrapping: follows the keyring (another node
 * may rotate), resumes an interrupted rotation, and answers whether the root keys can be used
 * (`health`, for /readyz and /metrics). `stop` ends the first two.
 */
export function startRootKeyWork(
  key: KeyringRootKey, store: Store, log: Logger, dataDir: string, options: RootKeyOptions, accountRoots: readonly string[], settings: RootKeyWorkSettings = {},
): { readonly rootKeys: RootKeys; readonly health: RootKeyHealth; stop(): Promise<void> } {
  const refreshMs = settings.refreshMs ?? DEFAULT_REFRESH_MS;
  const rotation = new RootRotation(key, store, log, {
    batchSize: settings.batchSize ?? 100,
    // Another node switches to a new root key within one refresh: wait that long before re-wrapping.
    settleMs: settings.settleMs ?? refreshMs + 1_000,
    accountRoots: settings.accountRoots ?? accountRoots,
    ...(settings.testOnlyAfterBatch ? { testOnlyAfterBatch: settings.testOnlyAfterBatch } : {}),
  });
  const timer = setInterval(() => {
    key.refresh().then(() => rotation.resume(), (error: unknown) => log('error', 'root keyring refresh failed', { error: error instanceof Error ? error.message : String(error) }));
  }, refreshMs);
  timer.unref();
  rotation.resume();
  const health = new RootKeyHealth(key, log, settings);
  return {
    rootKeys: { key, rotation, dataDir, options, health },
    health,
    async stop() {
      clearInterval(timer);
      await rotation.stop();
    },
  };
}
