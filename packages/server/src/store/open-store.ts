import { closeSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { ServerConfig } from '../config.js';
import { isPostgresUrl } from './connection-string.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

/**
 * The store a configuration names: PostgreSQL for a `postgres://` connection string (migrated to
 * this server's schema), otherwise the SQLite file `coffer.db` in the data directory.
 */
export async function openStore(config: Pick<ServerConfig, 'store' | 'dataDir'>): Promise<Store> {
  if (isPostgresUrl(config.store)) return PostgresStore.open({ connectionString: config.store });
  const databaseFile = join(config.dataDir, 'coffer.db');
  // Created owner-only before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
  closeSync(openSync(databaseFile, 'a', 0o600));
  return new SqliteStore(databaseFile);
}
