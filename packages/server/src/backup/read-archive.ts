import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { AlgorithmSuiteId, AuthenticationError, decryptStream, MalformedMessageError, NoDecryptionKeyError, PolicyViolationError, type Keyring } from '@coffer/sdk';
import type { SnapshotRow } from '../store/store.js';
import { CONTENT_VERSION, decodeRow, ROW_KINDS, type ArchiveHeader, type RowCounts } from './archive-lines.js';
import { MAX_ROW_DEPTH, nestsDeeperThan, rowName, RowInvariants } from '../store/row-invariants.js';
import { BackupContentError, BackupError, BackupFormatError, BackupIntegrityError, BackupKeyError } from './errors.js';
import { readPreamble, type Preamble } from './preamble.js';
import { ARCHIVE_SUITE, archiveContext } from './write-backup.js';

/** The longest line a restore holds in memory: far above any row Coffer writes (a key policy is at most 32 KiB). */
const MAX_LINE = 16 * 1024 * 1024;

export interface OpenedArchive {
  readonly path: string;
  readonly preamble: Preamble;
  readonly preambleBytes: Buffer;
  /** Where the encrypted message starts. */
  readonly offset: number;
}

export async function openArchive(path: string): Promise<OpenedArchive> {
  const { preamble, bytes, length } = await readPreamble(path);
  return { path, preamble, preambleBytes: bytes, offset: length };
}

export interface ArchiveSummary {
  readonly header: ArchiveHeader;
  readonly rows: number;
  readonly counts: RowCounts;
  /** SHA-256 of the encrypted message as read, hex: a second read must find the same bytes. */
  readonly digest: string;
}

/**
 * The archive's rows, decrypted and checked as they stream: every frame's tag before its rows are
 * yielded, the header line first, the end line's counts against the rows read, and nothing after
 * it. A failure anywhere, the last byte included, throws a BackupError: a caller that writes rows
 * as they come must be able to undo them all (importSnapshot's one transaction does).
 * `onEnd` receives the summary once the whole archive has verified. With `digest` (a first read's),
 * the bytes read must be those of that read: the file may have been replaced in between (a sync
 * job writing the next night's copy under the same name), and its rows were checked only once.
 */
export async function* readArchive(
  archive: OpenedArchive, keyring: Keyring, onEnd?: (summary: ArchiveSummary) => void, digest?: string,
): AsyncGenerator<SnapshotRow> {
  const input = createReadStream(archive.path, { start: archive.offset, highWaterMark: 256 * 1024 });
  const hash = createHash('sha256');
  input.on('data', (chunk) => hash.update(chunk));
  // Unsigned streaming and the default commitment policy admit one suite, the one archives are
  // written with (ARCHIVE_SUITE): each frame is released once its tag verifies.
  const decrypt = decryptStream(keyring, { unsignedStreaming: true, encryptionContext: archiveContext(archive.preambleBytes) });
  input.on('error', (error) => decrypt.destroy(error));
  input.pipe(decrypt);
  let header: ArchiveHeader | undefined;
  let end: { rows: number; counts: RowCounts } | undefined;
  const counts: Record<string, number> = {};
  let rows = 0;
  let lineNumber = 0;
  let partial: Buffer[] = [];
  let partialLength = 0;
  const invariants = new RowInvariants();
  try {
    for await (const chunk of decrypt as AsyncIterable<Buffer>) {
      let start = 0;
      for (let newline = chunk.indexOf(0x0a); newline >= 0; newline = chunk.indexOf(0x0a, start)) {
        partial.push(chunk.subarray(start, newline));
        const text = Buffer.concat(partial).toString('utf8');
        partial = [];
        partialLength = 0;
        start = newline + 1;
        lineNumber++;
        const value = parseLine(text, lineNumber);
        if (end) throw new BackupFormatError(`${archive.path}: line ${lineNumber} follows the archive's end line`);
        if (lineNumber === 1) {
          header = checkHeader(value, archive.path);
          continue;
        }
        if (value.type === 'end') {
          end = { rows: Number(value.rows), counts: (value.counts ?? {}) as RowCounts };
          continue;
        }
        if (value.type !== 'row') throw new BackupFormatError(`${archive.path}: line ${lineNumber} is neither a row nor the end line`);
        const row = soundRow(value, lineNumber, invariants);
        counts[row.kind] = (counts[row.kind] ?? 0) + 1;
        rows++;
        yield row;
      }
      if (start < chunk.length) {
        partial.push(chunk.subarray(start));
        partialLength += chunk.length - start;
        if (partialLength > MAX_LINE) throw new BackupFormatError(`${archive.path}: line ${lineNumber + 1} is longer than ${MAX_LINE} bytes`);
      }
    }
  } catch (error) {
    throw asBackupError(error, archive, await messageSuite(archive));
  } finally {
    input.destroy();
    decrypt.destroy();
  }
  if (partialLength > 0 || !header || !end) {
    throw new BackupIntegrityError(`${archive.path}: the archive ends before its end line: it is incomplete`);
  }
  const expected = ROW_KINDS.map((kind) => `${kind} ${end!.counts[kind] ?? 0}`).join(', ');
  const found = ROW_KINDS.map((kind) => `${kind} ${counts[kind] ?? 0}`).join(', ');
  if (end.rows !== rows || expected !== found) {
    throw new BackupIntegrityError(`${archive.path}: the archive's end line counts ${end.rows} rows (${expected}), but it holds ${rows} (${found})`);
  }
  const read = hash.digest('hex');
  if (digest !== undefined && read !== digest) {
    throw new BackupIntegrityError(`${archive.path}: the file changed while it was being restored (it is not the archive that was checked); nothing was restored`);
  }
  onEnd?.({ header, rows, counts: end.counts, digest: read });
}

/**
 * The row a line holds, if a server could have written it (store/row-invariants.ts): refused here,
 * as it streams, so that nothing downstream (the import, its JSON.stringify, a recursive walk)
 * meets a row nested past any stack or a record no operation writes.
 */
function soundRow(value: Record<string, unknown>, lineNumber: number, invariants: RowInvariants): SnapshotRow {
  const refuse = (problems: string) => new BackupContentError(`The archive's rows are not a store a server could have had: line ${lineNumber}, ${problems}. Nothing was restored.`);
  if (nestsDeeperThan(value, MAX_ROW_DEPTH)) throw refuse(`${rowName(value)}: it nests deeper than ${MAX_ROW_DEPTH} levels, as no row Coffer writes does`);
  const row = decodeRow(value, lineNumber);
  const problems = invariants.problemsOf(row);
  if (problems.length > 0) throw refuse(problems.join('; '));
  return row;
}

function parseLine(text: string, lineNumber: number): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Reported below.
  }
  throw new BackupFormatError(`line ${lineNumber} of the archive is not a JSON object`);
}

function checkHeader(value: Record<string, unknown>, path: string): ArchiveHeader {
  if (value.type !== 'header' || value.format !== 'coffer-backup') throw new BackupFormatError(`${path}: the archive's content does not begin with its header line`);
  if (value.version !== CONTENT_VERSION) {
    throw new BackupFormatError(`${path}: the archive's content is of version ${String(value.version)}; this Coffer reads version ${CONTENT_VERSION}: restore it with a newer Coffer`);
  }
  return value as unknown as ArchiveHeader;
}

/**
 * The algorithm suite the archive's message header names, when it can be read: the first field of
 * a version 2 header, the third and fourth bytes of a version 1 one (AWS Encryption SDK message
 * format, "Header").
 */
async function messageSuite(archive: OpenedArchive): Promise<number | undefined> {
  try {
    const file = await open(archive.path, 'r');
    try {
      const head = Buffer.alloc(4);
      const { bytesRead } = await file.read(head, 0, 4, archive.offset);
      if (bytesRead === 4 && head[0] === 0x02) return head.readUInt16BE(1);
      if (bytesRead === 4 && head[0] === 0x01) return head.readUInt16BE(2);
      return undefined;
    } finally {
      await file.close();
    }
  } catch {
    return undefined;
  }
}

const suiteName = (id: number): string => {
  const name = Object.entries(AlgorithmSuiteId).find(([, value]) => value === id)?.[0];
  return `0x${id.toString(16).padStart(4, '0')}${name ? ` (${name})` : ''}`;
};

/** What the SDK reported, in the operator's terms. The SDK's messages name checks, never key material. */
function asBackupError(error: unknown, archive: OpenedArchive, suite: number | undefined): unknown {
  if (error instanceof BackupError) return error;
  const path = archive.path;
  // Another suite than the archives' (a signed one, the SDK's default, or one without commitment) is
  // refused by the decryptor's policies before the preamble's binding is ever checked: not an alteration.
  if (suite !== undefined && suite !== ARCHIVE_SUITE && (error instanceof PolicyViolationError || error instanceof MalformedMessageError)) {
    return new BackupFormatError(`${path}: the archive's content is encrypted with algorithm suite ${suiteName(suite)}, not ${suiteName(ARCHIVE_SUITE)}, `
      + 'the unsigned suite Coffer archives are written with: it was not written by coffer backup', { cause: error });
  }
  if (error instanceof NoDecryptionKeyError) {
    return new BackupKeyError(archive.preamble.protection === 'passphrase'
      ? `${path}: the passphrase does not open this archive (or the archive's key section was altered)`
      : `${path}: the private key does not open this archive (or the archive's key section was altered)`, { cause: error });
  }
  if (error instanceof PolicyViolationError) {
    return new BackupIntegrityError(`${path}: the archive's preamble does not match its encrypted content: it was altered`, { cause: error });
  }
  if (error instanceof AuthenticationError) {
    return new BackupIntegrityError(`${path}: the archive was altered or damaged (${error.message}); nothing was restored`, { cause: error });
  }
  if (error instanceof MalformedMessageError) {
    return new BackupIntegrityError(`${path}: the archive is truncated or damaged (${error.message}); nothing was restored`, { cause: error });
  }
  return error;
}
