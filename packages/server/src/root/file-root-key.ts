import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, linkSync, openSync, readFileSync, rmSync, writeSync, fsyncSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { openAesGcm, sealAesGcm } from './aes-gcm.js';
import { RootKeyMismatchError, StartupError, type RootKey } from './root-key.js';

const ROOT_KEY_LENGTH = 32;

/** Where a warning about a root key's file goes: the server's log, or a tool's stderr (a process warning). */
export type RootKeyWarn = (message: string) => void;

/** Leading byte of everything this provider wraps, so a later format can be told apart. */
const FORMAT_V1 = 0x01;

/** A 256-bit root key kept in a file of its own, readable only by its owner (mode 0600). */
export class FileRootKey implements RootKey {
  readonly description: string;
  readonly #key: Buffer;

  private constructor(path: string, key: Buffer) {
    this.description = `root key file ${path}`;
    this.#key = key;
  }

  static exists(path: string): boolean {
    return existsSync(path);
  }

  /** Creates a new root key file; refuses to overwrite one. */
  static create(path: string): FileRootKey {
    const key = randomBytes(ROOT_KEY_LENGTH);
    writeRootKeyFile(path, key);
    return new FileRootKey(path, key);
  }

  static load(path: string, warn?: RootKeyWarn): FileRootKey {
    return new FileRootKey(path, readRootKeyFile(path, warn));
  }

  async wrap(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    return Buffer.concat([Buffer.of(FORMAT_V1), sealAesGcm(this.#key, plaintext, aad)]);
  }

  async unwrap(wrapped: Uint8Array, aad: Uint8Array): Promise<Uint8Array> {
    const opened = wrapped[0] === FORMAT_V1 ? openAesGcm(this.#key, wrapped.subarray(1), aad) : undefined;
    if (!opened) throw new RootKeyMismatchError('wrapped value does not open under this root key');
    return opened;
  }
}

/**
 * The 32 bytes of a root key file (root.key or a keyring's root-<id>.key). A file that cannot be
 * read (a directory, no permission) or of another length is a StartupError naming it, never a bare
 * errno: the start stops before anything is written.
 */
export function readRootKeyFile(path: string, warn: RootKeyWarn = (message) => process.emitWarning(message)): Buffer {
  let key: Buffer;
  try {
    key = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.name : 'Error');
    throw new StartupError(`The root key file ${path} cannot be read (${code}): it must be a regular file of ${ROOT_KEY_LENGTH} bytes readable by the user Coffer runs as (mode 0600); nothing was changed.`);
  }
  if (key.length !== ROOT_KEY_LENGTH) {
    throw new StartupError(`The root key file ${path} holds ${key.length} bytes, not ${ROOT_KEY_LENGTH}: it is damaged or not a Coffer root key.`);
  }
  if ((statSync(path).mode & 0o077) !== 0) {
    warn(`The root key file ${path} is readable by other users; restrict it with chmod 600.`);
  }
  return key;
}

/**
 * Writes a new root key file, mode 0600, refusing to overwrite one, durably: its bytes and then its
 * directory entry are synced before the store names the file (the check value, the keyring), so a
 * power loss cannot keep a store that needs the file and lose the file.
 *
 * The bytes go to a temporary file that takes the name only once they are synced (a hard link,
 * which refuses an existing name as 'wx' does): a write that fails (a full disk) or a crash
 * part-way leaves no short root.key behind, which every later start would refuse as damaged.
 */
export function writeRootKeyFile(path: string, key: Uint8Array): void {
  const temporary = `${path}.${process.pid}.tmp`;
  // One a crash left, of a process with this pid (in a container, every start's).
  rmSync(temporary, { force: true });
  try {
    const fd = openSync(temporary, 'wx', 0o600);
    try {
      writeSync(fd, key);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    linkSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
  const directory = openSync(dirname(path), 'r');
  try {
    fsyncSync(directory);
  } finally {
    closeSync(directory);
  }
}
