import { closeSync, fdatasync, fstatSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import type { AuditEvent, AuditRecord, UnreadableAuditRecord } from '../audit/record.js';
import { GENESIS_HASH, parseStoredRecord } from '../audit/record.js';
import type { GrantRecord } from '../grants/grant-record.js';
import type { AliasRecord, KeyRecord, KeyVersionRecord } from '../keys/key-record.js';
import type { IdentityPolicyRecord, PrincipalKind, PrincipalRecord } from '../principals/principal-record.js';
import type { AccessKeyRecord, AuditChainer, AuditIndex, AuditQuery, KeyCondition, Page, SnapshotRow, Store } from './store.js';
import { KeyConditionFailedError, RESTORE_UNFINISHED_META, StoreFullError, StoreNotEmptyError, StoreUnavailableError, StoreUnusableError } from './store.js';
import { headWentBack, type AuditHead } from './audit-head.js';
import { SqliteFiles } from './sqlite-files.js';
import { RowInserter } from './sqlite-rows.js';
import { Turns } from './turns.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS keys (
  key_id TEXT PRIMARY KEY,
  revision INTEGER NOT NULL,
  deletion_date INTEGER,
  next_rotation INTEGER,
  record TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS keys_deletion ON keys(deletion_date) WHERE deletion_date IS NOT NULL;
CREATE INDEX IF NOT EXISTS keys_rotation ON keys(next_rotation) WHERE next_rotation IS NOT NULL;
CREATE TABLE IF NOT EXISTS key_versions (
  key_id TEXT NOT NULL,
  version INTEGER NOT NULL,
  material_id TEXT NOT NULL,
  wrapped BLOB NOT NULL,
  created_at INTEGER NOT NULL,
  rotation_type TEXT,
  PRIMARY KEY (key_id, version)
) STRICT;
CREATE TABLE IF NOT EXISTS aliases (
  alias_name TEXT PRIMARY KEY,
  target_key_id TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS aliases_target ON aliases(target_key_id);
CREATE TABLE IF NOT EXISTS principals (
  arn TEXT PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS identity_policies (
  principal_arn TEXT NOT NULL,
  policy_name TEXT NOT NULL,
  document TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (principal_arn, policy_name)
) STRICT;
CREATE TABLE IF NOT EXISTS access_keys (
  access_key_id TEXT PRIMARY KEY,
  principal_arn TEXT NOT NULL,
  wrapped_secret BLOB NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS access_keys_principal ON access_keys(principal_arn);
CREATE TABLE IF NOT EXISTS grants (
  grant_id TEXT PRIMARY KEY,
  key_id TEXT NOT NULL,
  name TEXT,
  grantee TEXT NOT NULL,
  retiring TEXT,
  record TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS grants_key ON grants(key_id, grant_id);
CREATE INDEX IF NOT EXISTS grants_retiring ON grants(retiring, grant_id) WHERE retiring IS NOT NULL;
-- A caller's grants on a key, and a grant by its Name, without reading every grant of the key
-- (at AWS's 50,000 per key, ~70 ms for every request a grant allows). Made at any start that lacks them.
CREATE INDEX IF NOT EXISTS grants_grantee ON grants(key_id, grantee, grant_id);
CREATE INDEX IF NOT EXISTS grants_name ON grants(key_id, name, grant_id);
CREATE TABLE IF NOT EXISTS audit (
  seq INTEGER PRIMARY KEY,
  time INTEGER NOT NULL,
  principal_arn TEXT,
  operation TEXT,
  outcome TEXT NOT NULL,
  record TEXT NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS audit_time ON audit(time);
CREATE TABLE IF NOT EXISTS audit_keys (
  key_arn TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (key_arn, seq)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS key_last_use (
  key_arn TEXT NOT NULL,
  operation TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (key_arn, operation)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq INTEGER NOT NULL,
  hash TEXT NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) STRICT;
`;

const BACKFILL_LAST_USE = `
INSERT OR REPLACE INTO key_last_use (key_arn, operation, seq)
  SELECT k.key_arn, a.operation, max(a.seq) FROM audit_keys k JOIN audit a ON a.seq = k.seq
  WHERE a.outcome = 'success' AND a.operation IS NOT NULL GROUP BY k.key_arn, a.operation;
`;

interface RecordRow { record: string }
interface AuditRow { seq: number; record: string }
interface VersionRow { key_id: string; version: number; material_id: string; wrapped: Buffer; created_at: number; rotation_type: string | null }
interface AliasRow { alias_name: string; target_key_id: string; created_at: number; updated_at: number }
interface AccessKeyRow { access_key_id: string; principal_arn: string; wrapped_secret: Buffer; status: string; created_at: number }
interface PrincipalRow { arn: string; kind: string; name: string; created_at: number }
interface PolicyRow { principal_arn: string; policy_name: string; document: string; updated_at: number }

const fromJson = <T>(row: RecordRow): T => JSON.parse(row.record) as T;

/**
 * The first and last seq of the audit trail, where an audit query with an unindexed filter starts.
 * Two subqueries: SQLite reads min() or max() alone from the end of an index, but both in one
 * SELECT scan the whole table (~50 ms on 900,000 records, the event loop held all along).
 */
export const AUDIT_SEQ_BOUNDS_SQL = 'SELECT (SELECT min(seq) FROM audit) AS lo, (SELECT max(seq) FROM audit) AS hi';

/**
 * How long an audit query with an unindexed filter reads before it lets other requests run, and
 * the bounds of the window of seqs it reads at a time, sized from the last window's pace. A request
 * served meanwhile waits out one window at each of its steps (reading its body, the store, its
 * audit record's commit): fixed windows of 10,000 seqs (~10 ms) made a DescribeKey take 37 ms.
 */
const AUDIT_SCAN_SLICE_MS = 1;
const AUDIT_SCAN_FIRST_WINDOW = 2_000;
const AUDIT_SCAN_WINDOW_BOUNDS = [200, 50_000] as const;

/** Enough for every key a busy server uses at once; past it the cache starts over. */
const MAX_CACHED_KEY_RECORDS = 4096;

/** A parsed record made immutable, so one cached copy can be handed to every reader. */
function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const member of Object.values(value)) deepFreeze(member);
    Object.freeze(value);
  }
  return value;
}
const toVersion = (row: VersionRow): KeyVersionRecord => ({
  keyId: row.key_id,
  version: row.version,
  materialId: row.material_id,
  wrappedMaterial: new Uint8Array(row.wrapped),
  createdAt: row.created_at,
  ...(row.rotation_type ? { rotationType: row.rotation_type as KeyVersionRecord['rotationType'] & string } : {}),
});
const toAlias = (row: AliasRow): AliasRecord => ({
  aliasName: row.alias_name, targetKeyId: row.target_key_id, createdAt: row.created_at, updatedAt: row.updated_at,
});
const toAccessKey = (row: AccessKeyRow): AccessKeyRecord => ({
  accessKeyId: row.access_key_id, principalArn: row.principal_arn,
  wrappedSecret: new Uint8Array(row.wrapped_secret), status: row.status as AccessKeyRecord['status'],
  createdAt: row.created_at,
});
const toPrincipal = (row: PrincipalRow): PrincipalRecord => ({
  arn: row.arn, kind: row.kind as PrincipalKind, name: row.name, createdAt: row.created_at,
});
const toPolicy = (row: PolicyRow): IdentityPolicyRecord => ({
  principalArn: row.principal_arn, policyName: row.policy_name, document: row.document, updatedAt: row.updated_at,
});

function keyColumns(key: KeyRecord) {
  return {
    key_id: key.keyId,
    revision: key.revision,
    deletion_date: key.state === 'PendingDeletion' ? (key.deletionDate ?? null) : null,
    next_rotation: key.rotation?.nextRotationDate ?? null,
    record: JSON.stringify(key),
  };
}

/**
 * A write SQLite refused for want of space (a full disk, or a file system quota) as the store's
 * own error: SQLite rolled the transaction back, so nothing was written, and the store takes
 * writes again once there is space. Any other error as it is.
 */
function asStoreError(error: unknown): unknown {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (code === 'SQLITE_FULL') return new StoreFullError(`the store's disk is full: ${(error as Error).message}`, { cause: error });
  // Another process holds the file's write lock past busy_timeout: nothing was written, and a
  // retry may well succeed (a 503, as a PostgreSQL store that does not answer in time).
  if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) {
    return new StoreUnavailableError(`another process holds the store's file locked (${code}): nothing was written`, { cause: error });
  }
  return error;
}

/**
 * How long a write waits for another process's write lock on the file (SQLite's busy timeout).
 * better-sqlite3 waits on the event loop's thread, so nothing else is served meanwhile.
 */
const BUSY_TIMEOUT_MS = 1_000;
/**
 * After a write found the file locked by another process, writes in the next this many
 * milliseconds do not wait for it: they fail at once (a 503). Each queued write used to wait its
 * own 5 s in turn, so a lock held for a minute held every request, /healthz included, for as long.
 */
const LOCKED_FAIL_FAST_MS = 2_000;

/**
 * SQLite's own sync of a file failed inside a statement: a change's commit (synchronous = FULL), or
 * a checkpoint that a commit ran. As after a failed sync of the WAL by the store (#syncBatch), what
 * the disk holds of the writes since the last good sync is unknown.
 */
const SQLITE_SYNC_FAILURES: ReadonlySet<unknown> = new Set(['SQLITE_IOERR_FSYNC', 'SQLITE_IOERR_DIR_FSYNC']);

function page<T>(rows: T[], limit: number, cursor: (item: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: cursor(items[items.length - 1]!) };
}

/**
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a committed
 * transaction survives a crash or power loss before the call returns.
 *
 * Audit events of requests that change nothing are group-committed: events that arrive while one
 * batch is pending share its transaction (and its fsync), and each caller's promise resolves only
 * when the batch holding its event is durable. That fsync is taken off the event loop: the batch
 * commits with synchronous=NORMAL (SQLite writes its WAL frames without syncing them), then the
 * WAL file is fdatasync'ed on libuv's thread pool, and only then are the batch's callers answered.
 * One batch is between its commit and its sync at a time; events that arrive meanwhile make the
 * next batch, committed when that sync returns.
 *
 * A write is answered only if the files it went into are still at their paths (SqliteFiles): a
 * data directory removed, moved or replaced under the server would otherwise take every later
 * "committed" write with it. From a failed WAL sync or files gone, the store takes no write until
 * the server restarts (`unusableReason`). A full disk is no such thing: the write is refused
 * (StoreFullError), nothing is written, and writes succeed again once there is space.
 */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #stmt;
  #chain: AuditChainer | undefined;
  #pendingAudit: { event: AuditEvent; done: () => void; fail: (error: unknown) => void }[] = [];
  /** The WAL sync of the batch last committed, while it runs. */
  #walSync: Promise<void> | undefined;
  /** The -wal file as opened with the store: the batches' fdatasync goes through it. */
  readonly #walFd: number;
  /** Whether the database, -wal and -shm are still at their paths (#confirmFiles). */
  readonly #files: SqliteFiles;
  /** Set once the store can no longer promise durability: from then on every write fails (#latch). */
  #unusable: StoreUnusableError | undefined;
  /** A sync failed (the store's of the WAL, or SQLite's own): what the disk holds of the WAL is unknown (close). */
  #syncFailed = false;
  #closed = false;
  /** The audit head this store last committed: the head only ever moves on from it (#appendRecords). */
  #lastHead: AuditHead | undefined;
  /** The head the open transaction wrote; #lastHead once it commits (#committing). */
  #pendingHead: AuditHead | undefined;
  /** `PRAGMA schema_version` when the schema was last found free of foreign objects (#assertOwnSchema). */
  #schemaVersion = -1;
  /** The busy timeout the connection has now (#beforeWrite), and until when writes fail at once. */
  #busyTimeoutMs = BUSY_TIMEOUT_MS;
  #lockedUntil = 0;
  readonly #appendBatch: (events: readonly AuditEvent[]) => void;
  readonly #auditRows: RowInserter;
  readonly #auditKeyRows: RowInserter;
  readonly #exclusive = new Set<string>();
  /** One process writes this file (docs/store.md): taking turns in it is enough. */
  readonly #turns = new Turns();
  /**
   * Key records as last read, frozen, while `PRAGMA data_version` stays the same. Nearly every
   * request reads its key, and the read and JSON parse were a tenth of an Encrypt's time. The
   * pragma changes whenever another connection (another process on this file) commits, and this
   * connection's own writes to the keys table empty the cache, so a read never sees a record older
   * than the store's: a DisableKey is refused on the very next request, as without the cache.
   */
  readonly #keyRecords = new Map<string, KeyRecord>();
  #keyRecordsVersion = -1;

  /**
   * `beforeCreate` runs when the file holds no table yet, before the schema is made in it; what it
   * throws is thrown here, with nothing written.
   */
  constructor(path: string, { beforeCreate }: { beforeCreate?: () => void } = {}) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (beforeCreate && this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table'").get() === undefined) {
      try {
        beforeCreate();
      } catch (error) {
        this.#db.close();
        throw error;
      }
    }
    const hadLastUse = this.#db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'key_last_use'").get() !== undefined;
    this.#db.exec(SCHEMA);
    // A store written before key_last_use existed: fill it once from the trail it already has.
    if (!hadLastUse) this.#db.exec(BACKFILL_LAST_USE);
    const foreign = foreignTriggers(this.#db);
    if (foreign !== undefined) {
      this.#db.close();
      throw new Error(`${foreign}: Coffer makes none, and one could change or remove what the store writes (audit records, for one) unseen. Remove it, or restore the store from a backup.`);
    }
    // Taken now, while the paths name what SQLite opened (its first statement opened -wal and -shm):
    // every write is checked against them (#confirmFiles).
    let walFd: number | undefined;
    try {
      walFd = openSync(`${path}-wal`, 'r');
      this.#files = new SqliteFiles(path, { wal: fstatSync(walFd, { bigint: true }) });
    } catch (error) {
      if (walFd !== undefined) closeSync(walFd);
      this.#db.close();
      throw error;
    }
    this.#walFd = walFd;
    const db = this.#db;
    this.#stmt = {
      insertKey: db.prepare('INSERT INTO keys (key_id, revision, deletion_date, next_rotation, record) VALUES (@key_id, @revision, @deletion_date, @next_rotation, @record)'),
      getKey: db.prepare<[string], RecordRow>('SELECT record FROM keys WHERE key_id = ?'),
      dataVersion: db.prepare<[], number>('PRAGMA data_version').pluck(),
      listKeys: db.prepare<[string, number], RecordRow>('SELECT record FROM keys WHERE key_id > ? ORDER BY key_id LIMIT ?'),
      listKeyIds: db.prepare<[string, number], { key_id: string }>('SELECT key_id FROM keys WHERE key_id > ? ORDER BY key_id LIMIT ?'),
      countKeysByState: db.prepare<[], { state: string; n: number }>("SELECT json_extract(record, '$.state') AS state, COUNT(*) AS n FROM keys GROUP BY 1"),
      countKeys: db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM keys'),
      updateKey: db.prepare('UPDATE keys SET revision = @revision, deletion_date = @deletion_date, next_rotation = @next_rotation, record = @record WHERE key_id = @key_id AND revision = @revision - 1'),
      deleteKey: db.prepare('DELETE FROM keys WHERE key_id = ?'),
      deleteKeyAt: db.prepare('DELETE FROM keys WHERE key_id = ? AND revision = ?'),
      deleteVersions: db.prepare('DELETE FROM key_versions WHERE key_id = ?'),
      deleteKeyAliases: db.prepare('DELETE FROM aliases WHERE target_key_id = ?'),
      deleteKeyGrants: db.prepare('DELETE FROM grants WHERE key_id = ?'),
      keysDue: db.prepare<[number, number], RecordRow>('SELECT record FROM keys WHERE deletion_date <= ? OR next_rotation <= ?'),
      insertVersion: db.prepare('INSERT INTO key_versions (key_id, version, material_id, wrapped, created_at, rotation_type) VALUES (@keyId, @version, @materialId, @wrapped, @createdAt, @rotationType)'),
      getVersion: db.prepare<[string, number], VersionRow>('SELECT * FROM key_versions WHERE key_id = ? AND version = ?'),
      listVersions: db.prepare<[string], VersionRow>('SELECT * FROM key_versions WHERE key_id = ? ORDER BY version'),
      insertAlias: db.prepare('INSERT OR IGNORE INTO aliases (alias_name, target_key_id, created_at, updated_at) VALUES (@aliasName, @targetKeyId, @createdAt, @updatedAt)'),
      getAlias: db.prepare<[string], AliasRow>('SELECT * FROM aliases WHERE alias_name = ?'),
      updateAlias: db.prepare('UPDATE aliases SET target_key_id = @targetKeyId, updated_at = @updatedAt WHERE alias_name = @aliasName'),
      deleteAlias: db.prepare('DELETE FROM aliases WHERE alias_name = ?'),
      listAliases: db.prepare<[string, number], AliasRow>('SELECT * FROM aliases WHERE alias_name > ? ORDER BY alias_name LIMIT ?'),
      listKeyAliases: db.prepare<[string, string, number], AliasRow>('SELECT * FROM aliases WHERE target_key_id = ? AND alias_name > ? ORDER BY alias_name LIMIT ?'),
      insertPrincipal: db.prepare('INSERT OR IGNORE INTO principals (arn, kind, name, created_at) VALUES (@arn, @kind, @name, @createdAt)'),
      getPrincipal: db.prepare<[string], PrincipalRow>('SELECT * FROM principals WHERE arn = ?'),
      listPrincipals: db.prepare<[string, number], PrincipalRow>('SELECT * FROM principals WHERE arn > ? ORDER BY arn LIMIT ?'),
      listPrincipalsOfKind: db.prepare<[string, string, number], PrincipalRow>('SELECT * FROM principals WHERE kind = ? AND arn > ? ORDER BY arn LIMIT ?'),
      deletePrincipal: db.prepare('DELETE FROM principals WHERE arn = ?'),
      deletePrincipalPolicies: db.prepare('DELETE FROM identity_policies WHERE principal_arn = ?'),
      deletePrincipalAccessKeys: db.prepare('DELETE FROM access_keys WHERE principal_arn = ?'),
      putPolicy: db.prepare('INSERT INTO identity_policies (principal_arn, policy_name, document, updated_at) VALUES (@principalArn, @policyName, @document, @updatedAt) ON CONFLICT (principal_arn, policy_name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at'),
      getPolicy: db.prepare<[string, string], PolicyRow>('SELECT * FROM identity_policies WHERE principal_arn = ? AND policy_name = ?'),
      listPolicies: db.prepare<[string], PolicyRow>('SELECT * FROM identity_policies WHERE principal_arn = ? ORDER BY policy_name'),
      deletePolicy: db.prepare('DELETE FROM identity_policies WHERE principal_arn = ? AND policy_name = ?'),
      insertAccessKey: db.prepare('INSERT OR IGNORE INTO access_keys (access_key_id, principal_arn, wrapped_secret, status, created_at) VALUES (@accessKeyId, @principalArn, @wrappedSecret, @status, @createdAt)'),
      getAccessKey: db.prepare<[string], AccessKeyRow>('SELECT * FROM access_keys WHERE access_key_id = ?'),
      listAccessKeys: db.prepare<[string], AccessKeyRow>('SELECT * FROM access_keys WHERE principal_arn = ? ORDER BY access_key_id'),
      listAccessKeyOwnersWithoutPrincipal: db.prepare<[], { principal_arn: string }>('SELECT DISTINCT principal_arn FROM access_keys WHERE principal_arn NOT IN (SELECT arn FROM principals) ORDER BY principal_arn'),
      updateAccessKeyStatus: db.prepare('UPDATE access_keys SET status = ? WHERE access_key_id = ?'),
      deleteAccessKey: db.prepare('DELETE FROM access_keys WHERE access_key_id = ?'),
      insertGrant: db.prepare('INSERT INTO grants (grant_id, key_id, name, grantee, retiring, record) VALUES (@grant_id, @key_id, @name, @grantee, @retiring, @record)'),
      getGrant: db.prepare<[string], RecordRow>('SELECT record FROM grants WHERE grant_id = ?'),
      grantsByName: db.prepare<[string, string], RecordRow>('SELECT record FROM grants WHERE key_id = ? AND name = ? ORDER BY grant_id'),
      listGrants: db.prepare<[string, string, number], RecordRow>('SELECT record FROM grants WHERE key_id = ? AND grant_id > ? ORDER BY grant_id LIMIT ?'),
      listGranteeGrants: db.prepare<[string, string, string, number], RecordRow>('SELECT record FROM grants WHERE key_id = ? AND grantee = ? AND grant_id > ? ORDER BY grant_id LIMIT ?'),
      countGrants: db.prepare<[string], number>('SELECT COUNT(*) FROM grants WHERE key_id = ?').pluck(),
      listRetirable: db.prepare<[string, string, number], RecordRow>('SELECT record FROM grants WHERE retiring = ? AND grant_id > ? ORDER BY grant_id LIMIT ?'),
      deleteGrant: db.prepare('DELETE FROM grants WHERE grant_id = ?'),
      getAuditHead: db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1'),
      schemaVersion: db.prepare<[], number>('PRAGMA schema_version').pluck(),
      putAuditHead: db.prepare('INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash'),
      // A snapshot's rows are inserted once: a second of one name is refused (importSnapshot), not made the one kept.
      importPolicy: db.prepare('INSERT INTO identity_policies (principal_arn, policy_name, document, updated_at) VALUES (@principalArn, @policyName, @document, @updatedAt) ON CONFLICT DO NOTHING'),
      importAuditHead: db.prepare('INSERT INTO audit_head (id, seq, hash) VALUES (1, ?, ?) ON CONFLICT DO NOTHING'),
      putLastUse: db.prepare('INSERT INTO key_last_use (key_arn, operation, seq) VALUES (?, ?, ?) ON CONFLICT (key_arn, operation) DO UPDATE SET seq = excluded.seq'),
      lastKeyUse: db.prepare<[string, string], RecordRow>('SELECT record FROM audit WHERE seq = (SELECT max(seq) FROM key_last_use WHERE key_arn = ? AND operation IN (SELECT value FROM json_each(?)))'),
      readAudit: db.prepare<[number, number], RecordRow>('SELECT record FROM audit WHERE seq > ? ORDER BY seq LIMIT ?'),
      auditSeqBounds: db.prepare<[], { lo: number | null; hi: number | null }>(AUDIT_SEQ_BOUNDS_SQL),
      readAuditIndex: db.prepare<[number, number], { seq: number; time: number; principal_arn: string | null; operation: string | null; outcome: string }>(
        'SELECT seq, time, principal_arn, operation, outcome FROM audit WHERE seq > ? ORDER BY seq LIMIT ?'),
      presentAuditKeys: db.prepare<[string], { seq: number; key_arn: string }>(
        "SELECT k.seq, k.key_arn FROM json_each(?) j JOIN audit_keys k ON k.key_arn = json_extract(j.value, '$[0]') AND k.seq = json_extract(j.value, '$[1]')"),
      getMeta: db.prepare<[string], { value: Buffer }>('SELECT value FROM meta WHERE name = ?'),
      insertMeta: db.prepare('INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)'),
      syncNormal: db.prepare('PRAGMA synchronous = NORMAL'),
      syncFull: db.prepare('PRAGMA synchronous = FULL'),
      replaceMeta: db.prepare('UPDATE meta SET value = ? WHERE name = ? AND value = ?'),
      deleteMeta: db.prepare<[string]>('DELETE FROM meta WHERE name = ?'),
      rewrapVersion: db.prepare('UPDATE key_versions SET wrapped = ? WHERE key_id = ? AND version = ? AND wrapped = ?'),
      rewrapAccessKey: db.prepare('UPDATE access_keys SET wrapped_secret = ? WHERE access_key_id = ? AND wrapped_secret = ?'),
    };
    this.#auditRows = new RowInserter(db, 'INSERT INTO audit (seq, time, principal_arn, operation, outcome, record) VALUES', 6);
    this.#auditKeyRows = new RowInserter(db, 'INSERT OR IGNORE INTO audit_keys (key_arn, seq) VALUES', 2);
    const appendBatch = db.transaction((events: readonly AuditEvent[]) => this.#appendRecords(events));
    this.#appendBatch = (events) => this.#committing(() => appendBatch(events));
  }

  /** Runs `write` and, if it made its change, appends `audit` in the same transaction. */
  #withAudit<T>(audit: AuditEvent | undefined, write: () => T, changed: (result: T) => boolean = () => true): T {
    return this.#write(() => this.#committing(() => this.#db.transaction(() => {
      const result = write();
      if (audit && changed(result)) this.#appendInTransaction(audit);
      return result;
    })()));
  }

  /** Runs a transaction; the audit head it wrote, if any, counts as this store's once it committed. */
  #committing<T>(transaction: () => T): T {
    this.#pendingHead = undefined;
    const result = transaction();
    if (this.#pendingHead !== undefined) this.#lastHead = this.#pendingHead;
    this.#pendingHead = undefined;
    return result;
  }

  /**
   * Every write of the store's connection goes through here (the audit batches through
   * #flushAudit). Refused once the store is unusable; a full disk rejects with StoreFullError;
   * and a commit (synchronous = FULL: synced before it returns) is answered only if the files it
   * went into are still at their paths. Three stats, a few microseconds beside the commit's fsync,
   * which holds the event loop far longer. A commit into files removed or moved meanwhile went
   * where the next start will not look: its caller gets an error, never a resolved promise.
   */
  #write<T>(write: () => T): T {
    if (this.#unusable) throw this.#unusable;
    let result: T;
    try {
      this.#beforeWrite();
      result = write();
    } catch (error) {
      throw this.#refusal(error);
    }
    this.#confirmFiles();
    return result;
  }

  /**
   * What a write SQLite refused is answered with. A failed sync makes the store unusable, as a
   * failed sync of the WAL by the store does (#syncBatch): a later commit could succeed and prove
   * nothing, Linux having dropped the pages it could not write. A full disk is StoreFullError.
   */
  #refusal(error: unknown): unknown {
    const code = (error as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && code.startsWith('SQLITE_BUSY')) this.#lockedUntil = Date.now() + LOCKED_FAIL_FAST_MS;
    if (!SQLITE_SYNC_FAILURES.has(code)) return asStoreError(error);
    this.#syncFailed = true;
    return this.#latch(`SQLite's sync of the store's files failed (${String(code)}): nothing more is written until the server restarts on a sound disk`, error);
  }

  /**
   * Before a write: wait for another process's write lock only when no write found the file
   * locked within LOCKED_FAIL_FAST_MS; then the write fails at once instead (SQLITE_BUSY, a 503).
   * One write a while waits the full timeout, and finds when the lock is gone.
   */
  #beforeWrite(): void {
    const wait = Date.now() < this.#lockedUntil ? 0 : BUSY_TIMEOUT_MS;
    if (wait === this.#busyTimeoutMs) return;
    this.#db.pragma(`busy_timeout = ${wait}`);
    this.#busyTimeoutMs = wait;
  }

  /** After a commit (or a batch's sync): throws, making the store unusable, unless its files are still at their paths. */
  #confirmFiles(): void {
    const gone = this.#files.check();
    if (gone !== undefined) throw this.#latch(`${gone}: nothing more is written until the server restarts`);
  }

  /**
   * From here on every write fails with the latched error (the first reason is kept), and
   * `unusableReason` takes the server out of /readyz, until the server restarts. Files put back,
   * or a disk that works again, do not lift it: what they hold of the writes made since cannot be
   * known from here. What is returned is for the write that found it, whose outcome is unknown.
   */
  #latch(reason: string, cause?: unknown): StoreUnusableError {
    this.#unusable ??= new StoreUnusableError(reason, cause === undefined ? undefined : { cause });
    return new StoreUnusableError(this.#unusable.message, { cause: this.#unusable.cause, outcomeUnknown: true });
  }

  #appendInTransaction(event: AuditEvent): void {
    this.#appendRecords([event]);
  }

  /**
   * Chains and inserts events in order, inside the open transaction. The head is read once and
   * written once.
   */
  #appendRecords(events: readonly AuditEvent[]): void {
    const chain = this.#chain;
    if (!chain) throw new Error('audit chain not attached to the store');
    this.#assertOwnSchema();
    const head = this.#stmt.getAuditHead.get();
    const wentBack = headWentBack(this.#lastHead, head);
    if (wentBack !== undefined) throw this.#latch(wentBack);
    let seq = head?.seq ?? 0;
    let hash = head?.hash ?? GENESIS_HASH;
    const records = events.map((event) => {
      const record = chain(event, ++seq, hash);
      hash = record.hash;
      return record;
    });
    this.#insertRecords(records);
    this.#stmt.putAuditHead.run(seq, hash);
    // Read back: nothing but this store (a trigger, for one) may have moved it meanwhile.
    const written = this.#stmt.getAuditHead.get();
    if (written?.seq !== seq || written.hash !== hash) {
      throw this.#latch(`the audit trail's head did not keep the record ${seq} this server had just written: something else in the store's file moves it. Nothing more is written; run \`coffer audit verify\` and look at the store before restarting`);
    }
    this.#pendingHead = { seq, hash };
  }

  /** Fails a write once the schema changed to hold a trigger (foreignTriggers). */
  #assertOwnSchema(): void {
    const version = this.#stmt.schemaVersion.get()!;
    if (version === this.#schemaVersion) return;
    const foreign = foreignTriggers(this.#db);
    if (foreign !== undefined) throw this.#latch(`${foreign}, added while the server ran: nothing more is written until it is removed and the server restarts`);
    this.#schemaVersion = version;
  }

  /**
   * Chained records (in seq order) with their key index and each key's last use, which is written
   * once per key and operation; the records and their key rows go in as multi-row inserts
   * (sqlite-rows.ts), so a batch of 64 records is a handful of statements.
   */
  #insertRecords(records: readonly AuditRecord[]): void {
    const lastUse = new Map<string, [arn: string, operation: string, seq: number]>();
    const auditRows: unknown[] = [];
    const auditKeyRows: unknown[] = [];
    for (const record of records) {
      auditRows.push(record.seq, record.time, record.principalArn ?? null, record.operation ?? null, record.outcome, JSON.stringify(record));
      for (const arn of new Set(record.keyArns)) {
        auditKeyRows.push(arn, record.seq);
        if (record.outcome === 'success' && record.operation !== undefined) lastUse.set(`${arn}\n${record.operation}`, [arn, record.operation, record.seq]);
      }
    }
    this.#auditRows.run(auditRows);
    this.#auditKeyRows.run(auditKeyRows);
    for (const [arn, operation, last] of lastUse.values()) this.#stmt.putLastUse.run(arn, operation, last);
  }

  async createKey(key: KeyRecord, firstVersion: KeyVersionRecord | undefined, audit?: AuditEvent): Promise<void> {
    this.#withAudit(audit, () => {
      this.#keyRecords.clear();
      this.#stmt.insertKey.run(keyColumns(key));
      if (firstVersion) this.#insertVersion(firstVersion);
    });
  }

  #insertVersion(v: KeyVersionRecord): void {
    this.#stmt.insertVersion.run({
      keyId: v.keyId, version: v.version, materialId: v.materialId,
      wrapped: Buffer.from(v.wrappedMaterial), createdAt: v.createdAt, rotationType: v.rotationType ?? null,
    });
  }

  async getKey(keyId: string): Promise<KeyRecord | undefined> {
    const version = this.#stmt.dataVersion.get()!;
    if (version !== this.#keyRecordsVersion) {
      this.#keyRecords.clear();
      this.#keyRecordsVersion = version;
    }
    const cached = this.#keyRecords.get(keyId);
    if (cached) return cached;
    const row = this.#stmt.getKey.get(keyId);
    if (!row) return undefined;
    const record = deepFreeze(fromJson<KeyRecord>(row));
    if (this.#keyRecords.size >= MAX_CACHED_KEY_RECORDS) this.#keyRecords.clear();
    this.#keyRecords.set(keyId, record);
    return record;
  }

  async listKeys(opts: { after?: string; limit: number }): Promise<Page<KeyRecord>> {
    const rows = this.#stmt.listKeys.all(opts.after ?? '', opts.limit + 1).map((r) => fromJson<KeyRecord>(r));
    return page(rows, opts.limit, (k) => k.keyId);
  }

  async listKeyIds(opts: { after?: string; limit: number }): Promise<Page<string>> {
    const ids = this.#stmt.listKeyIds.all(opts.after ?? '', opts.limit + 1).map((r) => r.key_id);
    return page(ids, opts.limit, (id) => id);
  }

  async updateKey(next: KeyRecord, newVersion?: KeyVersionRecord, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, () => {
      this.#keyRecords.clear();
      if (this.#stmt.updateKey.run(keyColumns(next)).changes !== 1) return false;
      if (newVersion) this.#insertVersion(newVersion);
      return true;
    }, (changed) => changed);
  }

  async deleteKey(keyId: string, audit?: AuditEvent, revision?: number): Promise<boolean> {
    return this.#withAudit(audit, () => {
      this.#keyRecords.clear();
      if (revision !== undefined && this.#stmt.deleteKeyAt.run(keyId, revision).changes !== 1) return false;
      this.#stmt.deleteKeyAliases.run(keyId);
      this.#stmt.deleteKeyGrants.run(keyId);
      this.#stmt.deleteVersions.run(keyId);
      this.#stmt.deleteKey.run(keyId);
      return true;
    }, (deleted) => deleted);
  }

  async countKeysByState(): Promise<Record<string, number>> {
    return Object.fromEntries(this.#stmt.countKeysByState.all().map((r) => [r.state, r.n]));
  }

  async countKeys(): Promise<number> {
    return this.#stmt.countKeys.get()!.n;
  }

  async listKeysDue(now: number): Promise<KeyRecord[]> {
    return this.#stmt.keysDue.all(now, now).map((r) => fromJson<KeyRecord>(r));
  }

  async getKeyVersion(keyId: string, version: number): Promise<KeyVersionRecord | undefined> {
    const row = this.#stmt.getVersion.get(keyId, version);
    return row && toVersion(row);
  }

  async listKeyVersions(keyId: string): Promise<KeyVersionRecord[]> {
    return this.#stmt.listVersions.all(keyId).map(toVersion);
  }

  async createAlias(alias: AliasRecord, audit?: AuditEvent, keyCondition?: KeyCondition): Promise<boolean> {
    return this.#withAudit(audit, () => {
      this.#assertKeyCondition(keyCondition);
      return this.#stmt.insertAlias.run(alias).changes === 1;
    }, (created) => created);
  }

  async getAlias(aliasName: string): Promise<AliasRecord | undefined> {
    const row = this.#stmt.getAlias.get(aliasName);
    return row && toAlias(row);
  }

  async updateAlias(alias: AliasRecord, audit?: AuditEvent, keyCondition?: KeyCondition): Promise<boolean> {
    return this.#withAudit(audit, () => {
      this.#assertKeyCondition(keyCondition);
      return this.#stmt.updateAlias.run(alias).changes === 1;
    }, (updated) => updated);
  }

  /** In the open transaction: the key as committed now, not as cached (the transaction reads it anew). */
  #assertKeyCondition(condition: KeyCondition | undefined): void {
    if (condition === undefined) return;
    const row = this.#stmt.getKey.get(condition.keyId);
    if (!row || !condition.holds(fromJson<KeyRecord>(row))) {
      throw new KeyConditionFailedError(`key ${condition.keyId} changed before the write: nothing was written`);
    }
  }

  async deleteAlias(aliasName: string, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, () => this.#stmt.deleteAlias.run(aliasName).changes === 1, (deleted) => deleted);
  }

  async listAliases(opts: { keyId?: string; after?: string; limit: number }): Promise<Page<AliasRecord>> {
    const after = opts.after ?? '';
    const rows = (opts.keyId === undefined
      ? this.#stmt.listAliases.all(after, opts.limit + 1)
      : this.#stmt.listKeyAliases.all(opts.keyId, after, opts.limit + 1)).map(toAlias);
    return page(rows, opts.limit, (a) => a.aliasName);
  }

  async createPrincipal(principal: PrincipalRecord, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, () => this.#stmt.insertPrincipal.run(principal).changes === 1, (created) => created);
  }

  async getPrincipal(arn: string): Promise<PrincipalRecord | undefined> {
    const row = this.#stmt.getPrincipal.get(arn);
    return row && toPrincipal(row);
  }

  async listPrincipals(opts: { kind?: PrincipalKind; after?: string; limit: number }): Promise<Page<PrincipalRecord>> {
    const after = opts.after ?? '';
    const rows = (opts.kind === undefined
      ? this.#stmt.listPrincipals.all(after, opts.limit + 1)
      : this.#stmt.listPrincipalsOfKind.all(opts.kind, after, opts.limit + 1)).map(toPrincipal);
    return page(rows, opts.limit, (p) => p.arn);
  }

  async deletePrincipal(arn: string, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, () => {
      if (this.#stmt.deletePrincipal.run(arn).changes !== 1) return false;
      this.#stmt.deletePrincipalPolicies.run(arn);
      this.#stmt.deletePrincipalAccessKeys.run(arn);
      return true;
    }, (deleted) => deleted);
  }

  async putIdentityPolicy(policy: IdentityPolicyRecord, audit?: AuditEvent): Promise<void> {
    this.#withAudit(audit, () => this.#stmt.putPolicy.run(policy));
  }

  async getIdentityPolicy(principalArn: string, policyName: string): Promise<IdentityPolicyRecord | undefined> {
    const row = this.#stmt.getPolicy.get(principalArn, policyName);
    return row && toPolicy(row);
  }

  async listIdentityPolicies(principalArn: string): Promise<IdentityPolicyRecord[]> {
    return this.#stmt.listPolicies.all(principalArn).map(toPolicy);
  }

  async deleteIdentityPolicy(principalArn: string, policyName: string, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, () => this.#stmt.deletePolicy.run(principalArn, policyName).changes === 1, (deleted) => deleted);
  }

  async createAccessKey(record: AccessKeyRecord, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit,
      () => this.#stmt.insertAccessKey.run({ ...record, wrappedSecret: Buffer.from(record.wrappedSecret) }).changes === 1,
      (created) => created);
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    const row = this.#stmt.getAccessKey.get(accessKeyId);
    return row && toAccessKey(row);
  }

  async listAccessKeys(principalArn: string): Promise<AccessKeyRecord[]> {
    return this.#stmt.listAccessKeys.all(principalArn).map(toAccessKey);
  }

  async listAccessKeyOwnersWithoutPrincipal(): Promise<string[]> {
    return this.#stmt.listAccessKeyOwnersWithoutPrincipal.all().map((row) => row.principal_arn);
  }

  async updateAccessKeyStatus(accessKeyId: string, status: AccessKeyRecord['status'], audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, () => this.#stmt.updateAccessKeyStatus.run(status, accessKeyId).changes === 1, (updated) => updated);
  }

  async deleteAccessKey(accessKeyId: string, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, () => this.#stmt.deleteAccessKey.run(accessKeyId).changes === 1, (deleted) => deleted);
  }

  async createGrant(grant: GrantRecord, audit?: AuditEvent, keyCondition?: KeyCondition): Promise<void> {
    this.#withAudit(audit, () => {
      this.#assertKeyCondition(keyCondition);
      this.#stmt.insertGrant.run({
        grant_id: grant.grantId, key_id: grant.keyId, name: grant.name ?? null, grantee: grant.granteePrincipal,
        retiring: grant.retiringPrincipal ?? null, record: JSON.stringify(grant),
      });
    });
  }

  async getGrant(grantId: string): Promise<GrantRecord | undefined> {
    const row = this.#stmt.getGrant.get(grantId);
    return row && fromJson<GrantRecord>(row);
  }

  async findGrantsByName(keyId: string, name: string): Promise<GrantRecord[]> {
    return this.#stmt.grantsByName.all(keyId, name).map((r) => fromJson<GrantRecord>(r));
  }

  async countGrants(keyId: string): Promise<number> {
    return this.#stmt.countGrants.get(keyId) ?? 0;
  }

  async listGrants(opts: { keyId: string; granteePrincipal?: string; after?: string; limit: number }): Promise<Page<GrantRecord>> {
    const after = opts.after ?? '';
    const rows = (opts.granteePrincipal === undefined
      ? this.#stmt.listGrants.all(opts.keyId, after, opts.limit + 1)
      : this.#stmt.listGranteeGrants.all(opts.keyId, opts.granteePrincipal, after, opts.limit + 1)).map((r) => fromJson<GrantRecord>(r));
    return page(rows, opts.limit, (g) => g.grantId);
  }

  async listRetirableGrants(opts: { retiringPrincipal: string; after?: string; limit: number }): Promise<Page<GrantRecord>> {
    const rows = this.#stmt.listRetirable.all(opts.retiringPrincipal, opts.after ?? '', opts.limit + 1).map((r) => fromJson<GrantRecord>(r));
    return page(rows, opts.limit, (g) => g.grantId);
  }

  async deleteGrant(grantId: string, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, () => this.#stmt.deleteGrant.run(grantId).changes === 1, (deleted) => deleted);
  }

  attachAuditChain(chain: AuditChainer): void {
    this.#chain = chain;
  }

  appendAudit(event: AuditEvent): Promise<void> {
    if (this.#unusable) return Promise.reject(this.#unusable);
    return new Promise((done, fail) => {
      this.#pendingAudit.push({ event, done, fail });
      // While a batch's WAL sync runs, events gather for the next batch, written when it returns.
      if (this.#pendingAudit.length === 1 && !this.#walSync) setImmediate(() => this.#flushAudit());
    });
  }

  /**
   * Commits the pending events as one batch, then syncs the WAL off the event loop and answers
   * the batch when the sync returns. One batch is between commit and sync at a time: events that
   * arrive meanwhile make the next batch, so a busy server writes few large batches, not many
   * small ones.
   */
  #flushAudit(): void {
    if (this.#walSync) return;
    const batch = this.#pendingAudit;
    this.#pendingAudit = [];
    if (batch.length === 0) return;
    if (this.#unusable) {
      for (const entry of batch) entry.fail(this.#unusable);
      return;
    }
    try {
      this.#beforeWrite();
      // For this one transaction only: the WAL sync follows, off the event loop.
      this.#stmt.syncNormal.run();
      try {
        this.#appendBatch(batch.map((entry) => entry.event));
      } finally {
        this.#stmt.syncFull.run();
      }
    } catch (error) {
      const refused = this.#refusal(error);
      for (const entry of batch) entry.fail(refused);
      return;
    }
    this.#walSync = this.#syncBatch().then(
      () => { for (const entry of batch) entry.done(); },
      (error: unknown) => { for (const entry of batch) entry.fail(error); },
    ).finally(() => {
      this.#walSync = undefined;
      this.#flushAudit();
    });
  }

  /**
   * fdatasync of the -wal file (SQLite's own sync on Linux) on libuv's thread pool, through the
   * descriptor opened with the store; when it returns, the check that the database, -wal and -shm
   * are still at their paths (#confirmFiles), so that a batch is answered durable only if the files
   * it went into are where the next start looks.
   *
   * A failed sync makes the store unusable: what the disk holds of everything written since the
   * last good sync is unknown from here on (Linux may drop pages it could not write and mark them
   * clean, so a later sync can succeed without them). So nothing more is written and nothing is
   * answered as durable until the server restarts (SQLite's recovery then reads what the disk
   * holds), as PostgreSQL stops at a failed fsync. Without this, the failed batch's requests,
   * answered as failures, were recorded a second time, and the next batch was answered durable
   * after a sync that proved nothing.
   */
  async #syncBatch(): Promise<void> {
    try {
      await new Promise<void>((done, fail) => fdatasync(this.#walFd, (error) => (error ? fail(error) : done())));
    } catch (error) {
      this.#syncFailed = true;
      const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'an error';
      throw this.#latch(`a sync of the store's write-ahead log failed (${code}): nothing more is written until the server restarts on a sound disk`, error);
    }
    this.#confirmFiles();
  }

  /**
   * Why this store can no longer take writes, or undefined while it can. Asked by /readyz: it first
   * checks that the files are still at their paths (three stats), so a data directory removed or
   * moved while no write comes is reported at once, not at the next write (which it then refuses).
   */
  get unusableReason(): string | undefined {
    if (this.#unusable === undefined) {
      const gone = this.#files.check();
      if (gone !== undefined) this.#latch(`${gone}: nothing more is written until the server restarts`);
    }
    return this.#unusable?.message;
  }

  async readAudit(opts: { afterSeq?: number; limit: number }): Promise<AuditRecord[]> {
    return this.#stmt.readAudit.all(opts.afterSeq ?? 0, opts.limit).map((r) => fromJson<AuditRecord>(r));
  }

  async getAuditHead(): Promise<{ seq: number; hash: string } | undefined> {
    return this.#stmt.getAuditHead.get();
  }

  async readAuditIndex(opts: { afterSeq: number; limit: number; keys: readonly (readonly [string, number])[] }): Promise<AuditIndex> {
    const rows = this.#stmt.readAuditIndex.all(opts.afterSeq, opts.limit)
      .map((r) => ({ seq: r.seq, time: r.time, principalArn: r.principal_arn, operation: r.operation, outcome: r.outcome }));
    const keys = new Set(this.#stmt.presentAuditKeys.all(JSON.stringify(opts.keys)).map((k) => `${k.seq} ${k.key_arn}`));
    return { rows, keys };
  }

  async queryAudit(query: AuditQuery): Promise<(AuditRecord | UnreadableAuditRecord)[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (clause: string, ...values: (string | number)[]) => {
      where.push(clause);
      params.push(...values);
    };
    if (query.from !== undefined) add('time >= ?', query.from);
    if (query.to !== undefined) add('time < ?', query.to);
    if (query.principalArn !== undefined) add('principal_arn = ?', query.principalArn);
    if (query.operation !== undefined) add('operation = ?', query.operation);
    if (query.outcome === 'failure') add("outcome <> 'success'");
    else if (query.outcome !== undefined) add('outcome = ?', query.outcome);
    // By key, the key's index rows lead, newest first: `seq IN (SELECT ...)` gathered every record
    // of the key for each page, and a busy key has millions.
    const byKey = query.keyArn !== undefined;
    const seq = byKey ? 'audit_keys.seq' : 'seq';
    // The server numbers records from 1: a row before that was put there by someone else
    // (verification names it), and is no answer to a query.
    add(`${seq} > 0`);
    if (query.keyArn !== undefined) add('audit_keys.key_arn = ?', query.keyArn);
    // CROSS JOIN keeps the key's index rows as the outer loop: with planner statistics, the
    // bound on seq above led SQLite to scan `audit` by seq instead (79 ms a page on 300,000 rows).
    const from = byKey ? 'audit_keys CROSS JOIN audit ON audit.seq = audit_keys.seq' : 'audit';
    const unindexed = query.principalArn !== undefined || query.operation !== undefined || query.outcome !== undefined;
    if (!unindexed) {
      if (query.beforeSeq !== undefined) add(`${seq} < ?`, query.beforeSeq);
      const sql = `SELECT audit.seq AS seq, record FROM ${from} ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY ${seq} DESC LIMIT ?`;
      return this.#db.prepare<(string | number)[], AuditRow>(sql).all(...params, query.limit).map((r) => parseStoredRecord(r.seq, r.record));
    }
    // A filter no index serves reads the records one by one, and this connection's reads hold the
    // event loop: on a long trail (300,000 records: ~250 ms) every other request waited for the
    // whole scan. It reads a window of seqs at a time, newest first, each about AUDIT_SCAN_SLICE_MS
    // long, and lets other work run between windows, until the page is full or the trail's start
    // is reached.
    const bounds = this.#stmt.auditSeqBounds.get()!;
    if (bounds.lo === null || bounds.hi === null) return [];
    const sql = `SELECT audit.seq AS seq, record FROM ${from} WHERE ${[...where, `${seq} >= ?`, `${seq} < ?`].join(' AND ')} ORDER BY ${seq} DESC LIMIT ?`;
    const window = this.#db.prepare<(string | number)[], AuditRow>(sql);
    const found: (AuditRecord | UnreadableAuditRecord)[] = [];
    const start = Math.min(query.beforeSeq ?? Infinity, bounds.hi + 1);
    const [least, most] = AUDIT_SCAN_WINDOW_BOUNDS;
    let size = AUDIT_SCAN_FIRST_WINDOW;
    for (let end = start; end > bounds.lo;) {
      if (end !== start) await new Promise((done) => setImmediate(done));
      const began = performance.now();
      const windowStart = Math.max(end - size, bounds.lo);
      for (const row of window.all(...params, windowStart, end, query.limit - found.length)) {
        found.push(parseStoredRecord(row.seq, row.record));
      }
      if (found.length >= query.limit) break;
      end = windowStart;
      const took = Math.max(performance.now() - began, 0.05);
      size = Math.round(Math.min(Math.max(size * AUDIT_SCAN_SLICE_MS / took, least), most));
    }
    return found;
  }

  async lastKeyUse(keyArn: string, operations: readonly string[]): Promise<AuditRecord | undefined> {
    const row = this.#stmt.lastKeyUse.get(keyArn, JSON.stringify(operations));
    return row && fromJson<AuditRecord>(row);
  }

  async getMeta(name: string): Promise<Uint8Array | undefined> {
    const row = this.#stmt.getMeta.get(name);
    return row && new Uint8Array(row.value);
  }

  async putMetaIfAbsent(name: string, value: Uint8Array): Promise<boolean> {
    return this.#write(() => this.#stmt.insertMeta.run(name, Buffer.from(value)).changes === 1);
  }

  async replaceMeta(name: string, expected: Uint8Array, next: Uint8Array): Promise<boolean> {
    return this.#write(() => this.#stmt.replaceMeta.run(Buffer.from(next), name, Buffer.from(expected)).changes === 1);
  }

  async rewrapKeyVersion(keyId: string, version: number, expected: Uint8Array, next: Uint8Array): Promise<boolean> {
    return this.#write(() => this.#stmt.rewrapVersion.run(Buffer.from(next), keyId, version, Buffer.from(expected)).changes === 1);
  }

  async rewrapAccessKeySecret(accessKeyId: string, expected: Uint8Array, next: Uint8Array): Promise<boolean> {
    return this.#write(() => this.#stmt.rewrapAccessKey.run(Buffer.from(next), accessKeyId, Buffer.from(expected)).changes === 1);
  }

  /** One process owns the file's scheduled work: exclusion is only among this store's callers. */
  serialize<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.#turns.run(name, fn);
  }

  async runExclusive(name: string, fn: () => Promise<void>): Promise<boolean> {
    if (this.#exclusive.has(name)) return false;
    this.#exclusive.add(name);
    try {
      await fn();
      return true;
    } finally {
      this.#exclusive.delete(name);
    }
  }

  /**
   * A read transaction on a connection of its own: WAL gives it a snapshot as of its first read,
   * while writers on other connections go on committing.
   */
  async *exportSnapshot(): AsyncIterable<SnapshotRow> {
    const db = new Database(this.#db.name, { readonly: true, fileMustExist: true });
    try {
      db.exec('BEGIN');
      // The snapshot begins at the transaction's first read, not at BEGIN.
      db.prepare('SELECT count(*) FROM keys').get();
      for (const row of db.prepare<[], RecordRow>('SELECT record FROM keys ORDER BY key_id').iterate()) yield { kind: 'key', key: fromJson<KeyRecord>(row) };
      for (const row of db.prepare<[], VersionRow>('SELECT * FROM key_versions ORDER BY key_id, version').iterate()) yield { kind: 'keyVersion', version: toVersion(row) };
      for (const row of db.prepare<[], AliasRow>('SELECT * FROM aliases ORDER BY alias_name').iterate()) yield { kind: 'alias', alias: toAlias(row) };
      for (const row of db.prepare<[], PrincipalRow>('SELECT * FROM principals ORDER BY arn').iterate()) yield { kind: 'principal', principal: toPrincipal(row) };
      for (const row of db.prepare<[], PolicyRow>('SELECT * FROM identity_policies ORDER BY principal_arn, policy_name').iterate()) yield { kind: 'identityPolicy', policy: toPolicy(row) };
      for (const row of db.prepare<[], AccessKeyRow>('SELECT * FROM access_keys ORDER BY access_key_id').iterate()) yield { kind: 'accessKey', accessKey: toAccessKey(row) };
      for (const row of db.prepare<[], RecordRow>('SELECT record FROM grants ORDER BY grant_id').iterate()) yield { kind: 'grant', grant: fromJson<GrantRecord>(row) };
      for (const row of db.prepare<[], RecordRow>('SELECT record FROM audit ORDER BY seq').iterate()) yield { kind: 'audit', record: fromJson<AuditRecord>(row) };
      const head = db.prepare<[], { seq: number; hash: string }>('SELECT seq, hash FROM audit_head WHERE id = 1').get();
      if (head) yield { kind: 'auditHead', seq: head.seq, hash: head.hash };
      for (const row of db.prepare<[], { name: string; value: Buffer }>('SELECT name, value FROM meta ORDER BY name').iterate()) {
        yield { kind: 'meta', name: row.name, value: new Uint8Array(row.value) };
      }
      db.exec('COMMIT');
    } finally {
      db.close();
    }
  }

  /** One write transaction (BEGIN IMMEDIATE) on the store's connection, held across the iterable's awaits. */
  async importSnapshot(rows: AsyncIterable<SnapshotRow>): Promise<{ rows: number }> {
    if (this.#unusable) throw this.#unusable;
    const db = this.#db;
    db.exec('BEGIN IMMEDIATE');
    let count = 0;
    try {
      const held = db.prepare<[], { what: string }>(`
        SELECT 'keys' AS what WHERE EXISTS (SELECT 1 FROM keys) UNION ALL
        SELECT 'key versions' WHERE EXISTS (SELECT 1 FROM key_versions) UNION ALL
        SELECT 'aliases' WHERE EXISTS (SELECT 1 FROM aliases) UNION ALL
        SELECT 'principals' WHERE EXISTS (SELECT 1 FROM principals) UNION ALL
        SELECT 'identity policies' WHERE EXISTS (SELECT 1 FROM identity_policies) UNION ALL
        SELECT 'access keys' WHERE EXISTS (SELECT 1 FROM access_keys) UNION ALL
        SELECT 'grants' WHERE EXISTS (SELECT 1 FROM grants) UNION ALL
        SELECT 'audit records' WHERE EXISTS (SELECT 1 FROM audit) OR EXISTS (SELECT 1 FROM audit_head) UNION ALL
        SELECT 'meta ' || name FROM meta WHERE name NOT LIKE 'root-%' AND name <> '${RESTORE_UNFINISHED_META}'`).all().map((r) => r.what);
      if (held.length > 0) throw new StoreNotEmptyError(`the store is not empty: it holds ${held.join(', ')}`);
      for await (const row of rows) {
        this.#importRow(row);
        count++;
      }
      // A store filled is no longer one a restore left unfinished: cleared in the same commit.
      if (count > 0) this.#stmt.deleteMeta.run(RESTORE_UNFINISHED_META);
      db.exec('COMMIT');
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw this.#refusal(error);
    }
    this.#confirmFiles();
    return { rows: count };
  }

  #importRow(row: SnapshotRow): void {
    const s = this.#stmt;
    switch (row.kind) {
      case 'key': this.#keyRecords.clear(); s.insertKey.run(keyColumns(row.key)); break;
      case 'keyVersion': this.#insertVersion(row.version); break;
      // These statements skip a row whose key is taken (a create that lost a race); a snapshot
      // holding one twice is refused, as PostgreSQL refuses it, rather than stored a row short.
      case 'alias': once(s.insertAlias.run(row.alias), `alias ${row.alias.aliasName}`); break;
      case 'principal': once(s.insertPrincipal.run(row.principal), `principal ${row.principal.arn}`); break;
      case 'identityPolicy': once(s.importPolicy.run(row.policy), `identity policy ${row.policy.policyName} of ${row.policy.principalArn}`); break;
      case 'accessKey': once(s.insertAccessKey.run({ ...row.accessKey, wrappedSecret: Buffer.from(row.accessKey.wrappedSecret) }), `access key ${row.accessKey.accessKeyId}`); break;
      case 'grant': {
        const g = row.grant;
        s.insertGrant.run({ grant_id: g.grantId, key_id: g.keyId, name: g.name ?? null, grantee: g.granteePrincipal, retiring: g.retiringPrincipal ?? null, record: JSON.stringify(g) });
        break;
      }
      // As appended: records arrive in seq order, so each key's last use is the newest.
      case 'audit': this.#insertRecords([row.record]); break;
      case 'auditHead': once(s.importAuditHead.run(row.seq, row.hash), 'the audit head'); break;
      case 'meta': once(s.insertMeta.run(row.name, Buffer.from(row.value)), `meta ${row.name}`); break;
    }
  }

  /**
   * Closing the last connection makes SQLite checkpoint the WAL into the database (then delete the
   * -wal by name). After a failed WAL sync the store is left open instead, for the process's end to
   * drop as a crash would: the checkpoint would copy WAL pages that the disk may have lost into the
   * database, where SQLite's recovery at the next start reads the WAL from the disk and keeps only
   * the frames whose checksums hold. Files gone from their paths are no reason to stay open: with
   * the database moved or replaced SQLite skips that checkpoint itself (it checks), and with only
   * the -wal or -shm removed, the checkpoint from the files it holds saves into the database what
   * was committed before.
   */
  async close(): Promise<void> {
    if (this.#pendingAudit.length > 0) this.#flushAudit();
    while (this.#walSync) await this.#walSync;
    if (this.#closed) return;
    this.#closed = true;
    closeSync(this.#walFd);
    if (!this.#syncFailed) this.#db.close();
  }
}

/** A snapshot row's insert must have stored it: the key it names was not taken. */
function once(result: { changes: number }, what: string): void {
  if (result.changes !== 1) throw new Error(`the snapshot holds ${what} twice`);
}

/**
 * The triggers in the store's file, described, or undefined (views, which change nothing, are left
 * be; one with INSTEAD OF triggers is caught by those). Coffer's schema has none; a trigger could
 * delete or rewrite audit records (and move the head back) as they are written.
 */
function foreignTriggers(db: Database.Database): string | undefined {
  const names = db.prepare<[], string>("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").pluck().all();
  if (names.length === 0) return undefined;
  return `the store holds ${names.map((name) => `the trigger ${JSON.stringify(name)}`).join(', ')}`;
}
