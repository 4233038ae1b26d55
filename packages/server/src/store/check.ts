import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { readAuditKey } from '../audit/audit-key.js';
import { verifyStoredChain } from '../audit/verify-trail.js';
import { AccessKeys } from '../auth/access-keys.js';
import { BackingKeys } from '../keys/backing-keys.js';
import type { KeySpec } from '../keys/enums.js';
import type { KeyRecord, KeyVersionRecord } from '../keys/key-record.js';
import { KEY_SPEC_TABLE, specInfo } from '../keys/specs/index.js';
import type { KeyringRootKey } from '../root/keyring-root-key.js';
import { readKeyring } from '../root/keyring.js';
import { openRootKey } from '../root/open-root-key.js';
import { rootKeyOptionsFromEnv, type RootKeyOptions } from '../root/options.js';
import { RootKeyMismatchError, StartupError, type RootKey } from '../root/root-key.js';
import { isPostgresUrl, redactConnectionString } from './connection-string.js';
import { sqliteDamageOf } from './disk-fault.js';
import { PostgresStore } from './postgres.js';
import { openExistingSqliteStore } from './open-store.js';
import { RowInvariants } from './row-invariants.js';
import { RESTORE_UNFINISHED_META, type Store } from './store.js';

/** What `checkStore` found: `problems` is empty when the store is intact; each names what is wrong. */
export interface StoreCheckReport {
  readonly store: string;
  readonly problems: readonly string[];
  readonly checked: {
    readonly keys: number;
    readonly keyVersions: number;
    readonly aliases: number;
    readonly grants: number;
    readonly principals: number;
    readonly accessKeys: number;
    readonly auditRecords: number;
  };
}

/** Plain SQL on the store's database, beside the Store interface: orphans the interface cannot list. */
type RawQuery = (sql: string) => Promise<Record<string, unknown>[]>;

const PAGE = 500;

/**
 * Checks a store's integrity with its root key, as `coffer store check` does: every key has its
 * versions 1..currentVersion; every version's wrapped material unwraps under the root key (with its
 * key id and version as AAD) into a key of the key's spec, and its KeyMaterialId is its own; every
 * row is one a server could have written (row-invariants.ts: types, closed sets, the combinations
 * operations make, policies that compile); every alias and grant names an existing key, no version outlives its key; every access
 * key belongs to an existing principal (or the account root) and its secret unwraps; identity
 * policies belong to principals; the audit chain verifies up to its head, with no record past it;
 * and for SQLite, `PRAGMA integrity_check` passes.
 *
 * Reads only (opening a SQLite file sets its pragmas; opening PostgreSQL applies the server's
 * migrations, as a server start does, to a database a server has used: one no server has used is
 * refused before anything is made in it). Throws StartupError when it cannot check at all: no store,
 * no root key, a root key the store was not written with, a database that cannot be reached.
 */
export async function checkStore(options: { dataDir: string; store?: string; rootKey?: RootKeyOptions }): Promise<StoreCheckReport> {
  try {
    return await checkStoreFully(options);
  } catch (error) {
    const damage = sqliteDamageOf(error);
    if (!damage) throw error;
    // SQLite stops at the first damaged page it meets, wherever that is (opening the file, a
    // listing, integrity_check itself): the damage is the finding, not a failure to check.
    const file = join(resolve(options.dataDir), 'coffer.db');
    return {
      store: file,
      problems: [`SQLite finds ${file} damaged (${damage.message}), so nothing past it could be checked: `
        + 'no server can rely on this file; restore the store from a backup (docs/backup.md)'],
      checked: { keys: 0, keyVersions: 0, aliases: 0, grants: 0, principals: 0, accessKeys: 0, auditRecords: 0 },
    };
  }
}

async function checkStoreFully(options: { dataDir: string; store?: string; rootKey?: RootKeyOptions }): Promise<StoreCheckReport> {
  const dataDir = resolve(options.dataDir);
  const postgres = options.store !== undefined && isPostgresUrl(options.store);
  const name = postgres ? redactConnectionString(options.store!) : join(dataDir, 'coffer.db');
  let store: Store;
  let raw: RawQuery;
  let closeRaw: () => Promise<void>;
  if (postgres) {
    try {
      store = await PostgresStore.open({ connectionString: options.store!, existing: true });
    } catch (error) {
      if (error instanceof StartupError) throw error;
      throw new StartupError(`Cannot open the PostgreSQL store ${name}: ${(error as Error).message}`);
    }
    const client = new pg.Client({ connectionString: options.store! });
    // A connection the database ends (a restart) emits 'error', which with no listener ends the
    // process with a stack trace; the check's next query fails with it and is said as any failure.
    client.on('error', () => {});
    try {
      await client.connect();
    } catch (error) {
      await store.close();
      throw new StartupError(`Cannot connect to ${name}: ${(error as Error).message}`);
    }
    raw = async (sql) => (await client.query(sql)).rows as Record<string, unknown>[];
    closeRaw = () => client.end();
  } else {
    store = openExistingSqliteStore(dataDir);
    const db = new Database(join(dataDir, 'coffer.db'), { readonly: true, fileMustExist: true });
    raw = async (sql) => db.prepare(sql).all() as Record<string, unknown>[];
    closeRaw = async () => void db.close();
  }
  let rootToClose: KeyringRootKey | undefined;
  try {
    // A store a server has never used has no keyring: opening one would make a root key.
    if ((await readKeyring(store)) === undefined) {
      throw new StartupError(`The store ${name} has no root-key check value: no Coffer server has used it yet.`);
    }
    // With a keyring present, this only reads: it opens the store's root keys (secrets from
    // COFFER_ROOT_PASSPHRASE / COFFER_PKCS11_PIN) and proves each is the store's.
    const root = rootToClose = await openRootKey(dataDir, store, options.rootKey ?? rootKeyOptionsFromEnv());
    const problems: string[] = [];
    const unfinished = await store.getMeta(RESTORE_UNFINISHED_META);
    if (unfinished !== undefined) {
      problems.push(`a restore into this store did not finish (${Buffer.from(unfinished).toString('utf8').trim()}): the store is not the backup; run that restore again`);
    }
    if (!postgres) {
      const rows = await raw('PRAGMA integrity_check');
      const lines = rows.map((r) => String(Object.values(r)[0]));
      if (lines.length !== 1 || lines[0] !== 'ok') problems.push(`SQLite integrity_check: ${lines.slice(0, 10).join('; ')}`);
    }
    const keys = await checkKeys(store, root, raw, problems);
    if (keys.readable) await checkRows(store, problems);
    const aliases = await checkAliases(store, keys.ids, problems);
    const grants = await checkOrphans(raw, problems);
    const access = await checkAccessKeys(store, root, raw, problems);
    const auditRecords = await checkAudit(store, root, raw, problems);
    return {
      store: name,
      problems,
      checked: { keys: keys.ids.size, keyVersions: keys.versions, aliases, grants, principals: access.principals, accessKeys: access.accessKeys, auditRecords },
    };
  } finally {
    await rootToClose?.close();
    await closeRaw();
    await store.close();
  }
}

async function checkKeys(store: Store, root: RootKey, raw: RawQuery, problems: string[]): Promise<{ ids: Set<string>; versions: number; readable: boolean }> {
  // A record that is not JSON stops every read of a page that holds it (the listing below, a
  // backup): found with plain SQL first and named, the rest of the check going on without the keys.
  const rows = await raw('SELECT key_id, record FROM keys ORDER BY key_id');
  const unreadable = rows.filter((row) => {
    try {
      JSON.parse(String(row.record));
      return false;
    } catch {
      return true;
    }
  });
  if (unreadable.length > 0) {
    for (const row of unreadable) problems.push(`key ${String(row.key_id)}: its record is not JSON: no server can read it, nor a backup copy it`);
    problems.push('the keys\' versions and material were not checked: a listing of the keys cannot read past such a record');
    return { ids: new Set(rows.map((row) => String(row.key_id))), versions: 0, readable: false };
  }
  // No cache: every version is unwrapped from what the store holds now.
  const backing = new BackingKeys(root, store, { maxEntries: 0, ttlMs: 0 });
  const ids = new Set<string>();
  let versions = 0;
  for (let after: string | undefined; ;) {
    const page = await store.listKeys({ ...(after !== undefined ? { after } : {}), limit: PAGE });
    for (const listed of page.items) {
      ids.add(listed.keyId);
      let key: KeyRecord | undefined = listed;
      let stored = await store.listKeyVersions(key.keyId);
      let found = versionProblems(key, stored);
      // Read again: a server running beside the check may have rotated the key between the two
      // reads (a version beyond the listed current one), or deleted it. The record read before
      // and after the versions, unchanged, makes a consistent pair; what is wrong in one is wrong.
      for (let attempt = 0; found.length > 0 && attempt < 5; attempt++) {
        const before = await store.getKey(listed.keyId);
        if (!before) {
          key = undefined;
          break;
        }
        stored = await store.listKeyVersions(listed.keyId);
        const after = await store.getKey(listed.keyId);
        if (after?.revision !== before.revision) continue;
        key = after;
        found = versionProblems(after, stored);
      }
      if (!key) continue;
      problems.push(...found);
      versions += stored.length;
      // Material cannot be held to a spec no family makes.
      if (KEY_SPEC_TABLE[key.keySpec] === undefined && key.keySpec !== 'SYMMETRIC_DEFAULT') continue;
      for (const v of stored) {
        try {
          const unwrapped = await backing.version(key.keyId, v.version);
          if (unwrapped && !fitsSpec(key.keySpec, unwrapped.material)) problems.push(`key ${key.keyId} version ${v.version}: its material is not a ${key.keySpec} key`);
        } catch (error) {
          if (!(error instanceof RootKeyMismatchError)) throw error;
          problems.push(`key ${key.keyId} version ${v.version}: the wrapped material does not unwrap under the root key`);
        }
      }
    }
    if (page.next === undefined) break;
    after = page.next;
  }
  return { ids, versions, readable: true };
}

/**
 * Whether unwrapped material is a key of the spec: 32 bytes for SYMMETRIC_DEFAULT, else a key the
 * spec's family holds (a private key of the curve or modulus, an HMAC key's length, a seed), as
 * laxly as an earlier release may have stored it (KeyFamily.holds). Material of another spec would
 * be served under this one: an RSA signature labelled ECDSA.
 */
function fitsSpec(spec: KeySpec, material: Buffer): boolean {
  if (spec === 'SYMMETRIC_DEFAULT') return material.length === 32;
  const { family } = specInfo(spec);
  if (family.holds) return family.holds(material);
  const fitted = family.importable(material);
  fitted?.fill(0);
  return fitted !== undefined;
}

/** What is wrong with a key's stored versions against its record: each version 1..current present, none beyond, ids distinct (their form is a row invariant, row-invariants.ts). */
function versionProblems(key: KeyRecord, stored: readonly KeyVersionRecord[]): string[] {
  const problems: string[] = [];
  const numbers = new Set(stored.map((v) => v.version));
  for (let n = 1; n <= key.currentVersion; n++) {
    if (!numbers.has(n)) problems.push(`key ${key.keyId}: version ${n} of ${key.currentVersion} is missing`);
  }
  for (const v of stored) {
    const where = `key ${key.keyId} version ${v.version}`;
    if (v.version < 1 || v.version > key.currentVersion) problems.push(`${where}: beyond the key's current version ${key.currentVersion}`);
    // The id is the SHA-256 of the material as first wrapped. A restore (or a root-key rotation)
    // wraps the material again and keeps the id, which clients have seen: so the id can only be
    // checked for its form (a row invariant) and against the key's other versions, not against today's bytes.
    if (stored.some((other) => other.version !== v.version && other.materialId === v.materialId)) {
      problems.push(`${where}: its KeyMaterialId is also another version's`);
    }
  }
  return problems;
}

/**
 * Every row held to what a server writes (row-invariants.ts), read as one snapshot up to the audit
 * records, which the chain's check covers. A record that is not JSON stops the snapshot: it is named
 * by the checks that read it row by row.
 */
async function checkRows(store: Store, problems: string[]): Promise<void> {
  const invariants = new RowInvariants();
  try {
    for await (const row of store.exportSnapshot()) {
      if (row.kind === 'audit' || row.kind === 'auditHead' || row.kind === 'meta') break;
      problems.push(...invariants.problemsOf(row));
    }
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    problems.push('a stored record is not JSON: the rows were not all held to what a server writes');
  }
}

async function checkAliases(store: Store, keyIds: ReadonlySet<string>, problems: string[]): Promise<number> {
  let count = 0;
  for (let after: string | undefined; ;) {
    const page = await store.listAliases({ ...(after !== undefined ? { after } : {}), limit: PAGE });
    for (const alias of page.items) {
      count++;
      // Read again: a server running beside the check may have made the key since the key pass.
      if (!keyIds.has(alias.targetKeyId) && !(await store.getKey(alias.targetKeyId))) {
        problems.push(`alias ${alias.aliasName}: points at key ${alias.targetKeyId}, which does not exist`);
      }
    }
    if (page.next === undefined) break;
    after = page.next;
  }
  return count;
}

/** Grants and versions of keys that do not exist, which the Store interface cannot list. Returns the number of grants. */
async function checkOrphans(raw: RawQuery, problems: string[]): Promise<number> {
  for (const row of await raw('SELECT grant_id, key_id FROM grants WHERE key_id NOT IN (SELECT key_id FROM keys) ORDER BY grant_id')) {
    problems.push(`grant ${String(row.grant_id)}: names key ${String(row.key_id)}, which does not exist`);
  }
  for (const row of await raw('SELECT DISTINCT key_id FROM key_versions WHERE key_id NOT IN (SELECT key_id FROM keys) ORDER BY key_id')) {
    problems.push(`key ${String(row.key_id)}: has stored versions but no key record`);
  }
  return Number((await raw('SELECT count(*) AS n FROM grants'))[0]?.n ?? 0);
}

async function checkAccessKeys(store: Store, root: RootKey, raw: RawQuery, problems: string[]): Promise<{ principals: number; accessKeys: number }> {
  const accessKeys = new AccessKeys(store, root);
  const principals = new Set((await raw('SELECT arn FROM principals')).map((r) => String(r.arn)));
  const ids = (await raw('SELECT access_key_id FROM access_keys ORDER BY access_key_id')).map((r) => String(r.access_key_id));
  for (const id of ids) {
    const record = await store.getAccessKey(id);
    if (!record) continue;
    if (!principals.has(record.principalArn) && !/^arn:[^:]+:iam::\d{12}:root$/.test(record.principalArn)
      && !(await store.getPrincipal(record.principalArn))) {
      problems.push(`access key ${id}: belongs to ${record.principalArn}, which does not exist`);
    }
    try {
      await accessKeys.checkSecret(record);
    } catch (error) {
      if (!(error instanceof RootKeyMismatchError)) throw error;
      problems.push(`access key ${id}: its secret does not unwrap under the root key`);
    }
  }
  for (const row of await raw('SELECT DISTINCT principal_arn FROM identity_policies WHERE principal_arn NOT IN (SELECT arn FROM principals) ORDER BY principal_arn')) {
    problems.push(`identity policies of ${String(row.principal_arn)}: the principal does not exist`);
  }
  return { principals: principals.size, accessKeys: ids.length };
}

async function checkAudit(store: Store, root: RootKey, raw: RawQuery, problems: string[]): Promise<number> {
  // The head names the last record: a record past it (or records without a head) would take the
  // number of the next request's, and every request would then fail.
  const last = (await raw('SELECT max(seq) AS last FROM audit'))[0]?.last;
  const head = await store.getAuditHead();
  if (last !== null && last !== undefined && Number(last) > (head?.seq ?? 0)) {
    problems.push(`audit chain: record ${String(last)} is past the chain's head (${head ? `record ${head.seq}` : 'there is none'})`);
  }
  let auditKey: Uint8Array | undefined;
  try {
    auditKey = await readAuditKey(store, root);
  } catch (error) {
    if (!(error instanceof RootKeyMismatchError)) throw error;
    problems.push('audit chain: the audit key does not unwrap under the root key');
    return 0;
  }
  if (auditKey === undefined) {
    if ((await store.getAuditHead()) !== undefined) problems.push('audit chain: there are records but no audit key');
    return 0;
  }
  const verdict = await verifyStoredChain(store, auditKey);
  if (verdict.ok) return verdict.records;
  problems.push(`audit chain: breaks at record ${verdict.seq}: ${verdict.problem}`);
  return verdict.seq - 1;
}
