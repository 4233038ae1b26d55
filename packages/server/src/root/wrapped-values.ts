import { AUDIT_KEY_AAD, AUDIT_KEY_META } from '../audit/audit-key.js';
import { accessKeySecretAad } from '../auth/access-keys.js';
import { backingKeyAad } from '../keys/backing-keys.js';
import type { SnapshotRow, Store } from '../store/store.js';
import { REWRAP_PHASES, type RewrapPhase } from './keyring.js';

/**
 * Every value the store keeps wrapped by the root key, in one place: a root-key rotation re-wraps
 * them and a backup re-wraps them for another root key. A new root-wrapped value must be listed
 * here (grep for `.wrap(` on a RootKey), or a rotation would retire the key that can open it.
 *
 * Not listed: import tokens (keys/import.ts) are handed to the caller, never stored; the keyring's
 * own check values belong to one root key each.
 */
export interface WrappedValue {
  readonly kind: 'key-version' | 'pending-material' | 'access-key' | 'meta';
  /** Which value, for messages: `<keyId>:<version>`, an access key id, a meta name. */
  readonly name: string;
  readonly wrapped: Uint8Array;
  readonly aad: Uint8Array;
  /** Compare-and-set: stores `next` only if the value is still `wrapped`; false if it changed or is gone. */
  replace(next: Uint8Array): Promise<boolean>;
}

export interface WrappedValuePage {
  readonly values: WrappedValue[];
  /** The cursor to pass as `after` for the next page of the same phase; absent after the last. */
  readonly next?: string;
}

/**
 * One page of a phase's values, after `after`:
 * - `keys`: every version's wrapped material and any pending imported material, `limit` keys a page;
 * - `access-keys`: the wrapped secrets of the access keys of `limit` principals a page, and of the
 *   account roots (`accountRoots`, the root of each account a principal belongs to, and every
 *   other owner that is not a principal);
 * - `meta`: the wrapped audit key.
 */
export async function wrappedValuesPage(store: Store, phase: RewrapPhase, after: string | undefined, limit: number, accountRoots: readonly string[]): Promise<WrappedValuePage> {
  switch (phase) {
    case 'keys': return keyValues(store, after, limit);
    case 'access-keys': return accessKeyValues(store, after, limit, accountRoots);
    case 'meta': return metaValues(store);
  }
}

/** Every root-wrapped value in the store, phase by phase. */
export async function* allWrappedValues(store: Store, accountRoots: readonly string[], limit = 200): AsyncGenerator<WrappedValue> {
  for (const phase of REWRAP_PHASES) {
    for (let after: string | undefined; ;) {
      const page = await wrappedValuesPage(store, phase, after, limit, accountRoots);
      yield* page.values;
      if (page.next === undefined) break;
      after = page.next;
    }
  }
}

async function keyValues(store: Store, after: string | undefined, limit: number): Promise<WrappedValuePage> {
  const page = await store.listKeys({ ...(after !== undefined ? { after } : {}), limit });
  const values: WrappedValue[] = [];
  for (const key of page.items) {
    for (const version of await store.listKeyVersions(key.keyId)) {
      values.push({
        kind: 'key-version', name: `${key.keyId}:${version.version}`, wrapped: version.wrappedMaterial,
        aad: backingKeyAad(key.keyId, version.version),
        replace: (next) => store.rewrapKeyVersion(key.keyId, version.version, version.wrappedMaterial, next),
      });
    }
    const pending = key.pendingMaterial;
    if (pending) {
      values.push({
        kind: 'pending-material', name: `${key.keyId}:${pending.version} (pending)`, wrapped: Buffer.from(pending.wrappedMaterial, 'base64'),
        aad: backingKeyAad(key.keyId, pending.version),
        // The key record's compare-and-set: any change to the key since it was read makes this lose.
        replace: (next) => store.updateKey({ ...key, revision: key.revision + 1, pendingMaterial: { ...pending, wrappedMaterial: Buffer.from(next).toString('base64') } }),
      });
    }
  }
  return { values, ...(page.next !== undefined ? { next: page.next } : {}) };
}

async function accessKeyValues(store: Store, after: string | undefined, limit: number, accountRoots: readonly string[]): Promise<WrappedValuePage> {
  const page = await store.listPrincipals({ ...(after !== undefined ? { after } : {}), limit });
  // The first page takes the owners that are not principals: this server's account root, and the
  // root of any other account id the store has served (a start with another --account-id).
  const owners = new Set<string>(after === undefined ? [...accountRoots, ...await store.listAccessKeyOwnersWithoutPrincipal()] : []);
  for (const principal of page.items) {
    owners.add(principal.arn);
    const account = /^arn:([^:]+):iam::(\d{12}):/.exec(principal.arn);
    if (account) owners.add(`arn:${account[1]}:iam::${account[2]}:root`);
  }
  const values: WrappedValue[] = [];
  for (const owner of owners) {
    for (const record of await store.listAccessKeys(owner)) {
      values.push({
        kind: 'access-key', name: record.accessKeyId, wrapped: record.wrappedSecret, aad: accessKeySecretAad(record.accessKeyId),
        replace: (next) => store.rewrapAccessKeySecret(record.accessKeyId, record.wrappedSecret, next),
      });
    }
  }
  return { values, ...(page.next !== undefined ? { next: page.next } : {}) };
}

async function metaValues(store: Store): Promise<WrappedValuePage> {
  const wrapped = await store.getMeta(AUDIT_KEY_META);
  if (wrapped === undefined) return { values: [] };
  return {
    values: [{ kind: 'meta', name: AUDIT_KEY_META, wrapped, aad: AUDIT_KEY_AAD, replace: (next) => store.replaceMeta(AUDIT_KEY_META, wrapped, next) }],
  };
}

/** Meta entries bound to one root key (the keyring, the legacy check value): a backup leaves them out. */
export function isRootKeyMeta(name: string): boolean {
  return name.startsWith('root-');
}

/** A root-wrapped value inside one snapshot row, with the AAD it is wrapped under. */
export interface RowWrappedValue {
  readonly bytes: Uint8Array;
  readonly aad: Uint8Array;
}

/**
 * The same list as above, row by row: `row` with each root-wrapped value it holds replaced by
 * `replace(value)` (a backup unwraps them; a restore wraps them under the target's root key).
 * Rows without one come back as they are.
 */
export async function replaceWrappedValues(row: SnapshotRow, replace: (value: RowWrappedValue) => Promise<Uint8Array>): Promise<SnapshotRow> {
  switch (row.kind) {
    case 'keyVersion': {
      const v = row.version;
      return { kind: 'keyVersion', version: { ...v, wrappedMaterial: await replace({ bytes: v.wrappedMaterial, aad: backingKeyAad(v.keyId, v.version) }) } };
    }
    case 'key': {
      const pending = row.key.pendingMaterial;
      if (!pending) return row;
      const next = await replace({ bytes: Buffer.from(pending.wrappedMaterial, 'base64'), aad: backingKeyAad(row.key.keyId, pending.version) });
      return { kind: 'key', key: { ...row.key, pendingMaterial: { ...pending, wrappedMaterial: Buffer.from(next).toString('base64') } } };
    }
    case 'accessKey': {
      const a = row.accessKey;
      return { kind: 'accessKey', accessKey: { ...a, wrappedSecret: await replace({ bytes: a.wrappedSecret, aad: accessKeySecretAad(a.accessKeyId) }) } };
    }
    case 'meta':
      return row.name === AUDIT_KEY_META ? { kind: 'meta', name: row.name, value: await replace({ bytes: row.value, aad: AUDIT_KEY_AAD }) } : row;
    default:
      return row;
  }
}
