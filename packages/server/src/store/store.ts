import type { AuditEvent, AuditRecord, UnreadableAuditRecord } from '../audit/record.js';
import type { GrantRecord } from '../grants/grant-record.js';
import type { AliasRecord, KeyRecord, KeyVersionRecord } from '../keys/key-record.js';
import type { IdentityPolicyRecord, PrincipalKind, PrincipalRecord } from '../principals/principal-record.js';

/** An access key as stored: the secret only wrapped by the root key. */
export interface AccessKeyRecord {
  readonly accessKeyId: string;
  readonly principalArn: string;
  readonly wrappedSecret: Uint8Array;
  readonly status: 'Active' | 'Inactive';
  readonly createdAt: number;
}

/**
 * One stored row, as `exportSnapshot` yields it and `importSnapshot` takes it: the store's records
 * exactly as kept (wrapped values still wrapped), so a round trip between two stores is lossless.
 * The audit head is a row of its own because it is kept apart from the records. docs/store.md,
 * "Snapshots".
 */
export type SnapshotRow =
  | { readonly kind: 'key'; readonly key: KeyRecord }
  | { readonly kind: 'keyVersion'; readonly version: KeyVersionRecord }
  | { readonly kind: 'alias'; readonly alias: AliasRecord }
  | { readonly kind: 'principal'; readonly principal: PrincipalRecord }
  | { readonly kind: 'identityPolicy'; readonly policy: IdentityPolicyRecord }
  | { readonly kind: 'accessKey'; readonly accessKey: AccessKeyRecord }
  | { readonly kind: 'grant'; readonly grant: GrantRecord }
  | { readonly kind: 'audit'; readonly record: AuditRecord }
  | { readonly kind: 'auditHead'; readonly seq: number; readonly hash: string }
  | { readonly kind: 'meta'; readonly name: string; readonly value: Uint8Array };

export type SnapshotRowKind = SnapshotRow['kind'];

/**
 * What a change of an alias or grant needs of its key, checked in the change's own transaction
 * (on PostgreSQL with the key's row locked until it commits): a check made before the write could
 * be overtaken by a ScheduleKeyDeletion or DisableKey committed meanwhile, on any node. When the
 * key is gone or `holds` is false, the change throws KeyConditionFailedError and writes nothing.
 */
export interface KeyCondition {
  readonly keyId: string;
  readonly holds: (key: KeyRecord) => boolean;
}

export interface Page<T> {
  readonly items: T[];
  /** Present when more items follow: pass it as `after` to read the next page. */
  readonly next?: string;
}

/** Turns an audit event into the next record of the chain, inside the store's transaction. */
export type AuditChainer = (event: AuditEvent, seq: number, prevHash: string) => AuditRecord;

export interface AuditQuery {
  /** Epoch ms, inclusive. */
  readonly from?: number;
  /** Epoch ms, exclusive. */
  readonly to?: number;
  readonly principalArn?: string;
  readonly keyArn?: string;
  readonly operation?: string;
  /** `success`, `failure` (any error), or one error name. */
  readonly outcome?: string;
  /** Records older than this seq, for the next page. */
  readonly beforeSeq?: number;
  readonly limit: number;
}

/**
 * Where Coffer keeps its state. Every method is atomic; a resolved promise means the change is
 * durable. The semantics every backend must show are in docs/store.md and proven by the shared
 * conformance suite in conformance.ts.
 *
 * Every method that changes state takes an optional audit event: the store appends it to the
 * audit chain in the same transaction as the change, and only if the change is made. A request
 * that changes nothing records its event with `appendAudit`.
 */
export interface Store {
  /**
   * Set once the store can no longer promise that what it writes is durable (SQLite: a sync of its
   * write-ahead log failed, or its files were removed, moved or replaced under it); every write
   * fails with StoreUnusableError from then on, and /readyz reports this reason.
   */
  readonly unusableReason?: string | undefined;
  /**
   * Creates a key with its first backing-key version, or with none (a key of imported material,
   * pending import; its first version comes with updateKey). Throws if the key id exists.
   */
  createKey(key: KeyRecord, firstVersion: KeyVersionRecord | undefined, audit?: AuditEvent): Promise<void>;
  getKey(keyId: string): Promise<KeyRecord | undefined>;
  /** Keys in key-id order, the first after `after`. */
  listKeys(opts: { after?: string; limit: number }): Promise<Page<KeyRecord>>;
  /**
   * The ids of listKeys's page, without reading the records: ListKeys answers ids only, and a
   * record can be ~30 KB (an 8 KiB description, 50 tags), so a page of 1000 whole records cost a
   * caller's request tens of megabytes of the server's heap.
   */
  listKeyIds(opts: { after?: string; limit: number }): Promise<Page<string>>;
  /**
   * Compare-and-set: stores `next` only if the stored record's revision is `next.revision - 1`,
   * together with `newVersion` when given (rotation). Returns false when another writer won.
   */
  updateKey(next: KeyRecord, newVersion?: KeyVersionRecord, audit?: AuditEvent): Promise<boolean>;
  /**
   * Removes the key, all its versions, its grants and all aliases that point at it. With
   * `revision`, only if the stored record is at that revision (a compare-and-set, as updateKey):
   * otherwise it changes nothing, appends no audit event and returns false.
   */
  deleteKey(keyId: string, audit?: AuditEvent, revision?: number): Promise<boolean>;
  /** Keys whose deletion date or automatic-rotation date is at or before `now` (epoch ms). */
  listKeysDue(now: number): Promise<KeyRecord[]>;
  /** How many keys are in each key state; states without keys are absent. For the `coffer_keys` metric. */
  countKeysByState(): Promise<Record<string, number>>;
  /** How many keys the store holds, of every state (CreateKey's quota counts them all). */
  countKeys(): Promise<number>;

  getKeyVersion(keyId: string, version: number): Promise<KeyVersionRecord | undefined>;
  /** All versions of a key, oldest first. */
  listKeyVersions(keyId: string): Promise<KeyVersionRecord[]>;

  /** Returns false if an alias of that name exists. */
  createAlias(alias: AliasRecord, audit?: AuditEvent, keyCondition?: KeyCondition): Promise<boolean>;
  getAlias(aliasName: string): Promise<AliasRecord | undefined>;
  /** Returns false if no alias of that name exists. */
  updateAlias(alias: AliasRecord, audit?: AuditEvent, keyCondition?: KeyCondition): Promise<boolean>;
  /** Returns false if no alias of that name exists. */
  deleteAlias(aliasName: string, audit?: AuditEvent): Promise<boolean>;
  /** Aliases in name order, the first after `after`, optionally only those of one key. */
  listAliases(opts: { keyId?: string; after?: string; limit: number }): Promise<Page<AliasRecord>>;

  /** Returns false if a principal with that ARN exists. */
  createPrincipal(principal: PrincipalRecord, audit?: AuditEvent): Promise<boolean>;
  getPrincipal(arn: string): Promise<PrincipalRecord | undefined>;
  /** Principals in ARN order, optionally of one kind. */
  listPrincipals(opts: { kind?: PrincipalKind; after?: string; limit: number }): Promise<Page<PrincipalRecord>>;
  /** Removes the principal with its access keys and identity policies; false if there was none. */
  deletePrincipal(arn: string, audit?: AuditEvent): Promise<boolean>;

  /** Creates or replaces the principal's policy of that name. */
  putIdentityPolicy(policy: IdentityPolicyRecord, audit?: AuditEvent): Promise<void>;
  getIdentityPolicy(principalArn: string, policyName: string): Promise<IdentityPolicyRecord | undefined>;
  /** The principal's policies in name order. */
  listIdentityPolicies(principalArn: string): Promise<IdentityPolicyRecord[]>;
  deleteIdentityPolicy(principalArn: string, policyName: string, audit?: AuditEvent): Promise<boolean>;

  /** Returns false if that access key id exists. */
  createAccessKey(record: AccessKeyRecord, audit?: AuditEvent): Promise<boolean>;
  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined>;
  listAccessKeys(principalArn: string): Promise<AccessKeyRecord[]>;
  /** The owners of access keys that are not principals (account roots, of any account id), sorted: a root-key rotation re-wraps their keys too. */
  listAccessKeyOwnersWithoutPrincipal(): Promise<string[]>;
  updateAccessKeyStatus(accessKeyId: string, status: AccessKeyRecord['status'], audit?: AuditEvent): Promise<boolean>;
  deleteAccessKey(accessKeyId: string, audit?: AuditEvent): Promise<boolean>;

  createGrant(grant: GrantRecord, audit?: AuditEvent, keyCondition?: KeyCondition): Promise<void>;
  getGrant(grantId: string): Promise<GrantRecord | undefined>;
  /** The key's grants of that name, for CreateGrant's idempotency. */
  findGrantsByName(keyId: string, name: string): Promise<GrantRecord[]>;
  /** How many grants the key has (CreateGrant's quota). */
  countGrants(keyId: string): Promise<number>;
  /** A key's grants in grant-id order, or only those whose grantee is `granteePrincipal`. */
  listGrants(opts: { keyId: string; granteePrincipal?: string; after?: string; limit: number }): Promise<Page<GrantRecord>>;
  /** Grants with this retiring principal, over all keys, in grant-id order. */
  listRetirableGrants(opts: { retiringPrincipal: string; after?: string; limit: number }): Promise<Page<GrantRecord>>;
  deleteGrant(grantId: string, audit?: AuditEvent): Promise<boolean>;

  /** Sets how audit events become chained records; the store cannot append audit events before. */
  attachAuditChain(chain: AuditChainer): void;
  /** Appends an event of a request that changed nothing. Resolves once it is durable. */
  appendAudit(event: AuditEvent): Promise<void>;
  /** Records in seq order, the first after `afterSeq`. */
  readAudit(opts: { afterSeq?: number; limit: number }): Promise<AuditRecord[]>;
  /** The last record written: kept apart from the records, so removing the newest is seen. */
  getAuditHead(): Promise<{ seq: number; hash: string } | undefined>;
  /**
   * What queries filter on, which the chain does not cover: the columns of the records after
   * `afterSeq` (seq order, at most `limit`), and which of `keys` ([key ARN, seq] pairs) the key
   * index holds, as `${seq} ${arn}`. The audit check holds them to the records (audit/verify-trail.ts).
   */
  readAuditIndex(opts: { afterSeq: number; limit: number; keys: readonly (readonly [string, number])[] }): Promise<AuditIndex>;
  /** Matching records, newest first; a stored record that does not parse is given in its place as unreadable. */
  queryAudit(query: AuditQuery): Promise<(AuditRecord | UnreadableAuditRecord)[]>;
  /**
   * The newest successful record that names this key and is of one of these operations, for
   * GetKeyLastUsage. Cheap however long the trail: backends keep the last use per key and operation.
   */
  lastKeyUse(keyArn: string, operations: readonly string[]): Promise<AuditRecord | undefined>;

  /** Small named values the server keeps about itself (the root-key check). */
  getMeta(name: string): Promise<Uint8Array | undefined>;
  /** Sets a value only if none is set; returns false otherwise. */
  putMetaIfAbsent(name: string, value: Uint8Array): Promise<boolean>;
  /**
   * Compare-and-set: replaces the value only if the stored one is byte-equal to `expected`;
   * returns false otherwise (another writer won, or there is no value). The root keyring uses it.
   */
  replaceMeta(name: string, expected: Uint8Array, next: Uint8Array): Promise<boolean>;

  /**
   * Compare-and-set of a key version's wrapped material alone (a root-key rotation re-wraps it):
   * only if the stored bytes equal `expected`. Every other column, the KeyMaterialId included,
   * stays as it is. Returns false if the version is gone or holds other bytes.
   */
  rewrapKeyVersion(keyId: string, version: number, expected: Uint8Array, next: Uint8Array): Promise<boolean>;
  /** The same for an access key's wrapped secret. */
  rewrapAccessKeySecret(accessKeyId: string, expected: Uint8Array, next: Uint8Array): Promise<boolean>;

  /**
   * Runs `fn` only if no other holder of `name` runs it at the moment, on this node or (for a
   * shared database) any other; resolves to whether it ran. Scheduled work uses it so that one
   * node does each pass.
   */
  runExclusive(name: string, fn: () => Promise<void>): Promise<boolean>;

  /**
   * Runs `fn` once no other holder of `name` runs it, on this node or (for a shared database) any
   * other, and answers what it answers. Administration changes whose checks read what they then
   * write (the root's last active key, two keys per principal, names unique without regard to
   * case, a principal deleted with its keys) take turns under one name, and so do CreateGrants
   * (a key's quota of grants; one grant per name and parameters) and alias changes (a key's quota
   * of aliases). Callers use a few fixed names: on PostgreSQL each name in use holds a pooled
   * connection while `fn` runs.
   */
  serialize<T>(name: string, fn: () => Promise<T>): Promise<T>;

  /**
   * Every row of the store as one consistent snapshot (a read transaction held while the iterable
   * is consumed), kinds in the order the SnapshotRow union lists them, audit records in seq order.
   * Writers are not blocked; what they commit after the snapshot began is not in it. Memory stays
   * bounded: rows are read in pages. Consume it to the end, or `return()` it, to end the snapshot.
   */
  exportSnapshot(): AsyncIterable<SnapshotRow>;
  /**
   * Writes `rows` (as exportSnapshot yields them) into an empty store in one transaction: all of
   * them, or, if the iterable throws or a row cannot be stored, none. Keeps every id, revision,
   * audit seq, hash and the audit head as given; derives what it keeps beside the audit records
   * (key ARN index, last use). Meta named `root-*` may be present (the target's own root key);
   * anything else there throws StoreNotEmptyError and writes nothing. Nothing else may use the
   * store while it runs.
   */
  importSnapshot(rows: AsyncIterable<SnapshotRow>): Promise<{ rows: number }>;

  close(): Promise<void>;
}

/** A change's KeyCondition did not hold, or its key is gone: nothing was written. */
export class KeyConditionFailedError extends Error {
  override readonly name = 'KeyConditionFailedError';
}

/** importSnapshot was given a store that already holds data. */
export class StoreNotEmptyError extends Error {
  override readonly name = 'StoreNotEmptyError';
}

/** A page of the audit trail's index columns (Store.readAuditIndex). */
export interface AuditIndex {
  readonly rows: readonly { seq: number; time: number; principalArn: string | null; operation: string | null; outcome: string }[];
  readonly keys: ReadonlySet<string>;
}

/**
 * The meta value `coffer restore` sets in its target before it fills it, and removes once the
 * import committed (docs/backup.md). A restore that failed or was killed half-way rolled back and
 * left an empty store with a root key: served, it would be an empty KMS with new administrator
 * credentials (on any node of a PostgreSQL store), and the restore could no longer be run into it.
 * Servers do not start on a store that holds it, `coffer store check` names it, an import into
 * an otherwise empty store is not refused for it, and an import of any rows removes it in its own
 * transaction (so a store filled never keeps it, and one that keeps it was not filled).
 */
export const RESTORE_UNFINISHED_META = 'restore-unfinished';

/**
 * The store cannot be reached or did not answer (a database connection refused, dropped or timed
 * out). Nothing is known to have been committed; the request may be retried. The HTTP layer
 * renders it as a 503 DependencyTimeoutException.
 */
export class StoreUnavailableError extends Error {
  override readonly name = 'StoreUnavailableError';
}

/**
 * The store had no space for the write (SQLite: `SQLITE_FULL`; PostgreSQL: SQLSTATE 53100
 * disk_full): nothing was written, and writes succeed again once space is freed. The HTTP layer
 * renders it as a 500 KMSInternalException that says so: the store answered, it did not time out.
 */
export class StoreFullError extends Error {
  override readonly name = 'StoreFullError';
}

/**
 * The store takes no more writes until the server restarts, because it can no longer promise that
 * what it writes is durable (SQLite: a sync of its write-ahead log failed, or its files are no
 * longer at their paths). `message` is the store's `unusableReason`. The HTTP layer renders it as a
 * 500 KMSInternalException; /readyz answers 503 with the reason.
 */
export class StoreUnusableError extends Error {
  override readonly name = 'StoreUnusableError';
  /**
   * True for the write that found the store unusable: its commit was made, or may have been
   * (into files moved away, or before a sync that failed), so its caller cannot be told it was
   * not. Every write refused afterwards was not made.
   */
  readonly outcomeUnknown: boolean;

  constructor(message: string, options?: ErrorOptions & { outcomeUnknown?: boolean }) {
    super(message, options);
    this.outcomeUnknown = options?.outcomeUnknown ?? false;
  }
}
