import Database from 'better-sqlite3';
import type { AliasRecord, KeyRecord, KeyVersionRecord } from '../keys/key-record.js';
import type { AccessKeyRecord, Page, Store } from './store.js';

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
CREATE TABLE IF NOT EXISTS access_keys (
  access_key_id TEXT PRIMARY KEY,
  principal_arn TEXT NOT NULL,
  wrapped_secret BLOB NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS meta (
  name TEXT PRIMARY KEY,
  value BLOB NOT NULL
) STRICT;
`;

interface KeyRow { record: string }
interface VersionRow { key_id: string; version: number; material_id: string; wrapped: Buffer; created_at: number; rotation_type: string | null }
interface AliasRow { alias_name: string; target_key_id: string; created_at: number; updated_at: number }
interface AccessKeyRow { access_key_id: string; principal_arn: string; wrapped_secret: Buffer; status: string; created_at: number }

const toKey = (row: KeyRow): KeyRecord => JSON.parse(row.record) as KeyRecord;
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

function keyColumns(key: KeyRecord) {
  return {
    key_id: key.keyId,
    revision: key.revision,
    deletion_date: key.state === 'PendingDeletion' ? (key.deletionDate ?? null) : null,
    next_rotation: key.rotation?.nextRotationDate ?? null,
    record: JSON.stringify(key),
  };
}

function page<T>(rows: T[], limit: number, cursor: (item: T) => string): Page<T> {
  if (rows.length <= limit) return { items: rows };
  const items = rows.slice(0, limit);
  return { items, next: cursor(items[items.length - 1]!) };
}

/**
 * The embedded store: one SQLite file in WAL mode with synchronous=FULL, so a committed
 * transaction survives a crash or power loss before the call returns.
 */
export class SqliteStore implements Store {
  readonly #db: Database.Database;
  readonly #stmt;

  constructor(path: string) {
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('busy_timeout = 5000');
    this.#db.exec(SCHEMA);
    const db = this.#db;
    this.#stmt = {
      insertKey: db.prepare('INSERT INTO keys (key_id, revision, deletion_date, next_rotation, record) VALUES (@key_id, @revision, @deletion_date, @next_rotation, @record)'),
      getKey: db.prepare<[string], KeyRow>('SELECT record FROM keys WHERE key_id = ?'),
      listKeys: db.prepare<[string, number], KeyRow>('SELECT record FROM keys WHERE key_id > ? ORDER BY key_id LIMIT ?'),
      updateKey: db.prepare('UPDATE keys SET revision = @revision, deletion_date = @deletion_date, next_rotation = @next_rotation, record = @record WHERE key_id = @key_id AND revision = @revision - 1'),
      deleteKey: db.prepare('DELETE FROM keys WHERE key_id = ?'),
      deleteVersions: db.prepare('DELETE FROM key_versions WHERE key_id = ?'),
      deleteKeyAliases: db.prepare('DELETE FROM aliases WHERE target_key_id = ?'),
      keysDue: db.prepare<[number, number], KeyRow>('SELECT record FROM keys WHERE deletion_date <= ? OR next_rotation <= ?'),
      insertVersion: db.prepare('INSERT INTO key_versions (key_id, version, material_id, wrapped, created_at, rotation_type) VALUES (@keyId, @version, @materialId, @wrapped, @createdAt, @rotationType)'),
      getVersion: db.prepare<[string, number], VersionRow>('SELECT * FROM key_versions WHERE key_id = ? AND version = ?'),
      listVersions: db.prepare<[string], VersionRow>('SELECT * FROM key_versions WHERE key_id = ? ORDER BY version'),
      insertAlias: db.prepare('INSERT OR IGNORE INTO aliases (alias_name, target_key_id, created_at, updated_at) VALUES (@aliasName, @targetKeyId, @createdAt, @updatedAt)'),
      getAlias: db.prepare<[string], AliasRow>('SELECT * FROM aliases WHERE alias_name = ?'),
      updateAlias: db.prepare('UPDATE aliases SET target_key_id = @targetKeyId, updated_at = @updatedAt WHERE alias_name = @aliasName'),
      deleteAlias: db.prepare('DELETE FROM aliases WHERE alias_name = ?'),
      listAliases: db.prepare<[string, number], AliasRow>('SELECT * FROM aliases WHERE alias_name > ? ORDER BY alias_name LIMIT ?'),
      listKeyAliases: db.prepare<[string, string, number], AliasRow>('SELECT * FROM aliases WHERE target_key_id = ? AND alias_name > ? ORDER BY alias_name LIMIT ?'),
      insertAccessKey: db.prepare('INSERT OR IGNORE INTO access_keys (access_key_id, principal_arn, wrapped_secret, status, created_at) VALUES (@accessKeyId, @principalArn, @wrappedSecret, @status, @createdAt)'),
      getAccessKey: db.prepare<[string], AccessKeyRow>('SELECT * FROM access_keys WHERE access_key_id = ?'),
      getMeta: db.prepare<[string], { value: Buffer }>('SELECT value FROM meta WHERE name = ?'),
      insertMeta: db.prepare('INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)'),
    };
  }

  async createKey(key: KeyRecord, firstVersion: KeyVersionRecord): Promise<void> {
    this.#db.transaction(() => {
      this.#stmt.insertKey.run(keyColumns(key));
      this.#insertVersion(firstVersion);
    })();
  }

  #insertVersion(v: KeyVersionRecord): void {
    this.#stmt.insertVersion.run({
      keyId: v.keyId, version: v.version, materialId: v.materialId,
      wrapped: Buffer.from(v.wrappedMaterial), createdAt: v.createdAt, rotationType: v.rotationType ?? null,
    });
  }

  async getKey(keyId: string): Promise<KeyRecord | undefined> {
    const row = this.#stmt.getKey.get(keyId);
    return row && toKey(row);
  }

  async listKeys(opts: { after?: string; limit: number }): Promise<Page<KeyRecord>> {
    const rows = this.#stmt.listKeys.all(opts.after ?? '', opts.limit + 1).map(toKey);
    return page(rows, opts.limit, (k) => k.keyId);
  }

  async updateKey(next: KeyRecord, newVersion?: KeyVersionRecord): Promise<boolean> {
    return this.#db.transaction(() => {
      if (this.#stmt.updateKey.run(keyColumns(next)).changes !== 1) return false;
      if (newVersion) this.#insertVersion(newVersion);
      return true;
    })();
  }

  async deleteKey(keyId: string): Promise<void> {
    this.#db.transaction(() => {
      this.#stmt.deleteKeyAliases.run(keyId);
      this.#stmt.deleteVersions.run(keyId);
      this.#stmt.deleteKey.run(keyId);
    })();
  }

  async listKeysDue(now: number): Promise<KeyRecord[]> {
    return this.#stmt.keysDue.all(now, now).map(toKey);
  }

  async getKeyVersion(keyId: string, version: number): Promise<KeyVersionRecord | undefined> {
    const row = this.#stmt.getVersion.get(keyId, version);
    return row && toVersion(row);
  }

  async listKeyVersions(keyId: string): Promise<KeyVersionRecord[]> {
    return this.#stmt.listVersions.all(keyId).map(toVersion);
  }

  async createAlias(alias: AliasRecord): Promise<boolean> {
    return this.#stmt.insertAlias.run(alias).changes === 1;
  }

  async getAlias(aliasName: string): Promise<AliasRecord | undefined> {
    const row = this.#stmt.getAlias.get(aliasName);
    return row && toAlias(row);
  }

  async updateAlias(alias: AliasRecord): Promise<boolean> {
    return this.#stmt.updateAlias.run(alias).changes === 1;
  }

  async deleteAlias(aliasName: string): Promise<boolean> {
    return this.#stmt.deleteAlias.run(aliasName).changes === 1;
  }

  async listAliases(opts: { keyId?: string; after?: string; limit: number }): Promise<Page<AliasRecord>> {
    const after = opts.after ?? '';
    const rows = (opts.keyId === undefined
      ? this.#stmt.listAliases.all(after, opts.limit + 1)
      : this.#stmt.listKeyAliases.all(opts.keyId, after, opts.limit + 1)).map(toAlias);
    return page(rows, opts.limit, (a) => a.aliasName);
  }

  async createAccessKey(record: AccessKeyRecord): Promise<boolean> {
    return this.#stmt.insertAccessKey.run({ ...record, wrappedSecret: Buffer.from(record.wrappedSecret) }).changes === 1;
  }

  async getAccessKey(accessKeyId: string): Promise<AccessKeyRecord | undefined> {
    const row = this.#stmt.getAccessKey.get(accessKeyId);
    return row && {
      accessKeyId: row.access_key_id, principalArn: row.principal_arn,
      wrappedSecret: new Uint8Array(row.wrapped_secret), status: row.status as AccessKeyRecord['status'],
      createdAt: row.created_at,
    };
  }

  async getMeta(name: string): Promise<Uint8Array | undefined> {
    const row = this.#stmt.getMeta.get(name);
    return row && new Uint8Array(row.value);
  }

  async putMetaIfAbsent(name: string, value: Uint8Array): Promise<boolean> {
    return this.#stmt.insertMeta.run(name, Buffer.from(value)).changes === 1;
  }

  async close(): Promise<void> {
    if (this.#db.open) this.#db.close();
  }
}
