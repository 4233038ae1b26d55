import type { Store } from '../store/store.js';
import { KeyringRootKey } from './keyring-root-key.js';
import type { RootKeyOptions } from './options.js';

/**
 * Opens the root keys of a store, and proves each is the one the store was written with: the
 * keyring keeps a check value per root key (root/keyring.ts; a store written before the keyring
 * is read as one file root key, root.key, with its 'root-key-check'). A fresh store gets its first
 * root key from `options.provider` (default `file`). A missing key, a wrong passphrase, PIN or
 * token stop the start with a StartupError, and nothing is written: creating a new root key over
 * existing data would silently orphan every key.
 */
export async function openRootKey(
  dataDir: string, store: Store, options: RootKeyOptions = {}, now = Date.now(), warn?: (message: string) => void,
): Promise<KeyringRootKey> {
  return KeyringRootKey.open(store, { dataDir, options, ...(warn ? { warn } : {}) }, now);
}
