import { randomBytes } from 'node:crypto';
import { RootKeyMismatchError, StartupError, type RootKey } from '../root/root-key.js';
import type { Store } from '../store/store.js';

/** The meta entry that holds the root-wrapped audit key, and the AAD it is wrapped with. */
export const AUDIT_KEY_META = 'audit-key';
export const AUDIT_KEY_AAD = Buffer.from('coffer:audit-key:v1', 'utf8');

/**
 * The key the audit chain is HMACed under: made once, stored only wrapped by the root key, so the
 * chain can be checked (and extended) only with the root key at hand.
 */
export async function openAuditKey(store: Store, root: RootKey): Promise<Uint8Array> {
  let wrapped = await store.getMeta(AUDIT_KEY_META);
  if (wrapped === undefined) {
    await store.putMetaIfAbsent(AUDIT_KEY_META, await root.wrap(randomBytes(32), AUDIT_KEY_AAD));
    wrapped = (await store.getMeta(AUDIT_KEY_META))!;
  }
  try {
    return await root.unwrap(wrapped, AUDIT_KEY_AAD);
  } catch (error) {
    // The root key itself opened (its check value did): the stored audit key is what is damaged,
    // and without it no request could be audited, so none is served.
    if (!(error instanceof RootKeyMismatchError)) throw error;
    throw new StartupError(`The store's audit key does not open under the root key (${error.message}): the store is damaged there. `
      + '`coffer store check` lists what else is; restore the data directory from a backup.');
  }
}

/** The audit key if the store has one, without making one: for checking a chain, never for extending it. */
export async function readAuditKey(store: Store, root: RootKey): Promise<Uint8Array | undefined> {
  const wrapped = await store.getMeta(AUDIT_KEY_META);
  return wrapped === undefined ? undefined : root.unwrap(wrapped, AUDIT_KEY_AAD);
}
