import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Store } from '../store/store.js';
import { FileRootKey } from './file-root-key.js';
import { RootKeyMismatchError, StartupError, type RootKey } from './root-key.js';

const CHECK_NAME = 'root-key-check';
const CHECK_AAD = Buffer.from('coffer:root-key-check');

/**
 * Opens the root key for a store, and proves it is the one the store was written with.
 *
 * The store keeps a check value wrapped by the root key. A fresh store gets a new root key and a
 * new check value. A store with a check value but no root key file, or a root key that cannot open
 * the check value, stops the start: creating a new root key there would silently orphan every key.
 */
export async function openFileRootKey(dataDir: string, store: Store): Promise<RootKey> {
  const path = join(dataDir, 'root.key');
  let check = await store.getMeta(CHECK_NAME);
  if (check === undefined) {
    const rootKey = FileRootKey.exists(path) ? FileRootKey.load(path) : FileRootKey.create(path);
    if (await store.putMetaIfAbsent(CHECK_NAME, await rootKey.wrap(randomBytes(32), CHECK_AAD))) return rootKey;
    // Another node sharing the store set the check value first: this root key must be the one it used.
    check = (await store.getMeta(CHECK_NAME))!;
  }
  if (!FileRootKey.exists(path)) {
    throw new StartupError(
      `The root key file ${path} is missing, but the store in ${dataDir} was written with a root key. ` +
      'Restore the root key file from backup; Coffer will not create a new root key over existing data.');
  }
  const rootKey = FileRootKey.load(path);
  try {
    await rootKey.unwrap(check, CHECK_AAD);
  } catch (error) {
    if (!(error instanceof RootKeyMismatchError)) throw error;
    throw new StartupError(
      `The root key file ${path} is not the root key the store in ${dataDir} was written with. ` +
      'Restore the original root key file; nothing was changed.');
  }
  return rootKey;
}
