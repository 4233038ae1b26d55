import { randomBytes } from 'node:crypto';
import type { RootKey } from '../root/root-key.js';
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
  return root.unwrap(wrapped, AUDIT_KEY_AAD);
}

/** The audit key if the store has one, without making one: for checking a chain, never for extending it. */
export async function readAuditKey(store: Store, root: RootKey): Promise<Uint8Array | undefined> {
  const wrapped = await store.getMeta(AUDIT_KEY_META);
  return wrapped === undefined ? undefined : root.unwrap(wrapped, AUDIT_KEY_AAD);
}
