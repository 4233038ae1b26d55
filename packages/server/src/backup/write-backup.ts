import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AlgorithmSuiteId, encryptStream } from '@coffer/sdk';
import { replaceWrappedValues, isRootKeyMeta } from '../root/wrapped-values.js';
import { RootKeyMismatchError } from '../root/root-key.js';
import type { SnapshotRow } from '../store/store.js';
import { CONTENT_VERSION, encodeRow, line, type ArchiveEnd, type ArchiveHeader, type RowCounts } from './archive-lines.js';
import { openSource, type StoreLocation } from './data-dir.js';
import { BackupIntegrityError } from './errors.js';
import { encodePreamble, type ScryptParameters } from './preamble.js';
import { protectionFor, type BackupRecipient } from './protection.js';

/**
 * The archive's message: unsigned (a signature made with a key that travels inside the message
 * proves nothing here, and without one a restore streams frame by frame in bounded memory), key
 * committing, 64 KiB frames.
 */
export const ARCHIVE_SUITE = AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY;
const FRAME_LENGTH = 64 * 1024;

/** The encryption context that binds the message to its preamble. */
export const archiveContext = (preamble: Uint8Array): Record<string, string> => ({
  'coffer-backup-format': String(CONTENT_VERSION),
  'coffer-backup-preamble': createHash('sha256').update(preamble).digest('hex'),
});

export interface BackupOptions extends StoreLocation {
  /** The archive file to write; it appears only once complete (written beside it, then renamed). */
  readonly out: string;
  readonly recipient: BackupRecipient;
  /**
   * Where the archive is written until it is complete; `<out>.partial-<pid>-<random>` unless
   * given. A caller that removes it on a signal (the CLI) names it, so both mean the same file.
   */
  readonly partial?: string;
  readonly now?: () => number;
  /** For tests only: a cheaper scrypt than the default. */
  readonly scryptCostForTests?: Omit<ScryptParameters, 'salt'>;
}

export interface BackupReport {
  readonly store: string;
  readonly out: string;
  readonly createdAt: string;
  readonly rows: number;
  readonly counts: RowCounts;
  readonly protection: 'passphrase' | 'public-key';
  readonly bytes: number;
}

/** The system calls on the archive's file whose failures say nothing of which file it was. */
const ARCHIVE_FILE_CALLS: ReadonlySet<string> = new Set(['write', 'fsync', 'fstat', 'close']);

/**
 * A new partial file's path beside `out`. Random, not only the pid: in a container the pid
 * repeats, and a partial file a killed backup left would refuse ('wx') every later one, which
 * would then remove a file it did not write.
 */
export function partialPathFor(out: string): string {
  return `${out}.partial-${process.pid}-${randomBytes(6).toString('hex')}`;
}

/**
 * Writes an encrypted archive of one consistent snapshot of the store (docs/backup.md): every
 * row, with the values the store keeps wrapped by its root key unwrapped, so that the archive
 * restores under any root key. A server may go on using the store meanwhile. Memory stays bounded
 * however large the store: rows stream from the snapshot through the encryptor to the file.
 */
export async function writeBackup(options: BackupOptions): Promise<BackupReport> {
  const { preamble, keyring } = await protectionFor(options.recipient, options.scryptCostForTests);
  const preambleBytes = encodePreamble(preamble);
  const source = await openSource(options);
  const createdAt = new Date((options.now ?? Date.now)()).toISOString();
  const counts: Partial<Record<SnapshotRow['kind'], number>> = {};
  let rows = 0;
  async function* lines(): AsyncGenerator<string> {
    const header: ArchiveHeader = { type: 'header', format: 'coffer-backup', version: CONTENT_VERSION, createdAt, source: source.backend };
    yield line(header);
    for await (const row of source.store.exportSnapshot()) {
      // Meta of the source's own root key: the target makes its own.
      if (row.kind === 'meta' && isRootKeyMeta(row.name)) continue;
      const unwrapped: Uint8Array[] = [];
      const plain = await replaceWrappedValues(row, async (value) => {
        try {
          const bytes = await source.root.unwrap(value.bytes, value.aad);
          unwrapped.push(bytes);
          return bytes;
        } catch (error) {
          if (!(error instanceof RootKeyMismatchError)) throw error;
          throw new BackupIntegrityError(`${describe(row)} does not unwrap under the store's root key: run \`coffer store check\`; no archive was written`);
        }
      });
      counts[row.kind] = (counts[row.kind] ?? 0) + 1;
      rows++;
      const encoded = encodeRow(plain);
      // The line (a string) cannot be wiped; the bytes it was made from can.
      for (const bytes of unwrapped) bytes.fill(0);
      yield encoded;
    }
    const end: ArchiveEnd = { type: 'end', rows, counts };
    yield line(end);
  }
  /** Lines gathered into chunks of about a frame, so the encryptor is not called once per row. */
  async function* content(): AsyncGenerator<Buffer> {
    let pending: string[] = [];
    let size = 0;
    for await (const text of lines()) {
      pending.push(text);
      size += text.length;
      if (size >= FRAME_LENGTH) {
        yield Buffer.from(pending.join(''), 'utf8');
        pending = [];
        size = 0;
      }
    }
    if (pending.length > 0) yield Buffer.from(pending.join(''), 'utf8');
  }
  const partial = options.partial ?? partialPathFor(options.out);
  try {
    await pipeline(
      Readable.from(content()),
      encryptStream(keyring, { suiteId: ARCHIVE_SUITE, frameLength: FRAME_LENGTH, encryptionContext: archiveContext(preambleBytes) }),
      async function* (message: AsyncIterable<Buffer>) {
        yield preambleBytes;
        yield* message;
      },
      createWriteStream(partial, { flags: 'wx', mode: 0o600 }),
    );
    const file = await open(partial, 'r+');
    let bytes: number;
    try {
      await file.sync();
      bytes = (await file.stat()).size;
    } finally {
      await file.close();
    }
    await rename(partial, options.out);
    return { store: source.name, out: options.out, createdAt, rows, counts, protection: preamble.protection, bytes };
  } catch (error) {
    await rm(partial, { force: true });
    // A failed write (a full disk) names no file, as fs.write's errors carry no path: it was the
    // archive's, and the command says so with its name.
    const failed = error as NodeJS.ErrnoException;
    if (typeof failed.syscall === 'string' && failed.path === undefined && ARCHIVE_FILE_CALLS.has(failed.syscall)) failed.path = partial;
    // A row whose record is not JSON (a damaged or hand-edited store): JSON.parse's message names no row.
    if (error instanceof SyntaxError) {
      throw new BackupIntegrityError(`the store holds a record that is not JSON (${error.message}): run \`coffer store check\`, which names it; no archive was written`);
    }
    throw error;
  } finally {
    await source.root.close();
    await source.store.close();
  }
}

function describe(row: SnapshotRow): string {
  switch (row.kind) {
    case 'keyVersion': return `key ${row.version.keyId} version ${row.version.version}`;
    case 'key': return `the pending key material of key ${row.key.keyId}`;
    case 'accessKey': return `the secret of access key ${row.accessKey.accessKeyId}`;
    case 'meta': return `the stored value ${row.name}`;
    default: return `a ${row.kind} row`;
  }
}
