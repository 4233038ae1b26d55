import { accessSync, chmodSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { StartupError } from '../root/root-key.js';
import { isDiskFault } from './disk-fault.js';

/** The file a serving process holds locked, beside `coffer.db`. */
export const SERVER_LOCK_FILE = 'server.lock';

/** A data directory held by this process until `release`. */
export interface ServerLock {
  release(): void;
}

/**
 * Holds a SQLite data directory for one serving process. SQLite itself lets several processes
 * share `coffer.db`, but a server's exclusions (scheduled deletions and rotations, administration
 * changes taking turns: docs/store.md) hold within its own process only, so a second server on the
 * same directory could, say, leave both of the root account's access keys switched off. Backups and
 * `coffer store check` open the store without this lock and may run beside a server.
 *
 * The lock is SQLite's own exclusive lock on a file of its own (an OS byte-range lock that the
 * kernel drops when the process ends, however it ends: no stale lock after a crash), kept for the
 * connection's life by `locking_mode = EXCLUSIVE`. It is refused to a second holder in another
 * process and in this one alike.
 */
export function lockDataDirectory(dataDir: string): ServerLock {
  // Two starts at one moment can each take SQLite's shared lock on the way to the exclusive one,
  // and each be refused for the other's: neither would serve. A refusal is tried again for a
  // moment, by which time the other has either let go (refused) or holds the lock (serving).
  // A lock this process holds is held for good: refused at once, the process not held up.
  const held = resolve(dataDir);
  const giveUpAt = performance.now() + (heldHere.has(held) ? 0 : LOCK_RETRY_MS);
  for (;;) {
    try {
      const lock = lockOnce(dataDir);
      heldHere.add(held);
      return { release: () => { heldHere.delete(held); lock.release(); } };
    } catch (error) {
      if (!(error instanceof HeldElsewhere) || performance.now() >= giveUpAt) throw error instanceof HeldElsewhere ? error.refusal : error;
      Atomics.wait(SLEEPER, 0, 0, 10 + Math.random() * 30);
    }
  }
}

/** The data directories this process holds (by path as given, resolved). */
const heldHere = new Set<string>();

/** How long a start tries again to lock a data directory another process has locked. */
const LOCK_RETRY_MS = 1_000;
const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** The lock was refused: another process (or connection) holds it, for now or for good. */
class HeldElsewhere extends Error {
  constructor(readonly refusal: StartupError) {
    super(refusal.message);
  }
}

function lockOnce(dataDir: string): ServerLock {
  const path = join(dataDir, SERVER_LOCK_FILE);
  // Not opened with node:fs, not even to set its mode: closing any descriptor of a file drops every
  // POSIX lock the process holds on it, so a refused second start in this process would free the
  // first server's lock. The file holds nothing; its mode is set by path once it exists.
  let db: Database.Database;
  try {
    db = new Database(path, { timeout: 0 });
  } catch (error) {
    throw unopenable(path, error);
  }
  try {
    chmodSync(path, 0o600);
    db.pragma('locking_mode = EXCLUSIVE');
    db.exec('BEGIN EXCLUSIVE; COMMIT');
  } catch (error) {
    db.close();
    if ((error as { code?: unknown }).code === 'SQLITE_BUSY') {
      throw new HeldElsewhere(new StartupError(
        `Another Coffer server is serving the data directory ${dataDir} (it holds ${SERVER_LOCK_FILE}). ` +
        'One server process serves a SQLite store; stop the other one, or give this one another --data-dir. ' +
        '(Several nodes share one store with PostgreSQL: docs/operations.md.)'));
    }
    throw unopenable(path, error);
  }
  return { release: () => { if (db.open) db.close(); } };
}

/**
 * The lock file could not be opened or locked. SQLite says only "unable to open database file"
 * for a file this user may not write, so the system is asked why; a disk that refuses or fails is
 * said as the store's own file is (open-store.ts).
 */
function unopenable(path: string, error: unknown): Error {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (refusal) {
    const code = (refusal as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      return new StartupError(`The data directory's lock file ${path} could not be opened (${(refusal as Error).message}): it is not this user's to use. `
        + 'Run Coffer as the user that owns it, or fix its permissions.', { cause: error });
    }
  }
  if (!isDiskFault(error)) return error as Error;
  return new StartupError(`The data directory's lock file ${path} could not be opened (${(error as Error).message}): is its disk full, failing or read-only? `
    + 'Free space or fix the disk, then start again.', { cause: error });
}
