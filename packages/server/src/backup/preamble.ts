import { open, stat } from 'node:fs/promises';
import { BackupFormatError, BackupIntegrityError } from './errors.js';

/**
 * The archive's first two lines, in the clear: what it is, and how its key is found (docs/backup.md,
 * "Format"). The preamble is bound into the encrypted message (its SHA-256 is in the encryption
 * context), so altering it fails the restore like altering any other byte.
 */
export const MAGIC = 'coffer-backup/1';
/** More than a preamble ever needs: a longer first line is not a Coffer archive. */
const MAX_PREAMBLE = 4096;

export interface ScryptParameters {
  readonly N: number;
  readonly r: number;
  readonly p: number;
  /** base64, 32 random bytes. */
  readonly salt: string;
}

export type Preamble =
  | ({ readonly protection: 'passphrase'; readonly kdf: 'scrypt' } & ScryptParameters)
  | { readonly protection: 'public-key'; readonly keyName: string; readonly padding: 'oaep-sha256' };

export function encodePreamble(preamble: Preamble): Buffer {
  return Buffer.from(`${MAGIC}\n${JSON.stringify(preamble)}\n`, 'utf8');
}

/** Reads and checks the preamble of the archive at `path`; `length` is where the encrypted message starts. */
export async function readPreamble(path: string): Promise<{ preamble: Preamble; bytes: Buffer; length: number }> {
  // Asked with stat, which opens nothing: opening a FIFO without a writer blocks for ever, and an
  // archive is read twice (checked, then restored), which no pipe allows.
  if (!(await stat(path)).isFile()) {
    throw new BackupFormatError(`${path} is not a regular file: an archive is read twice, so it must be a file (copy one that arrives through a pipe into a file first)`);
  }
  const file = await open(path, 'r');
  let head: Buffer;
  try {
    const buffer = Buffer.alloc(MAX_PREAMBLE);
    const { bytesRead } = await file.read(buffer, 0, MAX_PREAMBLE, 0);
    head = buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
  // A file that ends before its preamble does is a truncated archive (a copy cut short), not one of
  // another format or a damaged one: said as such.
  const truncated = () => new BackupIntegrityError(`${path} ends inside the archive's preamble (after ${head.length} bytes): the archive is truncated`);
  const first = head.indexOf(0x0a);
  const ended = head.length < MAX_PREAMBLE;
  if (first < 0 && ended && head.length > 0 && MAGIC.startsWith(head.toString('latin1'))) throw truncated();
  if (first < 0 || head.subarray(0, first).toString('latin1') !== MAGIC) {
    const looksLikeOurs = head.subarray(0, 14).toString('latin1') === 'coffer-backup/';
    throw new BackupFormatError(looksLikeOurs
      ? `${path} is a Coffer backup of a format this version does not read (${head.subarray(0, Math.max(first, 0)).toString('latin1').slice(0, 40)}): restore it with a newer Coffer`
      : `${path} is not a Coffer backup archive (it does not begin with "${MAGIC}")`);
  }
  const second = head.indexOf(0x0a, first + 1);
  if (second < 0 && ended) throw truncated();
  if (second < 0) throw new BackupFormatError(`${path}: the archive's preamble is damaged (no end of line within ${MAX_PREAMBLE} bytes)`);
  const preamble = parsePreamble(head.subarray(first + 1, second).toString('utf8'));
  if (!preamble) throw new BackupFormatError(`${path}: the archive's preamble is damaged or names a protection this version does not know`);
  return { preamble, bytes: Buffer.from(head.subarray(0, second + 1)), length: second + 1 };
}

function parsePreamble(text: string): Preamble | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v.protection === 'passphrase' && v.kdf === 'scrypt' && typeof v.N === 'number' && typeof v.r === 'number'
    && typeof v.p === 'number' && typeof v.salt === 'string') {
    return { protection: 'passphrase', kdf: 'scrypt', N: v.N, r: v.r, p: v.p, salt: v.salt };
  }
  if (v.protection === 'public-key' && typeof v.keyName === 'string' && v.padding === 'oaep-sha256') {
    return { protection: 'public-key', keyName: v.keyName, padding: 'oaep-sha256' };
  }
  return undefined;
}
