import { accessSync, closeSync, constants, existsSync, openSync, statSync } from 'node:fs';
import { StartupError } from '../root/root-key.js';
import { join } from 'node:path';
import type { ServerConfig } from '../config.js';
import { isPostgresUrl } from './connection-string.js';
import { assertDirectoryUsable } from './data-dir-access.js';
import { isDiskFault, sqliteDamageOf } from './disk-fault.js';
import { PostgresStore } from './postgres.js';
import { SqliteStore } from './sqlite.js';
import type { Store } from './store.js';

/**
 * The store a configuration names: PostgreSQL for a `postgres://` connection string (migrated to
 * this server's schema; with `existing`, only a database a Coffer server has used), otherwise the
 * SQLite file `coffer.db` in the data directory.
 */
export async function openStore(config: Pick<ServerConfig, 'store' | 'dataDir'>, { existing = false } = {}): Promise<Store> {
  if (isPostgresUrl(config.store)) return PostgresStore.open({ connectionString: config.store, existing });
  if (existing) return openExistingSqliteStore(config.dataDir);
  const databaseFile = join(config.dataDir, 'coffer.db');
  assertNotOrphaned(config.dataDir, databaseFile);
  try {
    // Created owner-only before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
    closeSync(openSync(databaseFile, 'a', 0o600));
    return new SqliteStore(databaseFile, { beforeCreate: () => assertNoStoreWasMade(config.dataDir, databaseFile) });
  } catch (error) {
    const damage = sqliteDamageOf(error);
    if (damage) throw damaged(databaseFile, damage);
    if (error instanceof StartupError) throw error;
    if (isRefusedAccess(error)) throw notThisUsers(databaseFile, error);
    throw isDiskFault(error) ? diskFault(databaseFile, error) : error;
  }
}

const diskFault = (databaseFile: string, error: unknown): StartupError => new StartupError(
  `The store ${databaseFile} could not be opened (${(error as Error).message}): is its disk full, failing or read-only? `
  + 'Free space or fix the disk, then start again.', { cause: error });

/** Whether the system lets this user make files in `dir` (a read-only mount is a disk's fault, said as such). */
function mayWriteIn(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch (error) {
    return !isRefusedAccess(error);
  }
}

/** The system's refusal of a file to this user: another owner's mode (EACCES), an immutable file (EPERM). */
const isRefusedAccess = (error: unknown): boolean => ['EACCES', 'EPERM'].includes(String((error as { code?: unknown }).code));

const notThisUsers = (databaseFile: string, error: unknown): StartupError => new StartupError(
  `The store ${databaseFile} could not be opened (${(error as Error).message}): it is not this user's to use. `
  + 'Run Coffer as the user that owns it, or fix its permissions.', { cause: error });

/**
 * The SQLite store of a data directory, for the tools that read one (store check, audit verify,
 * backup): a directory without coffer.db, or whose coffer.db holds no table, is not made a store.
 */
export function openExistingSqliteStore(dataDir: string): SqliteStore {
  const databaseFile = join(dataDir, 'coffer.db');
  // Before existsSync, which says false for a file in a directory this user may not enter.
  assertDirectoryUsable(dataDir, 'read');
  if (!existsSync(databaseFile)) throw new StartupError(`${dataDir} holds no Coffer store (no coffer.db): is it the server's --data-dir?`);
  try {
    // SQLite says only "unable to open database file" for a file this user may not read.
    accessSync(databaseFile, constants.R_OK);
  } catch (error) {
    if (isRefusedAccess(error)) throw notThisUsers(databaseFile, error);
  }
  // An empty coffer.db is a copy back that failed, as serve says: SQLite, opening it, would delete
  // the -wal beside it, which may hold the whole store. Refused, for tools that only read too.
  if (statSync(databaseFile).size === 0) {
    assertNothingLeft(dataDir, STORE_COMPANIONS, `${databaseFile} is empty`, 'Put coffer.db back');
    throw new StartupError(`${dataDir} holds no Coffer store (${databaseFile} is empty): is it the server's --data-dir?`);
  }
  try {
    return new SqliteStore(databaseFile, {
      beforeCreate: () => {
        throw new StartupError(`${dataDir} holds no Coffer store (${databaseFile} has no table: a young store keeps everything in coffer.db-wal `
          + 'until SQLite\'s first checkpoint, so is that file missing?). Is it the server\'s --data-dir?');
      },
    });
  } catch (error) {
    const damage = sqliteDamageOf(error);
    if (damage) throw damaged(databaseFile, damage);
    if (error instanceof StartupError) throw error;
    // SQLite opens a store for reading by writing beside it too (its -wal and -shm): a directory
    // this user may not write in refuses that, as a read-only disk does.
    if (/readonly/i.test((error as Error).message) && !mayWriteIn(dataDir)) {
      throw new StartupError(`The store ${databaseFile} could not be opened (${(error as Error).message}): SQLite writes beside a store `
        + `even to read it (its -wal and -shm files), and this user may not write in ${dataDir}. `
        + 'Run this as the user the server runs as, or on a writable copy of the directory.', { cause: error });
    }
    throw isDiskFault(error) ? diskFault(databaseFile, error) : error;
  }
}

const damaged = (databaseFile: string, damage: Error): StartupError => new StartupError(
  `The store ${databaseFile} is damaged (SQLite: ${damage.message}): \`coffer store check\` names what it can; `
  + 'restore the store from a backup (docs/backup.md).', { cause: damage });

/**
 * A coffer.db with no table, beside a root.key or credentials file: the store's tables were lost.
 * A young store keeps everything in its -wal until the first checkpoint (some 4 MB of writes), so
 * coffer.db is only SQLite's first page, and a -wal removed or not copied back leaves exactly this.
 * A start makes root.key and credentials only after the store's tables are committed, so they
 * are never left by a start that stopped half-way.
 */
function assertNoStoreWasMade(dataDir: string, databaseFile: string): void {
  assertNothingLeft(dataDir, ['root.key', 'credentials'],
    `${databaseFile} holds no Coffer store (no table: its -wal, where a young store keeps everything until SQLite's first checkpoint, may be missing)`,
    'Put coffer.db and coffer.db-wal back together');
}

/** What a data directory holds once a SQLite store was made in it, besides coffer.db. */
const STORE_COMPANIONS = ['coffer.db-wal', 'coffer.db-shm', 'root.key', 'credentials'];

/**
 * A data directory that had a store but has lost coffer.db (removed, or not copied back) is not
 * made into a new, empty store: that would lose the old -wal (it may hold every change since the
 * last checkpoint) and write new administrator credentials over the old ones, and under a
 * supervisor that restarts the server it would happen before anyone could look.
 */
function assertNotOrphaned(dataDir: string, databaseFile: string): void {
  // Empty counts as missing: SQLite writes the file's first page as soon as it makes a store
  // (journal_mode = WAL), so an empty coffer.db is a copy or truncation that went wrong.
  const size = existsSync(databaseFile) ? statSync(databaseFile).size : undefined;
  if (size !== undefined && size > 0) return;
  assertNothingLeft(dataDir, STORE_COMPANIONS, `${databaseFile} is ${size === undefined ? 'missing' : 'empty'}`, 'Put coffer.db back');
}

/** Refuses, saying `what` is wrong with coffer.db and how to `putBack`, when any of `companions` says a store was made in `dataDir`. */
function assertNothingLeft(dataDir: string, companions: readonly string[], what: string, putBack: string): void {
  const left = companions.filter((name) => existsSync(join(dataDir, name)));
  if (left.length === 0) return;
  throw new StartupError(`${what}, but ${dataDir} holds ${left.join(', ')}: a store was made here, and opening it would replace it with an empty one. `
    + `${putBack}; or move those files away first, to start a new store here or to restore a backup into it. `
    + '(A data directory of a PostgreSQL store holds root.key and credentials too: give --store.)');
}
