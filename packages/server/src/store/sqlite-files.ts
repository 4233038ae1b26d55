import { statSync, type BigIntStats } from 'node:fs';
import { basename } from 'node:path';

interface OpenedFile {
  readonly path: string;
  readonly dev: bigint;
  readonly ino: bigint;
}

/**
 * Whether a SQLite store's files are still where it opened them: the database, its `-wal` and its
 * `-shm`, each compared by device and inode with what its path names now. SQLite writes through
 * the descriptors it opened, whatever becomes of the paths: a file removed (with its directory or
 * alone), moved away or replaced by a copy takes every later commit with it, where the next start,
 * a backup or `coffer store check` never look (docs/store.md, "When the store's files are removed,
 * moved or replaced"). An unlinked `-shm` also splits SQLite's locks (they are held on it) from
 * those of any other process that opens the store.
 *
 * The database's and the `-shm`'s identities are taken by path, not through a descriptor of our
 * own: closing any descriptor of a file drops every POSIX lock this process holds on it, and SQLite
 * locks those two (server-lock.ts). The `-wal`'s comes from the descriptor the store syncs it
 * through; SQLite locks nothing of that file.
 */
export class SqliteFiles {
  readonly #files: readonly OpenedFile[];

  /** Right after SQLite opened `databasePath` in WAL mode, with its `-wal` and `-shm` in place. */
  constructor(databasePath: string, opened: { readonly wal: BigIntStats }) {
    const identity = (path: string, stats: BigIntStats): OpenedFile => ({ path, dev: stats.dev, ino: stats.ino });
    this.#files = [
      identity(databasePath, statSync(databasePath, { bigint: true })),
      identity(`${databasePath}-wal`, opened.wal),
      identity(`${databasePath}-shm`, statSync(`${databasePath}-shm`, { bigint: true })),
    ];
  }

  /**
   * Why a path no longer names the file the store opened, or undefined while all three do. Three
   * `stat`s on the event loop, ~15 µs after a write: measured, the same three on libuv's pool cost
   * the loop more (a callback, a promise and a BigIntStats each) and add latency
   * (docs/performance.md, "The store files check").
   */
  check(): string | undefined {
    for (const file of this.#files) {
      let stats: BigIntStats | undefined;
      try {
        stats = statSync(file.path, { bigint: true });
      } catch (error) {
        return gone(file, error);
      }
      if (stats.dev !== file.dev || stats.ino !== file.ino) return replaced(file);
    }
    return undefined;
  }
}

// The file's name only: the reason goes to /readyz, which anyone may read.
function gone(file: OpenedFile, error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code ?? 'an error';
  return code === 'ENOENT'
    ? `the store's file ${basename(file.path)} is gone from its directory (removed, or moved with it)`
    : `the store's file ${basename(file.path)} cannot be found at its path (${code})`;
}

function replaced(file: OpenedFile): string {
  return `the store's file ${basename(file.path)} at its path is another file than the one the server opened (replaced, or restored from a copy)`;
}
