import type { AliasRecord, KeyRecord, KeyVersionRecord } from '../keys/key-record.js';

/** An access key as stored: the secret only wrapped by the root key. */
export interface AccessKeyRecord {
  readonly accessKeyId: string;
  readonly principalArn: string;
  readonly wrappedSecret: Uint8Array;
  readonly status: 'Active' | 'Inactive';
  readonly createdAt: number;
}

export interface Page<T> {
  readonly items: T[];
  /** Present when more items follow: pass it as `after` to read the next page. */
  readonly next?: string;
}

/**
 * Where Coffer keeps its state. Every method is atomic; a resolved promise means the change is
 * durable. The semantics every backend must show are in docs/store.md and proven by the shared
 * conformance suite in conformance.ts.
 */
export interface Store {
  /** Creates a key with its first backing-key version. Throws if the key id exists. */
  createKey(key: KeyRecord, firstVersion: KeyVersionRecord): Promise<void>;
  getKey(keyId: string): Promise<KeyRecord | undefined>;
  /** Keys in key-id order, the first after `after`. */
  listKeys(opts: { after?: string; limit: number }): Promise<Page<KeyRecord>>;
  /**
   * Compare-and-set: stores `next` only if the stored record's revision is `next.revision - 1`,
   * together with `newVersion` when given (rotation). Returns false when another writer won.
   */
  updateKey(next: KeyRecord, newVersion?: KeyVersionRecord): Promise<boolean>;
  /** Removes the key, all its versions and all aliases that point at it. */
  deleteKey(keyId: string): Promise<void>;
  /** Keys whose deletion date or automatic-rotation date is at or before `now` (epoch ms). */
  listKeysDue(now: number): Promise<KeyRecord[]>;

  getKeyVersion(keyId: string, version: number): Promise<KeyVersionRecord | undefined>;
  /** All versions of a key, oldest first. */
  listKeyVersions(keyId: string): Promise<KeyVersionRecord[]>;

  /** Returns false if an alias of that name exists. */
  createAlias(alias: AliasRecord): Promise<boolean>;
  getAlias(aliasName: string): Promise<AliasRecord | undefined>;
  /** Returns false if no alias of that name exists. */
  updateAlias(alias: AliasRecord): Promise<boolean>;
  /** Returns false if no alias of that name exists. */
  deleteAlias(aliasName: string): Promise<boolean>;
  /** Aliases in name order, the first after `after`, optionally only those of one key. */
  listAliases(opts: { keyId?: string; after?: string; limit: number }): Promise<Page<AliasRecord>>;

  /** Returns false if that access key id exists. */
  createAccessKey(record: AccessKeyRecord): Promise<boolean>;
  getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined>;

  /** Small named values the server keeps about itself (the root-key check). */
  getMeta(name: string): Promise<Uint8Array | undefined>;
  /** Sets a value only if none is set; returns false otherwise. */
  putMetaIfAbsent(name: string, value: Uint8Array): Promise<boolean>;

  close(): Promise<void>;
}
