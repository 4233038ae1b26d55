import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { AUDIT_KEY_META } from '../audit/audit-key.js';
import { openRootKey as openStoreRootKey } from '../root/open-root-key.js';
import { rootKeyOptionsFromEnv, type RootKeyOptions } from '../root/options.js';
import { StartupError, type RootKey } from '../root/root-key.js';
import { isPostgresUrl, redactConnectionString } from '../store/connection-string.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';

/** Where a backup reads from or a restore writes to: a data directory and its store, as `coffer serve` names them. */
export interface StoreLocation {
  readonly dataDir: string;
  /** A `postgres://` URL; SQLite `coffer.db` in the data directory when absent. */
  readonly store?: string;
  /**
   * How to reach the root key, as `coffer serve` is told: the source's must open its store; a
   * restore target's provider makes the new store's root key. The secrets in the environment
   * (COFFER_ROOT_PASSPHRASE, COFFER_PKCS11_PIN) when absent.
   */
  readonly rootKey?: RootKeyOptions;
}

export interface OpenedLocation {
  readonly store: Store;
  /** For messages: the SQLite file, or the URL without its password. */
  readonly name: string;
  readonly backend: 'sqlite' | 'postgresql';
  readonly dataDir: string;
}

/**
 * Opens the store a backup reads: it must exist and have been used by a server (it has an audit
 * key), so that opening it never creates a store or a root key where the operator made a typo.
 */
export async function openSource(location: StoreLocation): Promise<OpenedLocation & { root: OpenedRootKey }> {
  const dataDir = resolve(location.dataDir);
  const postgres = location.store !== undefined && isPostgresUrl(location.store);
  const opened = await open(location, dataDir, postgres, { existing: true });
  try {
    if ((await opened.store.getMeta(AUDIT_KEY_META)) === undefined) {
      throw new StartupError(`The store ${opened.name} has never been used by a Coffer server: there is nothing to back up.`);
    }
    return { ...opened, root: await openRootKey(dataDir, opened.store, location.rootKey) };
  } catch (error) {
    await opened.store.close();
    throw error;
  }
}

/** Opens (creating if need be) the data directory and store a restore writes to. Its root key comes later, from `openRootKey`. */
export async function openTarget(location: StoreLocation): Promise<OpenedLocation> {
  const dataDir = resolve(location.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  return open(location, dataDir, location.store !== undefined && isPostgresUrl(location.store));
}

/** A root key with the resources its provider holds (a token session, a client), freed by `close`. */
export type OpenedRootKey = RootKey & { close(): Promise<void>; readonly currentDescriptor: { readonly provider: string } };

/**
 * The one place backup and restore open a root key: the source's (which must be the one its store
 * was written with) and the target's (made, for a fresh store, as a server's first start makes it).
 */
export function openRootKey(dataDir: string, store: Store, options: RootKeyOptions | undefined): Promise<OpenedRootKey> {
  return openStoreRootKey(dataDir, store, options ?? rootKeyOptionsFromEnv());
}

async function open(location: StoreLocation, dataDir: string, postgres: boolean, { existing = false } = {}): Promise<OpenedLocation> {
  const name = postgres ? redactConnectionString(location.store!) : join(dataDir, 'coffer.db');
  let store: Store;
  try {
    store = await openStore({ dataDir, store: postgres ? location.store! : 'sqlite' }, { existing });
  } catch (error) {
    if (error instanceof StartupError) throw error;
    throw new StartupError(`Cannot open the store ${name}: ${(error as Error).message}`);
  }
  return { store, name, backend: postgres ? 'postgresql' : 'sqlite', dataDir };
}
