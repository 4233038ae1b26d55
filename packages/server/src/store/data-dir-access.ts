import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { StartupError } from '../root/root-key.js';

/**
 * The data directory, made if it is missing, for a server to serve from. What the system refuses
 * (another user's directory, a read-only file system) is said with the directory and the system's
 * reason, before SQLite opens a file in it: SQLite says only "unable to open database file", and
 * a recursive mkdir under a read-only mount says ENOENT.
 */
export function prepareDataDirectory(dataDir: string): void {
  try {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  } catch (error) {
    // One that exists, or may, behind a directory this user may not enter is said as such.
    assertDirectoryUsable(dataDir, 'write');
    throw new StartupError(`The data directory ${dataDir} could not be made (${messageOf(error)}): is its disk read-only, `
      + 'or is a directory above it not this user\'s to write? Make it, or give another --data-dir.', { cause: error });
  }
  assertDirectoryUsable(dataDir, 'write');
}

/**
 * Refuses a data directory this process may not use: for `write` (a server) read, write and enter
 * it; for `read` (the tools that read a store: store check, audit verify, backup) read and enter
 * it. Only the system's refusals (EACCES, EPERM, EROFS) are said here: a path that does not exist,
 * or is not a directory, passes, and the caller says what is wrong with it.
 */
export function assertDirectoryUsable(dataDir: string, use: 'read' | 'write'): void {
  try {
    // A file has no search permission to ask about: access() would call it another user's.
    if (!statSync(dataDir).isDirectory()) return;
    accessSync(dataDir, constants.R_OK | constants.X_OK | (use === 'write' ? constants.W_OK : 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EROFS') return;
    throw new StartupError(`The data directory ${dataDir} cannot be ${use === 'write' ? 'served from' : 'read'} (${messageOf(error)}): `
      + (code === 'EROFS'
        ? 'its file system is read-only. Mount it read-write, or give another --data-dir.'
        : code === 'EACCES' && isOwnedByThisUser(dataDir)
          ? `its mode does not let its owner, this user, ${use === 'write' ? 'read, write and enter' : 'read and enter'} it. `
            + `Fix it (chmod u+${use === 'write' ? 'rwx' : 'rx'} ${shellQuoted(dataDir)}), or give another --data-dir.`
          : 'it is not this user\'s to use. Run Coffer as the user that owns it, or fix its permissions.'), { cause: error });
  }
}

/** `text` as one word for a POSIX shell: as is when it holds nothing the shell reads, else in single quotes. */
const shellQuoted = (text: string): string => (/^[\w./:@%+=,-]+$/.test(text) ? text : `'${text.replaceAll("'", "'\\''")}'`);

/** Whether this process's user owns `path` (false when that cannot be told). */
export function isOwnedByThisUser(path: string): boolean {
  try {
    return process.getuid !== undefined && statSync(path).uid === process.getuid();
  } catch {
    return false;
  }
}

const messageOf = (error: unknown): string => (error instanceof Error ? error.message : String(error));
