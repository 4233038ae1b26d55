import { randomBytes } from 'node:crypto';
import { closeSync, createWriteStream, fsyncSync, linkSync, lstatSync, openSync, renameSync, rmdirSync, unlinkSync, type Stats, type WriteStream } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { IoError } from '../usage.js';
import { abandonProgress } from './progress.js';

/**
 * An output file that appears under its final name only once it is complete: the bytes go to
 * `<out>.<random>.partial` (mode 0600, same directory), which is flushed to disk and then given
 * the final name. A failure or SIGINT/SIGTERM/SIGHUP/SIGQUIT removes it; a SIGKILL may leave the `.partial` file
 * behind, but never a file under the final name.
 */
const live = new Set<string>();
/** Directories made for outputs being written: [the deepest, the topmost made], removed on a signal while empty. */
const madeDirectories = new Set<readonly [string, string]>();
let handlersInstalled = false;

/**
 * Removes `dir` and its parents up to and including `top` while they are empty: the directories a
 * command made for an output it then did not write.
 */
export function removeEmptyDirectories(dir: string, top: string): void {
  for (let at = dir; ; at = dirname(at)) {
    try {
      rmdirSync(at);
    } catch {
      return; // not empty (another file of the tree), or already gone
    }
    if (at === top || dirname(at) === at) return;
  }
}

/** Directories made for an output (see removeEmptyDirectories), removed on a signal too; call the result once the output is done. */
export function trackMadeDirectories(dir: string, top: string): () => void {
  const entry = [dir, top] as const;
  madeDirectories.add(entry);
  return () => madeDirectories.delete(entry);
}

/**
 * Removes every partial file of this process on SIGINT, SIGTERM, SIGHUP or SIGQUIT (a closed terminal, a
 * dropped ssh session: the partial file of a decryption holds plaintext), then exits 128 + the
 * signal's number, as the shell reports a process the signal ended.
 */
export function removePartialFilesOnSignals(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    for (const path of live) {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
    live.clear();
    for (const [dir, top] of madeDirectories) removeEmptyDirectories(dir, top);
    abandonProgress();
    process.stderr.write(`${signal}: stopped; the output file being written was removed (files already complete stay)\n`);
    process.exit(code);
  };
  process.once('SIGINT', () => onSignal('SIGINT', 130));
  process.once('SIGTERM', () => onSignal('SIGTERM', 143));
  process.once('SIGHUP', () => onSignal('SIGHUP', 129));
  // Ctrl-\: its default action (a core dump) would leave the partial file, plaintext included.
  process.once('SIGQUIT', () => onSignal('SIGQUIT', 131));
}

/** The longest file name, in bytes, of Linux's common file systems (NAME_MAX). */
const MAX_NAME_BYTES = 255;

/**
 * Refuses an output that exists, before any work: a regular file is replaced only with `--force`;
 * a device, FIFO, symbolic link or directory never is. `shownAs` names it as the user gave it;
 * `elsewhere` is the hint for choosing another output, `tooLong` the one for a name over 255 bytes.
 */
export function refuseExistingOutput(
  path: string, shownAs: string, force: boolean, elsewhere = 'choose another --output', tooLong = 'choose a shorter name',
): void {
  let existing: Stats;
  try {
    existing = lstatSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A directory not made yet hides a name too long for any common file system (ext4, XFS,
    // Btrfs, tmpfs: 255 bytes): it would fail only once the input had been read and sent through KMS.
    const bytes = Buffer.byteLength(basename(path));
    if ((code === 'ENOENT' || code === 'ENAMETOOLONG') && bytes > MAX_NAME_BYTES) {
      throw new IoError(`cannot write '${shownAs}': ENAMETOOLONG (its name is ${bytes} bytes, over ${MAX_NAME_BYTES})`, tooLong);
    }
    // A short name in a path over the system's limit (PATH_MAX): the path is what is too long.
    if (code === 'ENAMETOOLONG') throw new IoError(`cannot write '${shownAs}': ENAMETOOLONG (its path is ${Buffer.byteLength(path)} bytes)`, elsewhere);
    if (code === 'ENOENT') return;
    throw new IoError(`cannot write '${shownAs}': ${code ?? (error as Error).message}`);
  }
  if (!existing.isFile()) throw new IoError(`'${shownAs}' exists and is not a regular file`, elsewhere);
  if (!force) throw new IoError(`'${shownAs}' exists`, 'pass --force to replace it, or choose another --output');
}

export class PartialFile {
  readonly path: string;
  readonly finalPath: string;
  readonly stream: WriteStream;
  readonly #fd: number;
  #closed = false;
  #done = false;

  constructor(finalPath: string) {
    this.finalPath = finalPath;
    this.path = join(dirname(finalPath), `${shortened(basename(finalPath))}.${randomBytes(6).toString('hex')}.partial`);
    // 'wx': never write through a file (or a symlink) that is already there.
    try {
      this.#fd = openSync(this.path, 'wx', 0o600);
    } catch (error) {
      throw new IoError(`cannot write '${this.path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        'check that the output directory exists and is writable');
    }
    live.add(this.path);
    this.stream = createWriteStream('', { fd: this.#fd, autoClose: false });
  }

  /** Flushes the complete file to disk and gives it its final name; refuses to replace a file unless `replace`. */
  commit(replace: boolean): void {
    try {
      fsyncSync(this.#fd);
      this.#closed = true;
      closeSync(this.#fd);
      if (replace) renameSync(this.path, this.finalPath);
      else linkInPlace(this.path, this.finalPath);
    } catch (error) {
      this.abort();
      const code = (error as NodeJS.ErrnoException).code;
      throw new IoError(`cannot write '${this.finalPath}': ${code ?? (error as Error).message}`,
        code === 'EEXIST' ? 'it appeared while the command ran; pass --force to replace it' : undefined);
    }
    live.delete(this.path);
    this.#done = true;
  }

  /** Removes the partial file. */
  abort(): void {
    if (this.#done) return;
    this.#done = true;
    this.stream.destroy();
    if (!this.#closed) {
      this.#closed = true;
      try {
        closeSync(this.#fd);
      } catch {
        // closed already
      }
    }
    try {
      unlinkSync(this.path);
    } catch {
      // never created, or gone
    }
    live.delete(this.path);
  }
}


/** Gives `from` the name `to` unless `to` exists: a hard link fails then, where a rename would replace it. */
function linkInPlace(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    // A file system without hard links: the existence check before the work has to do.
    if (code === 'EPERM' || code === 'ENOTSUP' || code === 'EOPNOTSUPP') {
      renameSync(from, to);
      return;
    }
    throw error;
  }
  unlinkSync(from);
}

/** A name part short enough that `<part>.<12 hex>.partial` fits where the final name fits (255 bytes). */
function shortened(name: string): string {
  const MAX_BYTES = MAX_NAME_BYTES - '.000000000000.partial'.length;
  let part = name;
  while (Buffer.byteLength(part) > MAX_BYTES) part = [...part].slice(0, -1).join('');
  return part;
}
