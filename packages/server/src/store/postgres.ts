import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import type { PoolClient, QueryResultRow } from 'pg';
import type { AuditEvent, AuditRecord, UnreadableAuditRecord } from '../audit/record.js';
import { GENESIS_HASH, parseStoredRecord } from '../audit/record.js';
import type { GrantRecord } from '../grants/grant-record.js';
import type { AliasRecord, KeyRecord, KeyVersionRecord } from '../keys/key-record.js';
import type { IdentityPolicyRecord, PrincipalKind, PrincipalRecord } from '../principals/principal-record.js';
import { StartupError } from '../root/root-key.js';
import { redactConnectionString } from './connection-string.js';
import { EXCLUSIVE_LOCK_CLASS, MIGRATIONS, migrate, SERIALIZE_LOCK_CLASS } from './postgres-migrations.js';
import { MAX_TURN_WAIT_MS, Turns } from './turns.js';
import { headWentBack, type AuditHead } from './audit-head.js';
import type { AccessKeyRecord, AuditChainer, AuditIndex, AuditQuery, KeyCondition, Page, SnapshotRow, Store } from './store.js';
import { KeyConditionFailedError, RESTORE_UNFINISHED_META, StoreFullError, StoreNotEmptyError, StoreUnavailableError } from './store.js';

/** A statement with a name: pg prepares it once per connection and reuses the plan after. */
interface Named { readonly name: string; readonly text: string }
const named = (name: string, text: string): Named => ({ name: `coffer_${name}`, text });

/** A serialize() turn: the session holding its advisory lock, and the lock's name. */
interface Turn { readonly pid: number; readonly name: string }

const Q = {
  // Whether the session `$1` still holds serialize()'s lock on `$3`: pg_locks shows a two-key
  // advisory lock as classid = key 1, objid = key 2 (as an unsigned oid), objsubid = 2.
  turnHeld: named('turn_held', `SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND pid = $1 AND granted
    AND classid = $2::int::oid AND objid = (hashtext($3)::bigint & 4294967295)::oid AND objsubid = 2) AS held`),
  // The hot path of every request: resolve the key, its version, the caller's access key and policies.
  getKey: named('get_key', 'SELECT record FROM keys WHERE key_id = $1'),
  // A KeyCondition's read: the row stays locked against updates and deletion until the change
  // commits, so the condition still holds when it does. Taken before the audit head's lock, as
  // updateKey and deleteKey take the key's.
  getKeyForShare: named('get_key_for_share', 'SELECT record FROM keys WHERE key_id = $1 FOR SHARE'),
  getVersion: named('get_version', 'SELECT * FROM key_versions WHERE key_id = $1 AND version = $2'),
  getAccessKey: named('get_access_key', 'SELECT * FROM access_keys WHERE access_key_id = $1'),
  listPolicies: named('list_policies', 'SELECT * FROM identity_policies WHERE principal_arn = $1 ORDER BY policy_name'),
  getAlias: named('get_alias', 'SELECT * FROM aliases WHERE alias_name = $1'),

  insertKey: named('insert_key', 'INSERT INTO keys (key_id, revision, deletion_date, next_rotation, record) VALUES ($1, $2, $3, $4, $5)'),
  listKeys: named('list_keys', 'SELECT record FROM keys WHERE key_id > $1 ORDER BY key_id LIMIT $2'),
  listKeyIds: named('list_key_ids', 'SELECT key_id FROM keys WHERE key_id > $1 ORDER BY key_id LIMIT $2'),
  // The state is read from the record's text, not through ::jsonb: PostgreSQL's JSON types refuse
  // the \u0000 escape and lone surrogates that a description, tag or policy may hold, and one such
  // key would fail every count. In JSON.stringify's text a `"state":"` with unescaped quotes can only
  // be a member name, and the key record's only member of that name is its state. Cut out with
  // split_part rather than a regular expression: 16 ms against 71 for 20,000 records of ~1 KB
  // (PostgreSQL 15, 2026-11-30), and every /metrics scrape runs it.
  countKeys: named('count_keys', 'SELECT COUNT(*)::int AS n FROM keys'),
  countKeysByState: named('count_keys_by_state', `SELECT split_part(split_part(record, '"state":"', 2), '"', 1) AS state, COUNT(*)::int AS n FROM keys GROUP BY 1`),
  // Compare-and-set: under READ COMMITTED a concurrent writer waits for the row lock, then finds
  // the revision moved on and updates nothing.
  updateKey: named('update_key', 'UPDATE keys SET revision = $2, deletion_date = $3, next_rotation = $4, record = $5 WHERE key_id = $1 AND revision = $2 - 1'),
  deleteKey: named('delete_key', 'DELETE FROM keys WHERE key_id = $1'),
  // Compare-and-set, as updateKey: a writer that moved the revision first keeps its key.
  deleteKeyAt: named('delete_key_at', 'DELETE FROM keys WHERE key_id = $1 AND revision = $2'),
  deleteVersions: named('delete_versions', 'DELETE FROM key_versions WHERE key_id = $1'),
  deleteKeyAliases: named('delete_key_aliases', 'DELETE FROM aliases WHERE target_key_id = $1'),
  deleteKeyGrants: named('delete_key_grants', 'DELETE FROM grants WHERE key_id = $1'),
  keysDue: named('keys_due', 'SELECT record FROM keys WHERE deletion_date <= $1 OR next_rotation <= $1 ORDER BY key_id'),
  insertVersion: named('insert_version', 'INSERT INTO key_versions (key_id, version, material_id, wrapped, created_at, rotation_type) VALUES ($1, $2, $3, $4, $5, $6)'),
  listVersions: named('list_versions', 'SELECT * FROM key_versions WHERE key_id = $1 ORDER BY version'),
  insertAlias: named('insert_alias', 'INSERT INTO aliases (alias_name, target_key_id, created_at, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING'),
  updateAlias: named('update_alias', 'UPDATE aliases SET target_key_id = $2, updated_at = $3 WHERE alias_name = $1'),
  deleteAlias: named('delete_alias', 'DELETE FROM aliases WHERE alias_name = $1'),
  listAliases: named('list_aliases', 'SELECT * FROM aliases WHERE alias_name > $1 ORDER BY alias_name LIMIT $2'),
  listKeyAliases: named('list_key_aliases', 'SELECT * FROM aliases WHERE target_key_id = $1 AND alias_name > $2 ORDER BY alias_name LIMIT $3'),
  insertPrincipal: named('insert_principal', 'INSERT INTO principals (arn, kind, name, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING'),
  getPrincipal: named('get_principal', 'SELECT * FROM principals WHERE arn = $1'),
  listPrincipals: named('list_principals', 'SELECT * FROM principals WHERE arn > $1 ORDER BY arn LIMIT $2'),
  listPrincipalsOfKind: named('list_principals_of_kind', 'SELECT * FROM principals WHERE kind = $1 AND arn > $2 ORDER BY arn LIMIT $3'),
  deletePrincipal: named('delete_principal', 'DELETE FROM principals WHERE arn = $1'),
  deletePrincipalPolicies: named('delete_principal_policies', 'DELETE FROM identity_policies WHERE principal_arn = $1'),
  deletePrincipalAccessKeys: named('delete_principal_access_keys', 'DELETE FROM access_keys WHERE principal_arn = $1'),
  putPolicy: named('put_policy', 'INSERT INTO identity_policies (principal_arn, policy_name, document, updated_at) VALUES ($1, $2, $3, $4) ON CONFLICT (principal_arn, policy_name) DO UPDATE SET document = excluded.document, updated_at = excluded.updated_at'),
  getPolicy: named('get_policy', 'SELECT * FROM identity_policies WHERE principal_arn = $1 AND policy_name = $2'),
  deletePolicy: named('delete_policy', 'DELETE FROM identity_policies WHERE principal_arn = $1 AND policy_name = $2'),
  insertAccessKey: named('insert_access_key', 'INSERT INTO access_keys (access_key_id, principal_arn, wrapped_secret, status, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING'),
  listAccessKeys: named('list_access_keys', 'SELECT * FROM access_keys WHERE principal_arn = $1 ORDER BY access_key_id'),
  listAccessKeyOwnersWithoutPrincipal: named('list_access_key_owners_without_principal', 'SELECT DISTINCT principal_arn FROM access_keys WHERE principal_arn NOT IN (SELECT arn FROM principals) ORDER BY principal_arn'),
  updateAccessKeyStatus: named('update_access_key_status', 'UPDATE access_keys SET status = $2 WHERE access_key_id = $1'),
  deleteAccessKey: named('delete_access_key', 'DELETE FROM access_keys WHERE access_key_id = $1'),
  insertGrant: named('insert_grant', 'INSERT INTO grants (grant_id, key_id, name, grantee, retiring, record) VALUES ($1, $2, $3, $4, $5, $6)'),
  getGrant: named('get_grant', 'SELECT record FROM grants WHERE grant_id = $1'),
  grantsByName: named('grants_by_name', 'SELECT record FROM grants WHERE key_id = $1 AND name = $2 ORDER BY grant_id'),
  listGrants: named('list_grants', 'SELECT record FROM grants WHERE key_id = $1 AND grant_id > $2 ORDER BY grant_id LIMIT $3'),
  listGranteeGrants: named('list_grantee_grants', 'SELECT record FROM grants WHERE key_id = $1 AND grantee = $2 AND grant_id > $3 ORDER BY grant_id LIMIT $4'),
  countGrants: named('count_grants', 'SELECT COUNT(*)::int AS n FROM grants WHERE key_id = $1'),
  listRetirable: named('list_retirable', 'SELECT record FROM grants WHERE retiring = $1 AND grant_id > $2 ORDER BY grant_id LIMIT $3'),
  deleteGrant: named('delete_grant', 'DELETE FROM grants WHERE grant_id = $1'),
  // Every appender locks the one head row first, so appenders on all nodes take turns and each
  // record's seq and prevHash follow the committed head.
  lockAuditHead: named('lock_audit_head', 'SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE'),
  getAuditHead: named('get_audit_head', 'SELECT seq, hash FROM audit_head WHERE id = 1'),
  putAuditHead: named('put_audit_head', 'UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1'),
  insertAudit: named('insert_audit', `INSERT INTO audit (seq, time, principal_arn, operation, outcome, record)
    SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])`),
  insertAuditKeys: named('insert_audit_keys', `INSERT INTO audit_keys (key_arn, seq)
    SELECT * FROM unnest($1::text[], $2::bigint[]) ON CONFLICT DO NOTHING`),
  putLastUse: named('put_last_use', `INSERT INTO key_last_use (key_arn, operation, seq)
    SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])
    ON CONFLICT (key_arn, operation) DO UPDATE SET seq = excluded.seq`),
  // A batch of audit records in one statement (one round trip instead of four): the records, their
  // keys, the keys' last uses and the new head. The sub-statements see one snapshot and none reads
  // what another writes; the caller's transaction holds the head's row lock.
  appendAuditBatch: named('append_audit_batch', `WITH
    records AS (INSERT INTO audit (seq, time, principal_arn, operation, outcome, record)
      SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[])),
    record_keys AS (INSERT INTO audit_keys (key_arn, seq) SELECT * FROM unnest($7::text[], $8::bigint[]) ON CONFLICT DO NOTHING),
    last_uses AS (INSERT INTO key_last_use (key_arn, operation, seq) SELECT * FROM unnest($9::text[], $10::text[], $11::bigint[])
      ON CONFLICT (key_arn, operation) DO UPDATE SET seq = excluded.seq)
    UPDATE audit_head SET seq = $12, hash = $13 WHERE id = 1`),
  lastKeyUse: named('last_key_use', `SELECT record FROM audit WHERE seq =
    (SELECT max(seq) FROM key_last_use WHERE key_arn = $1 AND operation = ANY($2::text[]))`),
  readAudit: named('read_audit', 'SELECT record FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2'),
  readAuditIndex: named('read_audit_index', 'SELECT seq, time, principal_arn, operation, outcome FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2'),
  presentAuditKeys: named('present_audit_keys',
    'SELECT k.seq, k.key_arn FROM unnest($1::text[], $2::bigint[]) AS p(arn, seq) JOIN audit_keys k ON k.key_arn = p.arn AND k.seq = p.seq'),
  getMeta: named('get_meta', 'SELECT value FROM meta WHERE name = $1'),
  insertMeta: named('insert_meta', 'INSERT INTO meta (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING'),
  replaceMeta: named('replace_meta', 'UPDATE meta SET value = $1 WHERE name = $2 AND value = $3'),
  deleteMeta: named('delete_meta', 'DELETE FROM meta WHERE name = $1'),
  rewrapVersion: named('rewrap_version', 'UPDATE key_versions SET wrapped = $1 WHERE key_id = $2 AND version = $3 AND wrapped = $4'),
  rewrapAccessKey: named('rewrap_access_key', 'UPDATE access_keys SET wrapped_secret = $1 WHERE access_key_id = $2 AND wrapped_secret = $3'),
} as const;

interface RecordRow { record: string }
/** seq is BIGINT: a string from pg. */
interface AuditRow { seq: string; record: string }
interface VersionRow { key_id: string; version: number; material_id: string; wrapped: Buffer; created_at: string; rotation_type: string | null }
interface AliasRow { alias_name: string; target_key_id: string; created_at: string; updated_at: string }
interface AccessKeyRow { access_key_id: string; principal_arn: string; wrapped_secret: Buffer; status: string; created_at: string }
interface PrincipalRow { arn: string; kind: string; name: string; created_at: string }
interface PolicyRow { principal_arn: string; policy_name: string; document: string; updated_at: string }
/** pg returns BIGINT as a string (it may not fit a double); epoch ms always do. */
interface HeadRow { seq: string; hash: string }

const fromJson = <T>(row: RecordRow): T => JSON.parse(row.record) as T;
const toVersion = (row: VersionRow): KeyVersionRecord => ({
  keyId: row.key_id,
  version: row.version,
  materialId: row.material_id,
  wrappedMaterial: new Uint8Array(row.wrapped),
  createdAt: Number(row.created_at),
  ...(row.rotation_type ? { rotationType: row.rotation_type as KeyVersionRecord['rotationType'] & string } : {}),
});
const toAlias = (row: AliasRow): AliasRecord => ({
  aliasName: row.alias_name, targetKeyId: row.target_key_id, createdAt: Number(row.created_at), updatedAt: Number(row.updated_at),
});
const toAccessKey = (row: AccessKeyRow): AccessKeyRecord => ({
  accessKeyId: row.access_key_id, principalArn: row.principal_arn,
  wrappedSecret: new Uint8Array(row.wrapped_secret), status: row.status as AccessKeyRecord['status'],
  createdAt: Number(row.created_at),
});
const toPrincipal = (row: PrincipalRow): PrincipalRecord => ({
  arn: row.arn, kind: row.kind as PrincipalKind, name: row.name, createdAt: Number(row.created_at),
});
const toPolicy = (row: PolicyRow): IdentityPolicyRecord => ({
  principalArn: row.principal_arn, policyName: row.policy_name, document: row.document, updatedAt: Number(row.updated_at),
});

const keyValues = (key: KeyRecord) => [
  key.keyId,
  key.revision,
  key.state === 'PendingDeletion' ? (key.deletionDate ?? null) : null,
  key.rotation?.nextRotationDate ?? null,
  JSON.stringify(key),
];

function page<T>(rows: T[], limit: number, cursor: (item: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: cursor(items[items.length - 1]!) };
}

/** Rows per FETCH (and per batch of audit records imported) when a snapshot is exported or imported. */
const SNAPSHOT_PAGE = 500;

/** The tables of a snapshot, in SnapshotRow order, each with its query and its row conversion. */
const SNAPSHOT_TABLES: readonly (readonly [string, (row: QueryResultRow) => SnapshotRow])[] = [
  ['SELECT record FROM keys ORDER BY key_id', (row) => ({ kind: 'key', key: fromJson<KeyRecord>(row as RecordRow) })],
  ['SELECT * FROM key_versions ORDER BY key_id, version', (row) => ({ kind: 'keyVersion', version: toVersion(row as VersionRow) })],
  ['SELECT * FROM aliases ORDER BY alias_name', (row) => ({ kind: 'alias', alias: toAlias(row as AliasRow) })],
  ['SELECT * FROM principals ORDER BY arn', (row) => ({ kind: 'principal', principal: toPrincipal(row as PrincipalRow) })],
  ['SELECT * FROM identity_policies ORDER BY principal_arn, policy_name', (row) => ({ kind: 'identityPolicy', policy: toPolicy(row as PolicyRow) })],
  ['SELECT * FROM access_keys ORDER BY access_key_id', (row) => ({ kind: 'accessKey', accessKey: toAccessKey(row as AccessKeyRow) })],
  ['SELECT record FROM grants ORDER BY grant_id', (row) => ({ kind: 'grant', grant: fromJson<GrantRecord>(row as RecordRow) })],
  ['SELECT record FROM audit ORDER BY seq', (row) => ({ kind: 'audit', record: fromJson<AuditRecord>(row as RecordRow) })],
  // seq 0 is the row the migration made: no record yet, so no head to carry.
  ['SELECT seq, hash FROM audit_head WHERE id = 1 AND seq > 0', (row) => ({ kind: 'auditHead', seq: Number(row.seq), hash: String(row.hash) })],
  ['SELECT name, value FROM meta ORDER BY name', (row) => ({ kind: 'meta', name: String(row.name), value: new Uint8Array(row.value as Buffer) })],
];

type BulkKind = Exclude<SnapshotRow['kind'], 'audit' | 'auditHead'>;
type RowOf<K extends SnapshotRow['kind']> = SnapshotRow & { kind: K };

/** How importSnapshot writes each kind of row: its table, columns, their SQL types, and a row's values. */
const BULK_IMPORT: { readonly [K in BulkKind]: { table: string; columns: string; types: readonly string[]; values: (row: RowOf<K>) => unknown[] } } = {
  key: { table: 'keys', columns: 'key_id, revision, deletion_date, next_rotation, record', types: ['text', 'int', 'bigint', 'bigint', 'text'], values: (r) => keyValues(r.key) },
  keyVersion: {
    table: 'key_versions', columns: 'key_id, version, material_id, wrapped, created_at, rotation_type', types: ['text', 'int', 'text', 'bytea', 'bigint', 'text'],
    values: ({ version: v }) => [v.keyId, v.version, v.materialId, Buffer.from(v.wrappedMaterial), v.createdAt, v.rotationType ?? null],
  },
  alias: { table: 'aliases', columns: 'alias_name, target_key_id, created_at, updated_at', types: ['text', 'text', 'bigint', 'bigint'], values: ({ alias: a }) => [a.aliasName, a.targetKeyId, a.createdAt, a.updatedAt] },
  principal: { table: 'principals', columns: 'arn, kind, name, created_at', types: ['text', 'text', 'text', 'bigint'], values: ({ principal: p }) => [p.arn, p.kind, p.name, p.createdAt] },
  identityPolicy: {
    table: 'identity_policies', columns: 'principal_arn, policy_name, document, updated_at', types: ['text', 'text', 'text', 'bigint'],
    values: ({ policy: p }) => [p.principalArn, p.policyName, p.document, p.updatedAt],
  },
  accessKey: {
    table: 'access_keys', columns: 'access_key_id, principal_arn, wrapped_secret, status, created_at', types: ['text', 'text', 'bytea', 'text', 'bigint'],
    values: ({ accessKey: k }) => [k.accessKeyId, k.principalArn, Buffer.from(k.wrappedSecret), k.status, k.createdAt],
  },
  grant: {
    table: 'grants', columns: 'grant_id, key_id, name, grantee, retiring, record', types: ['text', 'text', 'text', 'text', 'text', 'text'],
    values: ({ grant: g }) => [g.grantId, g.keyId, g.name ?? null, g.granteePrincipal, g.retiringPrincipal ?? null, JSON.stringify(g)],
  },
  meta: { table: 'meta', columns: 'name, value', types: ['text', 'bytea'], values: (r) => [r.name, Buffer.from(r.value)] },
};

/** Something that runs queries: the pool (one statement, autocommit) or a client in a transaction. */
interface Queryable {
  query<R extends QueryResultRow>(config: { name?: string; text: string; values?: unknown[] }): Promise<pg.QueryResult<R>>;
}

/** Node's network errors, as the pg driver passes them on. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);

/** SQLSTATE 53100 disk_full: a table, index or temporary file could not grow. */
const DISK_FULL = '53100';
/** SQLSTATE 25P03: PostgreSQL ended the session of a transaction left idle too long (IDLE_IN_TRANSACTION_MS). */
const IDLE_IN_TRANSACTION_TIMEOUT = '25P03';

/** SQLSTATE 25006: a write in a read-only transaction (a standby after a failover, or default_transaction_read_only set). */
const READ_ONLY_TRANSACTION = '25006';

/**
 * Whether an error means the database could not be used right now (so a retry may succeed),
 * rather than that it refused this statement (a duplicate key, say). SQLSTATE classes: 08
 * connection exception, 28 invalid authorization (the role's password changed, or its login
 * taken away, under a running node), 25006 a write to a database that only reads now, 53 insufficient resources (too many connections, out of memory; but not
 * 53100 disk_full, a StoreFullError as SQLite's full disk is), 57 operator intervention
 * (shutdown, statement timeout), 40001/40P01 serialization failure and deadlock, 25P03 a
 * transaction of this node's that PostgreSQL ended for idling (the node was frozen meanwhile).
 */
export function isStoreUnavailable(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code)) return true;
    if (code === DISK_FULL) return false;
    if (/^[0-9A-Z]{5}$/.test(code)) {
      return /^(08|28|53|57)/.test(code) || code === '40001' || code === '40P01' || code === IDLE_IN_TRANSACTION_TIMEOUT || code === READ_ONLY_TRANSACTION;
    }
  }
  // The driver's own messages for a connection that ended, was never made, or is unusable.
  return /Connection terminated|timeout exceeded when trying to connect|not queryable|connect ECONNREFUSED|Client was closed|Query read timeout/i.test(error.message);
}

function unavailable(error: unknown): never {
  if (error instanceof StoreUnavailableError || error instanceof StoreFullError) throw error;
  // The database answered and refused: the transaction is rolled back, nothing was written.
  if ((error as { code?: unknown } | undefined)?.code === DISK_FULL) {
    throw new StoreFullError(`The PostgreSQL store's disk is full: ${(error as Error).message}`, { cause: error });
  }
  if (isStoreUnavailable(error)) {
    throw new StoreUnavailableError(`The PostgreSQL store is unavailable: ${(error as Error).message}`, { cause: error });
  }
  throw error;
}

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database?...` */
  readonly connectionString: string;
  /** Connections in the pool (default 10). */
  readonly maxConnections?: number;
  /** For tests: migrate with this list instead of the server's own. */
  readonly migrations?: typeof MIGRATIONS;
  /**
   * Open only a database a Coffer server has used (it has Coffer's tables): one without is
   * refused, nothing created in it. For the tools that read a store (backup, audit verify, store
   * check): pointed at a mistyped database, they must not make Coffer's tables in it.
   */
  readonly existing?: boolean;
  /** How long a statement may go unanswered before it fails (default QUERY_TIMEOUT_MS; tests shorten it). */
  readonly queryTimeoutMs?: number;
  /** How long a transaction may idle before PostgreSQL ends it (default IDLE_IN_TRANSACTION_MS; tests shorten it). */
  readonly idleInTransactionMs?: number;
  /**
   * How long PostgreSQL lets a statement run, and a serialize() call wait for the calls ahead of
   * it in this process (default STATEMENT_TIMEOUT_MS; tests shorten it).
   */
  readonly statementTimeoutMs?: number;
}

/**
 * PostgreSQL ends a statement itself after this long (statement_timeout), and a serialize() call
 * waits no longer than this for the calls ahead of it on this node (Turns, MAX_TURN_WAIT_MS).
 */
const STATEMENT_TIMEOUT_MS = MAX_TURN_WAIT_MS;
/**
 * And the driver gives up on one after this long: a database that does not answer at all (frozen,
 * or cut off by the network) cannot enforce its own timeout, and a query on a connection the pool
 * already holds would otherwise wait until TCP gives up, for hours. The connection is then closed.
 */
const QUERY_TIMEOUT_MS = 20_000;
/**
 * PostgreSQL ends a session whose transaction sat idle this long (idle_in_transaction_session_timeout),
 * which releases its locks. A node frozen (SIGSTOP, a paused VM) or cut off in the middle of a
 * transaction holds the audit head's row lock, or a serialize() lock, that every other node's
 * writes wait for: without this they waited until TCP gave up on the dead session, hours. A
 * healthy node's transactions run statement after statement with no other work between them;
 * serialize()'s lock, held while other work runs, sends a statement every fifth of this and has
 * half as long again (LOCK_IDLE_FACTOR); and the two that wait on their caller (the snapshot's
 * export and import) lift it for themselves. With that half, less than STATEMENT_TIMEOUT_MS, so
 * that the others' waiting writes then go through.
 */
const IDLE_IN_TRANSACTION_MS = 8_000;
/**
 * serialize()'s lock transaction idles out after this many times IDLE_IN_TRANSACTION_MS: a frozen
 * node's write transactions (which idle from the moment it froze) end before its lock does (which
 * idles from its last heartbeat, up to a fifth earlier), so no other node takes the turn while a
 * write of the frozen node's, checked under the lock, could still commit.
 */
const LOCK_IDLE_FACTOR = 1.5;
/**
 * TCP keepalive of the database's side of each session (tcp_keepalives_*): a node whose machine or
 * network is gone is noticed within about a minute (30 s idle, then 3 probes 10 s apart) rather
 * than the operating system's default of two hours, which ends what its session held (the
 * scheduler's runExclusive lock among them). Ignored over a Unix socket.
 */
const sessionSettings = (idleInTransactionMs: number) => [
  'synchronous_commit=on', `idle_in_transaction_session_timeout=${idleInTransactionMs}`,
  'tcp_keepalives_idle=30', 'tcp_keepalives_interval=10', 'tcp_keepalives_count=3',
];
/** close() waits this long at most for connections still in use, then lets them go. */
const CLOSE_WAIT_MS = 5_000;

/**
 * The shared store: PostgreSQL, for any number of server nodes on one database.
 *
 * Every method is one statement in autocommit or one `BEGIN ... COMMIT` on one pooled connection;
 * a promise resolves only after PostgreSQL has acknowledged the COMMIT (with
 * `synchronous_commit = on`, forced for the store's sessions, that is after the WAL is flushed).
 * Audit events are chained under a row lock on `audit_head`, so appenders on every node take turns.
 * Events of requests that change nothing are group-committed per node, as in SqliteStore.
 * Connection failures surface as StoreUnavailableError (retryable); see docs/store.md.
 */
export class PostgresStore implements Store {
  readonly #pool: pg.Pool;
  readonly #turns: Turns;
  #chain: AuditChainer | undefined;
  #pendingAudit: { event: AuditEvent; done: () => void; fail: (error: unknown) => void }[] = [];
  #flushing: Promise<void> | undefined;
  #closed = false;
  /** The newest audit head this node committed: the head only ever moves on from it (#appendInTransaction). */
  #lastHead: AuditHead | undefined;
  /** The head each open transaction wrote, made #lastHead when it commits (#transaction). */
  readonly #pendingHeads = new WeakMap<PoolClient, AuditHead>();

  /** IDLE_IN_TRANSACTION_MS as this store's sessions have it. */
  readonly #idleInTransactionMs: number;
  /** The serialize() turn the code running now is in, if any: its lock's session, for #transaction's fence. */
  readonly #turn = new AsyncLocalStorage<Turn>();

  private constructor(pool: pg.Pool, idleInTransactionMs: number, statementTimeoutMs: number) {
    this.#pool = pool;
    this.#idleInTransactionMs = idleInTransactionMs;
    this.#turns = new Turns(statementTimeoutMs);
  }

  /**
   * Connects, applies the migrations the database lacks, and returns the store. Throws a
   * StartupError when the database cannot be reached or is at a newer schema than this server.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 10,
      connectionTimeoutMillis: 5_000,
      idleTimeoutMillis: 30_000,
      keepAlive: true,
      application_name: 'coffer',
      // Bounds on both sides, so that a stuck statement fails (retryably) instead of hanging a request.
      statement_timeout: options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS,
      query_timeout: options.queryTimeoutMs ?? QUERY_TIMEOUT_MS,
      // A resolved write must be on disk, whatever the database's default; the rest: IDLE_IN_TRANSACTION_MS and above.
      options: sessionSettings(options.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS).map((setting) => `-c ${setting}`).join(' '),
    });
    // An idle connection that breaks (the server restarted) is dropped by the pool; without a
    // listener its 'error' would end the process.
    pool.on('error', () => {});
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end().catch(() => {});
      throw new StartupError(`Cannot connect to the PostgreSQL store at ${redactConnectionString(options.connectionString)}: ${(error as Error).message}`);
    }
    try {
      if (options.existing === true && !(await hasCofferSchema(client))) {
        throw new StartupError(`The PostgreSQL database at ${redactConnectionString(options.connectionString)} has never been used by a Coffer server `
          + '(it has no Coffer tables): is it the --store the server uses? Nothing was created in it.');
      }
      await migrate(client, options.migrations ?? MIGRATIONS);
      const foreign = await foreignTriggers(client);
      if (foreign !== undefined) {
        throw new StartupError(`The PostgreSQL store at ${redactConnectionString(options.connectionString)} ${foreign}: Coffer makes none, and one could change or remove what the store writes (audit records, for one) unseen. Remove it, or restore the store from a backup.`);
      }
      client.release();
    } catch (error) {
      client.release(true);
      await pool.end().catch(() => {});
      // What the database refused while the schema was made (another application's table of the
      // same name, a user who may not create tables) is said as the store's, with what to check;
      // not a database that went away or timed out (SQLSTATE classes 08, 53, 57; no SQLSTATE at
      // all), nor anything met by a tool that makes no tables (`existing`).
      const sqlState = (error as { code?: unknown }).code;
      if (error instanceof StartupError || options.existing === true || typeof sqlState !== 'string'
        || !/^[0-9A-Z]{5}$/.test(sqlState) || /^(?:08|53|57)/.test(sqlState)) throw error;
      throw new StartupError(`Cannot make Coffer's tables in the PostgreSQL store at ${redactConnectionString(options.connectionString)}: `
        + `${(error as Error).message}. Give Coffer a database of its own, whose user may create tables in it.`, { cause: error });
    }
    return new PostgresStore(pool, options.idleInTransactionMs ?? IDLE_IN_TRANSACTION_MS, options.statementTimeoutMs ?? STATEMENT_TIMEOUT_MS);
  }

  async #query<R extends QueryResultRow>(q: Named, values: unknown[], db: Queryable = this.#pool): Promise<R[]> {
    return (await this.#exec<R>(q, values, db)).rows;
  }

  async #exec<R extends QueryResultRow>(q: Named, values: unknown[], db: Queryable = this.#pool): Promise<pg.QueryResult<R>> {
    try {
      return await db.query<R>({ name: q.name, text: q.text, values });
    } catch (error) {
      return unavailable(error);
    }
  }

  /**
   * A pooled connection of the caller's own; `release` must follow, in a `finally`. A failure to
   * connect surfaces as StoreUnavailableError.
   */
  async #checkout(): Promise<{ client: PoolClient; release: (broken: boolean) => void }> {
    let client: PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      return unavailable(error);
    }
    // A connection that breaks between statements emits 'error'; the failing statement reports it.
    const ignore = () => {};
    client.on('error', ignore);
    return {
      client,
      release: (broken) => {
        client.off('error', ignore);
        // A connection that failed is closed rather than reused.
        client.release(broken || undefined);
      },
    };
  }

  /**
   * Runs `work` in one transaction on one connection. A rejected promise means the change was not
   * acknowledged: nothing changed, except when the connection broke during COMMIT itself, when the
   * outcome is unknown (and reported as StoreUnavailableError, never as success).
   */
  async #transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const { client, release } = await this.#checkout();
    let broken = false;
    try {
      await client.query('BEGIN');
      const turn = this.#turn.getStore();
      if (turn) await this.#assertTurnHeld(client, turn);
      const result = await work(client);
      if (turn) await this.#assertTurnHeld(client, turn);
      await client.query('COMMIT');
      const head = this.#pendingHeads.get(client);
      if (head !== undefined && (this.#lastHead === undefined || head.seq > this.#lastHead.seq)) this.#lastHead = head;
      return result;
    } catch (error) {
      broken = isStoreUnavailable(error);
      // A broken connection is closed, which rolls the transaction back; a ROLLBACK sent on one that
      // no longer answers would wait out another query timeout.
      if (!broken) await client.query('ROLLBACK').catch(() => {});
      return unavailable(error);
    } finally {
      this.#pendingHeads.delete(client);
      release(broken);
    }
  }

  /** Runs `write` in a transaction and, if it made its change, appends `audit` in the same one. */
  #withAudit<T>(audit: AuditEvent | undefined, write: (client: PoolClient) => Promise<T>, changed: (result: T) => boolean = () => true): Promise<T> {
    if (audit && !this.#chain) throw new Error('audit chain not attached to the store');
    return this.#transaction(async (client) => {
      const result = await write(client);
      if (audit && changed(result)) await this.#appendInTransaction(client, [audit]);
      return result;
    });
  }

  /** Locks the head, chains `events` after it, writes them and moves the head, in the caller's transaction. */
  async #appendInTransaction(client: PoolClient, events: readonly AuditEvent[]): Promise<void> {
    const chain = this.#chain;
    if (!chain) throw new Error('audit chain not attached to the store');
    const [head] = await this.#query<HeadRow>(Q.lockAuditHead, [], client);
    if (!head) throw new Error('the audit_head row is missing: the schema was not migrated');
    let seq = Number(head.seq);
    const wentBack = headWentBack(this.#lastHead, { seq, hash: head.hash });
    if (wentBack !== undefined) throw new Error(wentBack);
    let prevHash = seq === 0 ? GENESIS_HASH : head.hash;
    const records = events.map((event) => {
      const record = chain(event, ++seq, prevHash);
      prevHash = record.hash;
      return record;
    });
    const { columns, keyArns, keySeqs, uses } = auditArrays(records);
    await this.#exec(Q.appendAuditBatch, [
      ...columns, keyArns, keySeqs, uses.map((u) => u[0]), uses.map((u) => u[1]), uses.map((u) => u[2]), seq, prevHash,
    ], client);
    this.#pendingHeads.set(client, { seq, hash: prevHash });
  }

  async createKey(key: KeyRecord, firstVersion: KeyVersionRecord | undefined, audit?: AuditEvent): Promise<void> {
    await this.#withAudit(audit, async (client) => {
      await this.#exec(Q.insertKey, keyValues(key), client);
      if (firstVersion) await this.#insertVersion(client, firstVersion);
    });
  }

  async #insertVersion(client: PoolClient, v: KeyVersionRecord): Promise<void> {
    await this.#exec(Q.insertVersion, [v.keyId, v.version, v.materialId, Buffer.from(v.wrappedMaterial), v.createdAt, v.rotationType ?? null], client);
  }

  async getKey(keyId: string): Promise<KeyRecord | undefined> {
    const [row] = await this.#query<RecordRow>(Q.getKey, [keyId]);
    return row && fromJson<KeyRecord>(row);
  }

  async listKeys(opts: { after?: string; limit: number }): Promise<Page<KeyRecord>> {
    const rows = (await this.#query<RecordRow>(Q.listKeys, [opts.after ?? '', opts.limit + 1])).map((r) => fromJson<KeyRecord>(r));
    return page(rows, opts.limit, (k) => k.keyId);
  }

  async listKeyIds(opts: { after?: string; limit: number }): Promise<Page<string>> {
    const ids = (await this.#query<{ key_id: string }>(Q.listKeyIds, [opts.after ?? '', opts.limit + 1])).map((r) => r.key_id);
    return page(ids, opts.limit, (id) => id);
  }

  async updateKey(next: KeyRecord, newVersion?: KeyVersionRecord, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, async (client) => {
      if ((await this.#exec(Q.updateKey, keyValues(next), client)).rowCount !== 1) return false;
      if (newVersion) await this.#insertVersion(client, newVersion);
      return true;
    }, (changed) => changed);
  }

  async deleteKey(keyId: string, audit?: AuditEvent, revision?: number): Promise<boolean> {
    return this.#withAudit(audit, async (client) => {
      // First, so that its row lock orders it after (or before) a concurrent updateKey of the key.
      if (revision !== undefined && (await this.#exec(Q.deleteKeyAt, [keyId, revision], client)).rowCount !== 1) return false;
      await this.#exec(Q.deleteKeyAliases, [keyId], client);
      await this.#exec(Q.deleteKeyGrants, [keyId], client);
      await this.#exec(Q.deleteVersions, [keyId], client);
      await this.#exec(Q.deleteKey, [keyId], client);
      return true;
    }, (deleted) => deleted);
  }

  async countKeys(): Promise<number> {
    return (await this.#query<{ n: number }>(Q.countKeys, []))[0]!.n;
  }

  async countKeysByState(): Promise<Record<string, number>> {
    return Object.fromEntries((await this.#query<{ state: string; n: number }>(Q.countKeysByState, [])).map((r) => [r.state, r.n]));
  }

  async listKeysDue(now: number): Promise<KeyRecord[]> {
    return (await this.#query<RecordRow>(Q.keysDue, [now])).map((r) => fromJson<KeyRecord>(r));
  }

  async getKeyVersion(keyId: string, version: number): Promise<KeyVersionRecord | undefined> {
    const [row] = await this.#query<VersionRow>(Q.getVersion, [keyId, version]);
    return row && toVersion(row);
  }

  async listKeyVersions(keyId: string): Promise<KeyVersionRecord[]> {
    return (await this.#query<VersionRow>(Q.listVersions, [keyId])).map(toVersion);
  }

  async createAlias(alias: AliasRecord, audit?: AuditEvent, keyCondition?: KeyCondition): Promise<boolean> {
    return this.#withAudit(audit, async (client) => {
      await this.#assertKeyCondition(client, keyCondition);
      return (await this.#exec(Q.insertAlias, [alias.aliasName, alias.targetKeyId, alias.createdAt, alias.updatedAt], client)).rowCount === 1;
    }, (created) => created);
  }

  async getAlias(aliasName: string): Promise<AliasRecord | undefined> {
    const [row] = await this.#query<AliasRow>(Q.getAlias, [aliasName]);
    return row && toAlias(row);
  }

  async updateAlias(alias: AliasRecord, audit?: AuditEvent, keyCondition?: KeyCondition): Promise<boolean> {
    return this.#withAudit(audit, async (client) => {
      await this.#assertKeyCondition(client, keyCondition);
      return (await this.#exec(Q.updateAlias, [alias.aliasName, alias.targetKeyId, alias.updatedAt], client)).rowCount === 1;
    }, (updated) => updated);
  }

  /** In the change's transaction, first: reads the key with its row locked until the change commits. */
  async #assertKeyCondition(client: PoolClient, condition: KeyCondition | undefined): Promise<void> {
    if (condition === undefined) return;
    const [row] = await this.#query<RecordRow>(Q.getKeyForShare, [condition.keyId], client);
    if (!row || !condition.holds(fromJson<KeyRecord>(row))) {
      throw new KeyConditionFailedError(`key ${condition.keyId} changed before the write: nothing was written`);
    }
  }

  async deleteAlias(aliasName: string, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, async (client) => (await this.#exec(Q.deleteAlias, [aliasName], client)).rowCount === 1, (deleted) => deleted);
  }

  async listAliases(opts: { keyId?: string; after?: string; limit: number }): Promise<Page<AliasRecord>> {
    const after = opts.after ?? '';
    const rows = (opts.keyId === undefined
      ? await this.#query<AliasRow>(Q.listAliases, [after, opts.limit + 1])
      : await this.#query<AliasRow>(Q.listKeyAliases, [opts.keyId, after, opts.limit + 1])).map(toAlias);
    return page(rows, opts.limit, (a) => a.aliasName);
  }

  async createPrincipal(principal: PrincipalRecord, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, async (client) =>
      (await this.#exec(Q.insertPrincipal, [principal.arn, principal.kind, principal.name, principal.createdAt], client)).rowCount === 1,
    (created) => created);
  }

  async getPrincipal(arn: string): Promise<PrincipalRecord | undefined> {
    const [row] = await this.#query<PrincipalRow>(Q.getPrincipal, [arn]);
    return row && toPrincipal(row);
  }

  async listPrincipals(opts: { kind?: PrincipalKind; after?: string; limit: number }): Promise<Page<PrincipalRecord>> {
    const after = opts.after ?? '';
    const rows = (opts.kind === undefined
      ? await this.#query<PrincipalRow>(Q.listPrincipals, [after, opts.limit + 1])
      : await this.#query<PrincipalRow>(Q.listPrincipalsOfKind, [opts.kind, after, opts.limit + 1])).map(toPrincipal);
    return page(rows, opts.limit, (p) => p.arn);
  }

  async deletePrincipal(arn: string, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, async (client) => {
      if ((await this.#exec(Q.deletePrincipal, [arn], client)).rowCount !== 1) return false;
      await this.#exec(Q.deletePrincipalPolicies, [arn], client);
      await this.#exec(Q.deletePrincipalAccessKeys, [arn], client);
      return true;
    }, (deleted) => deleted);
  }

  async putIdentityPolicy(policy: IdentityPolicyRecord, audit?: AuditEvent): Promise<void> {
    await this.#withAudit(audit, async (client) => {
      await this.#exec(Q.putPolicy, [policy.principalArn, policy.policyName, policy.document, policy.updatedAt], client);
    });
  }

  async getIdentityPolicy(principalArn: string, policyName: string): Promise<IdentityPolicyRecord | undefined> {
    const [row] = await this.#query<PolicyRow>(Q.getPolicy, [principalArn, policyName]);
    return row && toPolicy(row);
  }

  async listIdentityPolicies(principalArn: string): Promise<IdentityPolicyRecord[]> {
    return (await this.#query<PolicyRow>(Q.listPolicies, [principalArn])).map(toPolicy);
  }

  async deleteIdentityPolicy(principalArn: string, policyName: string, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, async (client) =>
      (await this.#exec(Q.deletePolicy, [principalArn, policyName], client)).rowCount === 1,
    (deleted) => deleted);
  }

  async createAccessKey(record: AccessKeyRecord, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, async (client) => (await this.#exec(Q.insertAccessKey, [
      record.accessKeyId, record.principalArn, Buffer.from(record.wrappedSecret), record.status, record.createdAt,
    ], client)).rowCount === 1, (created) => created);
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    const [row] = await this.#query<AccessKeyRow>(Q.getAccessKey, [accessKeyId]);
    return row && toAccessKey(row);
  }

  async listAccessKeys(principalArn: string): Promise<AccessKeyRecord[]> {
    return (await this.#query<AccessKeyRow>(Q.listAccessKeys, [principalArn])).map(toAccessKey);
  }

  async listAccessKeyOwnersWithoutPrincipal(): Promise<string[]> {
    return (await this.#query<{ principal_arn: string }>(Q.listAccessKeyOwnersWithoutPrincipal, [])).map((row) => row.principal_arn);
  }

  async updateAccessKeyStatus(accessKeyId: string, status: AccessKeyRecord['status'], audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, async (client) =>
      (await this.#exec(Q.updateAccessKeyStatus, [accessKeyId, status], client)).rowCount === 1,
    (updated) => updated);
  }

  async deleteAccessKey(accessKeyId: string, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, async (client) => (await this.#exec(Q.deleteAccessKey, [accessKeyId], client)).rowCount === 1, (deleted) => deleted);
  }

  async createGrant(grant: GrantRecord, audit?: AuditEvent, keyCondition?: KeyCondition): Promise<void> {
    await this.#withAudit(audit, async (client) => {
      await this.#assertKeyCondition(client, keyCondition);
      await this.#exec(Q.insertGrant, [
        grant.grantId, grant.keyId, grant.name ?? null, grant.granteePrincipal, grant.retiringPrincipal ?? null, JSON.stringify(grant),
      ], client);
    });
  }

  async getGrant(grantId: string): Promise<GrantRecord | undefined> {
    const [row] = await this.#query<RecordRow>(Q.getGrant, [grantId]);
    return row && fromJson<GrantRecord>(row);
  }

  async findGrantsByName(keyId: string, name: string): Promise<GrantRecord[]> {
    return (await this.#query<RecordRow>(Q.grantsByName, [keyId, name])).map((r) => fromJson<GrantRecord>(r));
  }

  async countGrants(keyId: string): Promise<number> {
    return (await this.#query<{ n: number }>(Q.countGrants, [keyId]))[0]?.n ?? 0;
  }

  async listGrants(opts: { keyId: string; granteePrincipal?: string; after?: string; limit: number }): Promise<Page<GrantRecord>> {
    const after = opts.after ?? '';
    const rows = (await (opts.granteePrincipal === undefined
      ? this.#query<RecordRow>(Q.listGrants, [opts.keyId, after, opts.limit + 1])
      : this.#query<RecordRow>(Q.listGranteeGrants, [opts.keyId, opts.granteePrincipal, after, opts.limit + 1]))).map((r) => fromJson<GrantRecord>(r));
    return page(rows, opts.limit, (g) => g.grantId);
  }

  async listRetirableGrants(opts: { retiringPrincipal: string; after?: string; limit: number }): Promise<Page<GrantRecord>> {
    const rows = (await this.#query<RecordRow>(Q.listRetirable, [opts.retiringPrincipal, opts.after ?? '', opts.limit + 1]))
      .map((r) => fromJson<GrantRecord>(r));
    return page(rows, opts.limit, (g) => g.grantId);
  }

  async deleteGrant(grantId: string, audit?: AuditEvent): Promise<boolean> {
    return this.#withAudit(audit, async (client) => (await this.#exec(Q.deleteGrant, [grantId], client)).rowCount === 1, (deleted) => deleted);
  }

  attachAuditChain(chain: AuditChainer): void {
    this.#chain = chain;
  }

  /**
   * Group commit: events that arrive while a batch is being written wait and share the next
   * batch's transaction; each promise resolves when the transaction holding its event committed.
   */
  appendAudit(event: AuditEvent): Promise<void> {
    return new Promise((done, fail) => {
      if (this.#closed) {
        fail(new StoreUnavailableError('The PostgreSQL store is closed.'));
        return;
      }
      this.#pendingAudit.push({ event, done, fail });
      // Outside any serialize() turn of the caller's: the batch holds other requests' records too.
      this.#flushing ??= this.#turn.exit(() => new Promise<void>((ready) => setImmediate(ready)).then(() => this.#flushAudit()));
    });
  }

  async #flushAudit(): Promise<void> {
    while (this.#pendingAudit.length > 0) {
      const batch = this.#pendingAudit;
      this.#pendingAudit = [];
      try {
        await this.#transaction((client) => this.#appendInTransaction(client, batch.map((entry) => entry.event)));
      } catch (error) {
        for (const entry of batch) entry.fail(error);
        continue;
      }
      for (const entry of batch) entry.done();
    }
    this.#flushing = undefined;
  }

  async readAudit(opts: { afterSeq?: number; limit: number }): Promise<AuditRecord[]> {
    return (await this.#query<RecordRow>(Q.readAudit, [opts.afterSeq ?? 0, opts.limit])).map((r) => fromJson<AuditRecord>(r));
  }

  async readAuditIndex(opts: { afterSeq: number; limit: number; keys: readonly (readonly [string, number])[] }): Promise<AuditIndex> {
    type IndexRow = { seq: string; time: string; principal_arn: string | null; operation: string | null; outcome: string };
    const rows = (await this.#query<IndexRow>(Q.readAuditIndex, [opts.afterSeq, opts.limit]))
      .map((r) => ({ seq: Number(r.seq), time: Number(r.time), principalArn: r.principal_arn, operation: r.operation, outcome: r.outcome }));
    const present = opts.keys.length === 0 ? [] : await this.#query<{ seq: string; key_arn: string }>(Q.presentAuditKeys, [opts.keys.map((k) => k[0]), opts.keys.map((k) => k[1])]);
    return { rows, keys: new Set(present.map((k) => `${Number(k.seq)} ${k.key_arn}`)) };
  }

  async getAuditHead(): Promise<{ seq: number; hash: string } | undefined> {
    const [head] = await this.#query<HeadRow>(Q.getAuditHead, []);
    // The migration made the row with seq 0: no record has been written yet.
    return head && Number(head.seq) > 0 ? { seq: Number(head.seq), hash: head.hash } : undefined;
  }

  async queryAudit(query: AuditQuery): Promise<(AuditRecord | UnreadableAuditRecord)[]> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (clause: (placeholder: string) => string, value?: string | number) => {
      if (value === undefined) {
        where.push(clause(''));
        return;
      }
      params.push(value);
      where.push(clause(`$${params.length}`));
    };
    if (query.from !== undefined) add((p) => `time >= ${p}`, query.from);
    if (query.to !== undefined) add((p) => `time < ${p}`, query.to);
    if (query.principalArn !== undefined) add((p) => `principal_arn = ${p}`, query.principalArn);
    if (query.operation !== undefined) add((p) => `operation = ${p}`, query.operation);
    if (query.outcome === 'failure') add(() => "outcome <> 'success'");
    else if (query.outcome !== undefined) add((p) => `outcome = ${p}`, query.outcome);
    if (query.beforeSeq !== undefined) add((p) => `seq < ${p}`, query.beforeSeq);
    // The server numbers records from 1: a row before that was put there by someone else
    // (verification names it), and is no answer to a query.
    add(() => 'seq > 0');
    if (query.keyArn !== undefined) add((p) => `seq IN (SELECT seq FROM audit_keys WHERE key_arn = ${p})`, query.keyArn);
    params.push(query.limit);
    const text = `SELECT seq, record FROM audit ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq DESC LIMIT $${params.length}`;
    // Ad hoc: the filters vary, so this one is not a named (prepared) statement.
    try {
      return (await this.#pool.query<AuditRow>(text, params)).rows.map((r) => parseStoredRecord(Number(r.seq), r.record));
    } catch (error) {
      return unavailable(error);
    }
  }

  async lastKeyUse(keyArn: string, operations: readonly string[]): Promise<AuditRecord | undefined> {
    const [row] = await this.#query<RecordRow>(Q.lastKeyUse, [keyArn, [...operations]]);
    return row && fromJson<AuditRecord>(row);
  }

  async getMeta(name: string): Promise<Uint8Array | undefined> {
    const [row] = await this.#query<{ value: Buffer }>(Q.getMeta, [name]);
    return row && new Uint8Array(row.value);
  }

  async putMetaIfAbsent(name: string, value: Uint8Array): Promise<boolean> {
    return (await this.#exec(Q.insertMeta, [name, Buffer.from(value)])).rowCount === 1;
  }

  async replaceMeta(name: string, expected: Uint8Array, next: Uint8Array): Promise<boolean> {
    return (await this.#exec(Q.replaceMeta, [Buffer.from(next), name, Buffer.from(expected)])).rowCount === 1;
  }

  async rewrapKeyVersion(keyId: string, version: number, expected: Uint8Array, next: Uint8Array): Promise<boolean> {
    return (await this.#exec(Q.rewrapVersion, [Buffer.from(next), keyId, version, Buffer.from(expected)])).rowCount === 1;
  }

  async rewrapAccessKeySecret(accessKeyId: string, expected: Uint8Array, next: Uint8Array): Promise<boolean> {
    return (await this.#exec(Q.rewrapAccessKey, [Buffer.from(next), accessKeyId, Buffer.from(expected)])).rowCount === 1;
  }

  /**
   * Turns within this node first (so it holds at most one connection per name), then a blocking
   * advisory lock for the other nodes, held by a transaction of its own on a dedicated connection
   * while `fn` runs (on other connections). A transaction's lock, not the session's: should this
   * node freeze while holding it, PostgreSQL ends the idle transaction (IDLE_IN_TRANSACTION_MS) and
   * the other nodes go on. While this node runs, a statement every fifth of that keeps the lock's
   * transaction from idling, however long `fn` waits (on another node's audit head, say). And
   * every transaction `fn` runs checks the lock is still held (#assertTurnHeld) first and again
   * just before its COMMIT: a node that was frozen past the limit and runs again has lost its turn,
   * and writes nothing more in it, even a write that was waiting on a row lock meanwhile.
   */
  serialize<T>(name: string, fn: () => Promise<T>): Promise<T> {
    return this.#turns.run(name, async () => {
      const { client, release } = await this.#checkout();
      let broken = false;
      try {
        let pid: number;
        try {
          await client.query('BEGIN');
          await client.query(`SET LOCAL idle_in_transaction_session_timeout = ${Math.round(this.#idleInTransactionMs * LOCK_IDLE_FACTOR)}`);
          const { rows } = await client.query<{ pid: number }>(
            'SELECT pg_advisory_xact_lock($1, hashtext($2)), pg_backend_pid() AS pid', [SERIALIZE_LOCK_CLASS, name]);
          pid = rows[0]!.pid;
        } catch (error) {
          broken = true;
          return unavailable(error);
        }
        const heartbeat = setInterval(() => {
          // A failure here is the session's end, which the fence and the COMMIT below find.
          client.query('SELECT 1').catch(() => {});
        }, this.#idleInTransactionMs / 5);
        heartbeat.unref();
        try {
          return await this.#turn.run({ pid, name }, fn);
        } finally {
          clearInterval(heartbeat);
          await client.query('COMMIT').catch(() => {
            // Closing the session ends the transaction, and with it the lock.
            broken = true;
          });
        }
      } finally {
        release(broken);
      }
    });
  }

  /**
   * Refuses to write in a serialize() turn whose lock is no longer held (its session ended: this
   * node was frozen past its limit): another node may have taken the turn since, and this one's
   * checks were made before it. Read in the writing transaction itself, at its start and right
   * before its COMMIT: a node that freezes after the second read leaves that transaction idle,
   * and it ends (LOCK_IDLE_FACTOR) before the lock does.
   */
  async #assertTurnHeld(client: PoolClient, turn: Turn): Promise<void> {
    const { rows } = await client.query<{ held: boolean }>({ name: Q.turnHeld.name, text: Q.turnHeld.text, values: [turn.pid, SERIALIZE_LOCK_CLASS, turn.name] });
    if (!rows[0]?.held) {
      throw new StoreUnavailableError(`This node lost its turn for ${turn.name} (it did not run for longer than the store allows a transaction to idle): nothing was written.`);
    }
  }

  /**
   * A session-level advisory lock, held on one dedicated connection while `fn` runs, so at most
   * one node runs `fn` at a time. If that connection drops, PostgreSQL releases the lock and
   * another node may start the same work: callers keep their work safe to repeat (the scheduler
   * deletes idempotently and rotates by compare-and-set).
   */
  async runExclusive(name: string, fn: () => Promise<void>): Promise<boolean> {
    const { client, release } = await this.#checkout();
    let broken = false;
    try {
      const { rows } = await client.query<{ locked: boolean }>(
        'SELECT pg_try_advisory_lock($1, hashtext($2)) AS locked', [EXCLUSIVE_LOCK_CLASS, name]);
      if (!rows[0]?.locked) return false;
      try {
        await fn();
      } finally {
        await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [EXCLUSIVE_LOCK_CLASS, name]).catch(() => {
          // Closing the session releases the lock.
          broken = true;
        });
      }
      return true;
    } catch (error) {
      if (isStoreUnavailable(error)) broken = true;
      return unavailable(error);
    } finally {
      release(broken);
    }
  }

  /**
   * One REPEATABLE READ, READ ONLY transaction on a connection of its own, read table by table
   * through a cursor, SNAPSHOT_PAGE rows at a time: a consistent snapshot in bounded memory,
   * without blocking writers.
   */
  async *exportSnapshot(): AsyncIterable<SnapshotRow> {
    const { client, release } = await this.#checkout();
    let open = false;
    let broken = false;
    try {
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      open = true;
      // Between pages the transaction waits on the backup's writer (a slow disk, a pipe): it is idle, not stuck.
      await client.query('SET LOCAL idle_in_transaction_session_timeout = 0');
      for (const [sql, toRow] of SNAPSHOT_TABLES) {
        await client.query(`DECLARE coffer_snapshot NO SCROLL CURSOR FOR ${sql}`);
        for (;;) {
          const { rows } = await client.query(`FETCH ${SNAPSHOT_PAGE} FROM coffer_snapshot`);
          for (const row of rows) {
            yield toRow(row);
          }
          if (rows.length < SNAPSHOT_PAGE) break;
        }
        await client.query('CLOSE coffer_snapshot');
      }
      await client.query('COMMIT');
      open = false;
    } catch (error) {
      broken = isStoreUnavailable(error);
      return unavailable(error);
    } finally {
      // Also reached when the consumer stops early (the iterator's return()).
      if (open) await client.query('ROLLBACK').catch(() => { broken = true; });
      release(broken);
    }
  }

  async importSnapshot(rows: AsyncIterable<SnapshotRow>): Promise<{ rows: number }> {
    return this.#transaction(async (client) => {
      // Between rows the transaction waits on the backup's reader (decrypting, a slow source).
      await client.query('SET LOCAL idle_in_transaction_session_timeout = 0');
      const { rows: held } = await client.query<{ what: string }>(`
        SELECT 'keys' AS what WHERE EXISTS (SELECT 1 FROM keys) UNION ALL
        SELECT 'key versions' WHERE EXISTS (SELECT 1 FROM key_versions) UNION ALL
        SELECT 'aliases' WHERE EXISTS (SELECT 1 FROM aliases) UNION ALL
        SELECT 'principals' WHERE EXISTS (SELECT 1 FROM principals) UNION ALL
        SELECT 'identity policies' WHERE EXISTS (SELECT 1 FROM identity_policies) UNION ALL
        SELECT 'access keys' WHERE EXISTS (SELECT 1 FROM access_keys) UNION ALL
        SELECT 'grants' WHERE EXISTS (SELECT 1 FROM grants) UNION ALL
        SELECT 'audit records' WHERE EXISTS (SELECT 1 FROM audit) OR EXISTS (SELECT 1 FROM audit_head WHERE seq > 0) UNION ALL
        SELECT 'meta ' || name FROM meta WHERE name NOT LIKE 'root-%' AND name <> '${RESTORE_UNFINISHED_META}'`);
      if (held.length > 0) throw new StoreNotEmptyError(`the store is not empty: it holds ${held.map((r) => r.what).join(', ')}`);
      let count = 0;
      // Rows arrive grouped by kind: each run of a kind is written SNAPSHOT_PAGE rows a statement.
      let batch: SnapshotRow[] = [];
      const flush = async () => {
        if (batch.length > 0) await this.#importBatch(client, batch);
        batch = [];
      };
      let heads = 0;
      for await (const row of rows) {
        count++;
        // The head is one row, written as given: a second would silently replace the first.
        if (row.kind === 'auditHead' && ++heads > 1) throw new Error('the snapshot holds the audit head twice');
        if (batch.length >= SNAPSHOT_PAGE || (batch[0] !== undefined && batch[0].kind !== row.kind)) await flush();
        batch.push(row);
      }
      await flush();
      // A store filled is no longer one a restore left unfinished: cleared in the same commit.
      if (count > 0) await this.#exec(Q.deleteMeta, [RESTORE_UNFINISHED_META], client);
      return { rows: count };
    });
  }

  /** Rows of one kind, in one statement (unnest of one array per column). */
  async #importBatch(client: PoolClient, rows: readonly SnapshotRow[]): Promise<void> {
    const kind = rows[0]!.kind;
    if (kind === 'audit') {
      await this.#importAudit(client, rows.map((r) => (r as RowOf<'audit'>).record));
      return;
    }
    if (kind === 'auditHead') {
      const head = rows[rows.length - 1] as RowOf<'auditHead'>;
      await this.#exec(Q.putAuditHead, [head.seq, head.hash], client);
      return;
    }
    // One kind's entry, seen as taking any row: the batch holds rows of that kind only.
    const bulk = BULK_IMPORT[kind] as { table: string; columns: string; types: readonly string[]; values: (row: SnapshotRow) => unknown[] };
    const columns: unknown[][] = bulk.types.map(() => []);
    for (const row of rows) bulk.values(row).forEach((value, i) => columns[i]!.push(value));
    const unnest = bulk.types.map((type, i) => `$${i + 1}::${type}[]`).join(', ');
    await this.#exec(named(`import_${kind}`, `INSERT INTO ${bulk.table} (${bulk.columns}) SELECT * FROM unnest(${unnest})`), columns, client);
  }

  /** Stored records as given (seq and hash kept), with their key index and last use, as #appendInTransaction keeps them. */
  async #importAudit(client: PoolClient, records: readonly AuditRecord[]): Promise<void> {
    const { columns, keyArns, keySeqs, uses } = auditArrays(records);
    await this.#exec(Q.insertAudit, columns, client);
    if (keyArns.length) await this.#exec(Q.insertAuditKeys, [keyArns, keySeqs], client);
    if (uses.length) {
      await this.#exec(Q.putLastUse, [uses.map((u) => u[0]), uses.map((u) => u[1]), uses.map((u) => u[2])], client);
    }
  }

  /**
   * Writes what is pending, then closes the pool. Connections still in use (a statement the
   * database has not answered) are waited for CLOSE_WAIT_MS at most: a frozen database must not
   * keep the process from exiting.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#flushing;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((done) => { timer = setTimeout(done, CLOSE_WAIT_MS); });
    try {
      await Promise.race([this.#pool.end(), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }
}

/**
 * Chained records (in seq order) as the column arrays the audit statements unnest: the records,
 * their key index, and each key's last use per operation (one row each: a batch may use a key
 * twice, and later records win).
 */
function auditArrays(records: readonly AuditRecord[]) {
  const columns: [number[], number[], (string | null)[], (string | null)[], string[], string[]] = [[], [], [], [], [], []];
  const keyArns: string[] = [];
  const keySeqs: number[] = [];
  const lastUse = new Map<string, [arn: string, operation: string, seq: number]>();
  for (const record of records) {
    columns[0].push(record.seq);
    columns[1].push(record.time);
    columns[2].push(record.principalArn ?? null);
    columns[3].push(record.operation ?? null);
    columns[4].push(record.outcome);
    columns[5].push(JSON.stringify(record));
    for (const arn of new Set(record.keyArns)) {
      keyArns.push(arn);
      keySeqs.push(record.seq);
      if (record.outcome === 'success' && record.operation !== undefined) lastUse.set(`${arn}\n${record.operation}`, [arn, record.operation, record.seq]);
    }
  }
  return { columns, keyArns, keySeqs, uses: [...lastUse.values()] };
}

/** Coffer's tables (postgres-migrations.ts): other tables of the schema are other applications'. */
const STORE_TABLES = [
  'keys', 'key_versions', 'aliases', 'principals', 'identity_policies', 'access_keys', 'grants',
  'audit', 'audit_keys', 'key_last_use', 'audit_head', 'meta', 'schema_migrations',
];

/**
 * Whether the schema PostgreSQL resolves unqualified names in (as the migrations do) has tables
 * only Coffer makes: `schema_migrations` alone is no sign, as other tools name theirs so too.
 */
async function hasCofferSchema(client: PoolClient): Promise<boolean> {
  const { rows } = await client.query<{ present: boolean }>(
    "SELECT to_regclass('audit_head') IS NOT NULL AND to_regclass('key_versions') IS NOT NULL AS present");
  return rows[0]?.present === true;
}

/**
 * Triggers and rules on the store's tables, described, or undefined. Coffer's schema has none; one
 * could delete or rewrite audit records (and move the head back) as they are written. Tables of
 * other applications in the same schema are theirs to hook.
 */
async function foreignTriggers(client: PoolClient): Promise<string | undefined> {
  const { rows } = await client.query<{ kind: string; name: string; relation: string }>(`
    SELECT 'trigger' AS kind, t.tgname AS name, c.relname AS relation FROM pg_trigger t
      JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE NOT t.tgisinternal AND n.nspname = current_schema() AND c.relname = ANY($1::text[])
    UNION ALL
    SELECT 'rule', rulename, tablename FROM pg_rules WHERE schemaname = current_schema() AND tablename = ANY($1::text[])
    ORDER BY 2`, [STORE_TABLES]);
  if (rows.length === 0) return undefined;
  return `holds ${rows.map((r) => `the ${r.kind} ${JSON.stringify(r.name)} on ${r.relation}`).join(', ')}`;
}
