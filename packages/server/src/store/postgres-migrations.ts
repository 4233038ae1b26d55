import type { PoolClient } from 'pg';
import { StartupError } from '../root/root-key.js';

/**
 * The PostgreSQL schema, as a numbered list of steps. A step is never edited once released: a
 * change to the schema is a new step at the end. Every server applies the steps it knows and the
 * database lacks, all in one transaction at start, and refuses to start on a database that has
 * steps it does not know (a newer server wrote it). docs/store.md, "PostgreSQL".
 *
 * Text that is sorted or paged on is `COLLATE "C"`, so order is by code point whatever the
 * database's locale (as in SQLite). Times are BIGINT epoch ms; bytes are BYTEA. Records are kept
 * as JSON text (not JSONB, which cannot hold a \u0000 escape and does not keep the text as given).
 */
export const MIGRATIONS: readonly { readonly version: number; readonly description: string; readonly sql: string }[] = [
  {
    version: 1,
    description: 'keys, versions, aliases, principals, identity policies, access keys, grants, audit chain, key last use, meta',
    sql: `
CREATE TABLE keys (
  key_id TEXT COLLATE "C" PRIMARY KEY,
  revision INTEGER NOT NULL,
  deletion_date BIGINT,
  next_rotation BIGINT,
  record TEXT NOT NULL
);
CREATE INDEX keys_deletion ON keys (deletion_date) WHERE deletion_date IS NOT NULL;
CREATE INDEX keys_rotation ON keys (next_rotation) WHERE next_rotation IS NOT NULL;
CREATE TABLE key_versions (
  key_id TEXT COLLATE "C" NOT NULL,
  version INTEGER NOT NULL,
  material_id TEXT NOT NULL,
  wrapped BYTEA NOT NULL,
  created_at BIGINT NOT NULL,
  rotation_type TEXT,
  PRIMARY KEY (key_id, version)
);
CREATE TABLE aliases (
  alias_name TEXT COLLATE "C" PRIMARY KEY,
  target_key_id TEXT COLLATE "C" NOT NULL,
  created_at BIGINT NOT NULL,
  updated_at BIGINT NOT NULL
);
CREATE INDEX aliases_target ON aliases (target_key_id, alias_name);
CREATE TABLE principals (
  arn TEXT COLLATE "C" PRIMARY KEY,
  kind TEXT NOT NULL,
  name TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE TABLE identity_policies (
  principal_arn TEXT COLLATE "C" NOT NULL,
  policy_name TEXT COLLATE "C" NOT NULL,
  document TEXT NOT NULL,
  updated_at BIGINT NOT NULL,
  PRIMARY KEY (principal_arn, policy_name)
);
CREATE TABLE access_keys (
  access_key_id TEXT COLLATE "C" PRIMARY KEY,
  principal_arn TEXT COLLATE "C" NOT NULL,
  wrapped_secret BYTEA NOT NULL,
  status TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX access_keys_principal ON access_keys (principal_arn);
CREATE TABLE grants (
  grant_id TEXT COLLATE "C" PRIMARY KEY,
  key_id TEXT COLLATE "C" NOT NULL,
  name TEXT COLLATE "C",
  grantee TEXT COLLATE "C" NOT NULL,
  retiring TEXT COLLATE "C",
  record TEXT NOT NULL
);
CREATE INDEX grants_key ON grants (key_id, grant_id);
CREATE INDEX grants_retiring ON grants (retiring, grant_id) WHERE retiring IS NOT NULL;
CREATE TABLE audit (
  seq BIGINT PRIMARY KEY,
  time BIGINT NOT NULL,
  principal_arn TEXT,
  operation TEXT,
  outcome TEXT NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX audit_time ON audit (time);
CREATE TABLE audit_keys (
  key_arn TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (key_arn, seq)
);
-- The newest successful use of each key by each operation, kept as records are appended, so
-- GetKeyLastUsage does not scan the trail.
CREATE TABLE key_last_use (
  key_arn TEXT COLLATE "C" NOT NULL,
  operation TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (key_arn, operation)
);
-- The head of the chain: one row, made here so that every appender can lock it (FOR UPDATE).
-- seq 0 means no record has been written.
CREATE TABLE audit_head (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  seq BIGINT NOT NULL,
  hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '${'0'.repeat(64)}');
CREATE TABLE meta (
  name TEXT COLLATE "C" PRIMARY KEY,
  value BYTEA NOT NULL
);
`,
  },
  {
    version: 2,
    description: 'grants by grantee and by name',
    // Finding a caller's grants on a key, and a grant by its Name, read every grant of the key
    // without them: at AWS's 50,000 grants per key, ~70 ms for every request a grant allows.
    sql: `
CREATE INDEX grants_grantee ON grants (key_id, grantee, grant_id);
CREATE INDEX grants_name ON grants (key_id, name, grant_id);
`,
  },
];

/** The schema version this server writes: the last step it knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

/** Advisory-lock class ids (the first of the two int4 keys), "Coff", "Cofg" and "Cofh" in ASCII. */
export const MIGRATION_LOCK = [0x436f6666, 0] as const;
export const EXCLUSIVE_LOCK_CLASS = 0x436f6667;
export const SERIALIZE_LOCK_CLASS = 0x436f6668;

/**
 * Brings the database to this server's schema, in one transaction under a transaction-scoped
 * advisory lock, so that nodes starting together apply each step once. Returns the steps applied.
 * `steps` is for tests (a newer server's list); a server passes nothing.
 */
export async function migrate(client: PoolClient, steps = MIGRATIONS): Promise<number[]> {
  const known = steps[steps.length - 1]?.version ?? 0;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1, $2)', [...MIGRATION_LOCK]);
    await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
      version INTEGER PRIMARY KEY,
      description TEXT NOT NULL,
      applied_at BIGINT NOT NULL
    )`);
    // Another tool's table of the same name (many migration tools make one) is not Coffer's
    // history: read as one, its versions said "a newer Coffer", or skipped Coffer's own tables.
    const { rows: columns } = await client.query<{ name: string }>(
      "SELECT column_name AS name FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = 'schema_migrations'");
    const names = new Set(columns.map((column) => column.name));
    if (!['version', 'description', 'applied_at'].every((name) => names.has(name))) {
      throw new StartupError('The PostgreSQL database has a table schema_migrations that is not Coffer\'s (another application\'s?): '
        + 'give Coffer a database of its own in --store. Nothing was changed.');
    }
    const { rows } = await client.query<{ version: number | null }>('SELECT max(version) AS version FROM schema_migrations');
    const current = rows[0]?.version ?? 0;
    if (current > known) {
      throw new StartupError(
        `The PostgreSQL database is at schema version ${current}, newer than this server's ${known}: ` +
        'a newer Coffer server has written it. Run that version of Coffer (or newer); this server will not use the database.');
    }
    const applied: number[] = [];
    for (const step of steps) {
      if (step.version <= current) continue;
      await client.query(step.sql);
      await client.query('INSERT INTO schema_migrations (version, description, applied_at) VALUES ($1, $2, $3)',
        [step.version, step.description, Date.now()]);
      applied.push(step.version);
    }
    await client.query('COMMIT');
    return applied;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => {});
    throw error;
  }
}
