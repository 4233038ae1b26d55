import { appendFileSync, closeSync, createReadStream, mkdirSync, openSync } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  AuthenticationError, EncryptionSdkError, KeyringError, MalformedMessageError, NoDecryptionKeyError, PolicyViolationError, type MessageHeaderInfo,
} from '@coffer/sdk';
import { ApiError } from '../admin-client.js';
import { cliErrorOf } from '../kms-client.js';
import { printable, terminalJson } from '../output.js';
import { EXIT_CRYPTO, EXIT_FAILURE, IoError } from '../usage.js';
import { refuseLeavingOutputRoot, type Direction, type Job } from './jobs.js';
import { ContextMismatchError } from './materials.js';
import { PartialFile, removeEmptyDirectories, removePartialFilesOnSignals, trackMadeDirectories } from './partial-file.js';
import { startProgress } from './progress.js';

export interface RunOptions {
  readonly direction: Direction;
  /** The SDK stream for one job. */
  readonly transform: (job: Job) => Transform;
  readonly force: boolean;
  readonly quiet: boolean;
  readonly metadataOutput: string | undefined;
  /** Decrypting with --discovery (the message names the keys), for the hint when none decrypts. */
  readonly discovery?: boolean;
}

/** Runs the jobs one after another; stops at the first failure, leaving no output for it. Returns the exit code. */
export async function runJobs(jobs: readonly Job[], options: RunOptions): Promise<number> {
  removePartialFilesOnSignals();
  // Before any work: output written and then a metadata file that cannot be (a directory, a
  // missing folder) would fail the command with its work done and nothing said of it.
  if (options.metadataOutput !== undefined && options.metadataOutput !== '-') openMetadataFile(options.metadataOutput);
  const total = jobs.every((j) => j.size !== undefined) ? jobs.reduce((sum, j) => sum + j.size!, 0) : undefined;
  const progress = startProgress(total, options.quiet);
  let done = 0;
  // The metadata line is written once the output is in place, so a metadata file that fails then
  // (a full disk) leaves that file's output complete, and the messages say so.
  let outputWritten = false;
  try {
    for (const job of jobs) {
      outputWritten = false;
      const facts = await runJob(job, options, progress.add).catch((error: unknown) => {
        throw changedWhileRead(error, job) ?? error;
      });
      outputWritten = true;
      if (options.metadataOutput !== undefined) await writeMetadata(options.metadataOutput, facts);
      done += 1;
    }
  } catch (error) {
    progress.stop();
    // Of a tree, say which file failed and what stays: the files before it are complete.
    if (jobs.length > 1) {
      const after = outputWritten ? 'its output was written but not its metadata line; nothing for the files after it' : 'nothing for it or the files after it';
      process.stderr.write(`stopped at '${printable(jobs[done]!.input)}': ${done} of ${jobs.length} files were written before it; ${after}\n`);
    }
    return reportFailure(error, options, jobs[done]?.output !== '-');
  }
  progress.stop();
  return 0;
}

interface Facts {
  readonly job: Job;
  readonly direction: Direction;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly header: MessageHeaderInfo | undefined;
}

async function runJob(job: Job, options: RunOptions, advance: (bytes: number) => void): Promise<Facts> {
  let input: Readable;
  try {
    input = job.input === '-' ? process.stdin : createReadStream(job.input);
  } catch (error) {
    throw new IoError(`cannot read '${job.input}': ${(error as Error).message}`);
  }
  let bytesIn = 0;
  let bytesOut = 0;
  if (job.output === '-') watchStdout();
  // The first bytes are read before any work, so that an unreadable input fails as an input problem.
  const rest = await peek(input, 4, job.input);
  const transform = options.transform(job);
  let header: MessageHeaderInfo | undefined;
  transform.on('messageHeader', (h: MessageHeaderInfo) => (header = h));
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      bytesIn += chunk.length;
      advance(chunk.length);
      done(null, chunk);
    },
  });
  if (job.output === '-') {
    await pipeline(rest, counter, transform, async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        bytesOut += chunk.length;
        if (!process.stdout.write(chunk)) await once(process.stdout, 'drain');
      }
    }).catch((error: unknown) => {
      // Standard output failing (a reader that went away: EPIPE) stops the pipeline, and the input's
      // reader, destroyed with it, may report its AbortError first: name the write that failed.
      if (stdoutError !== undefined) throw stdoutIoError(stdoutError);
      throw error;
    });
    return { job, direction: options.direction, bytesIn, bytesOut, header };
  }
  // Missing directories of the output are made (a tree's mirror needs them), and removed again,
  // if still empty, when the output fails: a failure leaves nothing behind.
  let made: string | undefined;
  try {
    made = mkdirSync(dirname(job.output), { recursive: true });
  } catch (error) {
    throw new IoError(`cannot create the directory of '${job.output}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
  const untrack = made === undefined ? () => {} : trackMadeDirectories(dirname(job.output), made);
  try {
    refuseLeavingOutputRoot(job);
  } catch (error) {
    untrack();
    if (made !== undefined) removeEmptyDirectories(dirname(job.output), made);
    throw error;
  }
  const partial = new PartialFile(job.output);
  try {
    const sizer = new Transform({
      transform(chunk: Buffer, _encoding, done) {
        bytesOut += chunk.length;
        done(null, chunk);
      },
    });
    await pipeline(rest, counter, transform, sizer, partial.stream);
    partial.commit(options.force);
  } catch (error) {
    partial.abort();
    if (made !== undefined) removeEmptyDirectories(dirname(job.output), made);
    throw outputWriteError(error, job.output) ?? error;
  } finally {
    untrack();
  }
  return { job, direction: options.direction, bytesIn, bytesOut, header };
}

/**
 * A file's size at the start goes to the SDK as the plaintext length (encrypt), which fails the
 * message when the bytes read differ: the file changed while it was read, an input problem.
 */
function changedWhileRead(error: unknown, job: Job): IoError | undefined {
  if (job.size === undefined || !(error instanceof PolicyViolationError) || !/declared plaintextLength/.test(error.message)) return undefined;
  return new IoError(`'${job.input}' changed size while it was read (it had ${job.size} bytes)`,
    'encrypt it once nothing writes to it any more; no output was written');
}

/** The first error standard output reported, kept from the first job that writes there on. */
let stdoutError: NodeJS.ErrnoException | undefined;
let stdoutWatched = false;

function watchStdout(): void {
  if (stdoutWatched) return;
  stdoutWatched = true;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => (stdoutError ??= error));
}

function stdoutIoError(error: NodeJS.ErrnoException): IoError {
  return new IoError(`cannot write to standard output: ${error.code ?? error.message}`,
    error.code === 'EPIPE' ? 'the program reading the output closed it before the end; what it read is incomplete' : undefined);
}

/**
 * A failed write of the output file (ENOSPC, EFBIG, EIO), named as other output errors are:
 * Node's own message says only `ENOSPC: no space left on device, write`. Only the output is
 * written to, so an error of the write syscall is the output's; the input's say read or open.
 */
function outputWriteError(error: unknown, output: string): IoError | undefined {
  if (!(error instanceof Error)) return undefined;
  const { code, syscall } = error as NodeJS.ErrnoException;
  if (typeof code !== 'string' || syscall !== 'write') return undefined;
  return new IoError(`cannot write '${printable(output)}': ${code}`,
    `${WRITE_HINTS.get(code) ?? 'check the file system that holds it'}; no output was written for it`);
}

const WRITE_HINTS: ReadonlyMap<string, string> = new Map([
  ['ENOSPC', 'the file system that holds it is full'],
  ['EDQUOT', 'your disk quota there is used up'],
  ['EFBIG', 'it is larger than this process may write (ulimit -f) or than the file system allows'],
]);

/** Reads the first `n` bytes (fewer if the input is shorter); returns a stream of the whole input. */
async function peek(input: Readable, n: number, name: string): Promise<Readable> {
  const iterator = input[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const chunks: Buffer[] = [];
  let length = 0;
  try {
    while (length < n) {
      const next = await iterator.next();
      if (next.done) break;
      chunks.push(next.value);
      length += next.value.length;
    }
  } catch (error) {
    throw ioError(error, name);
  }
  const head = Buffer.concat(chunks);
  return Readable.from((async function* () {
    if (head.length > 0) yield head;
    for (;;) {
      const next = await iterator.next();
      if (next.done) return;
      yield next.value;
    }
  })(), { objectMode: false });
}

function ioError(error: unknown, name: string): IoError {
  const code = (error as NodeJS.ErrnoException).code;
  return new IoError(`cannot read '${name === '-' ? 'standard input' : name}': ${code ?? (error as Error).message}`,
    code === 'EISDIR' ? 'pass --recursive and --output DIR for a directory' : undefined);
}

/** Creates (or opens to append) the metadata file, owner-only, or says why it cannot be written. */
function openMetadataFile(file: string): void {
  try {
    closeSync(openSync(file, 'a', 0o600));
  } catch (error) {
    throw new IoError(`cannot write the metadata to '${file}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
  }
}

async function writeMetadata(file: string, facts: Facts): Promise<void> {
  const h = facts.header;
  // The same JSON as JSON.stringify's, with DEL, C1 controls and bidi overrides escaped: the
  // encryption context and provider info are the message's, and the file may be a terminal (-).
  const line = terminalJson({
    mode: facts.direction,
    input: facts.job.input,
    output: facts.job.output,
    bytesIn: facts.bytesIn,
    bytesOut: facts.bytesOut,
    ...(h ? {
      header: {
        messageId: h.messageId.toString('hex'),
        messageFormatVersion: h.messageFormatVersion,
        suiteId: `0x${h.suiteId.toString(16).padStart(4, '0')}`,
        frameLength: h.frameLength,
        encryptionContext: h.encryptionContext,
        encryptedDataKeys: h.encryptedDataKeys.map((k) => ({ providerId: k.providerId, providerInfo: k.providerInfo.toString('utf8') })),
      },
    } : {}),
  }) + '\n';
  try {
    if (file === '-') {
      // Its failure (a full disk, a reader gone) is this line's, said as such, not main.ts's.
      watchStdout();
      await new Promise<void>((done, fail) => process.stdout.write(line, (error) => (error ? fail(error) : done())));
    } else {
      appendFileSync(file, line, { mode: 0o600 });
    }
  } catch (error) {
    const output = facts.job.output === '-' ? 'standard output' : `'${printable(facts.job.output)}'`;
    const metadata = file === '-' ? 'standard output' : `'${file}'`;
    throw new IoError(`cannot write the metadata to ${metadata}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message} (the output to ${output} was written in full)`);
  }
}

/** Every error below `error` (causes, aggregated errors), depth first. */
function causesOf(error: unknown, into: unknown[] = []): unknown[] {
  into.push(error);
  if (error instanceof AggregateError) for (const e of error.errors) causesOf(e, into);
  if (error instanceof Error && error.cause !== undefined) causesOf(error.cause, into);
  return into;
}

const CRYPTO_KMS_ERRORS = new Set(['InvalidCiphertextException', 'IncorrectKeyException']);

/** Prints a cryptographic failure and returns exit code 4; KMS, I/O and other errors go to main.ts's handler. */
function reportFailure(error: unknown, { direction, discovery = false }: RunOptions, toFile: boolean): number {
  if (error instanceof KeyringError || error instanceof NoDecryptionKeyError) {
    // What KMS answered decides: access refused (3), unreachable or another service error (1).
    const answered = causesOf(error).map((e) => cliErrorOf(e)).filter((e): e is ApiError => e instanceof ApiError);
    const decisive = answered.find((e) => !CRYPTO_KMS_ERRORS.has(e.code));
    if (decisive) throw decisive;
  }
  if (!(error instanceof EncryptionSdkError)) {
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && typeof (error as NodeJS.ErrnoException).syscall === 'string') {
      throw new IoError(`${(error as Error).message}`);
    }
    throw cliErrorOf(error);
  }
  // The message may quote the message's own unauthenticated bytes (an encryption context value, a
  // key provider's info): control characters are shown escaped, never sent to the terminal.
  process.stderr.write(`error: ${direction === 'decrypt' ? 'cannot decrypt' : 'cannot encrypt'}: ${printable(inCliTerms(error.message))}\n`);
  const hint = hintFor(error, toFile, discovery);
  if (hint) process.stderr.write(`hint: ${hint}\n`);
  // A message larger than the plaintext held until it verifies, or with more encrypted data keys than
  // allowed, meets a limit of this run, not damage: not the crypto code.
  return /maxBufferedBytes|more encrypted data keys than allowed/.test(error.message) ? EXIT_FAILURE : EXIT_CRYPTO;
}

/**
 * The SDK's message in this command's terms: its options by the flags that set them. The SDK's
 * advice on its streaming modes, which the command chooses itself, gives way to the hint.
 */
function inCliTerms(message: string): string {
  return message.replace(/; for large messages use unsignedStreaming .*$/, '').replace(/\bmaxBufferedBytes\b/g, '--max-buffered-bytes');
}

function hintFor(error: EncryptionSdkError, toFile: boolean, discovery: boolean): string | undefined {
  if (error instanceof ContextMismatchError) return 'the message was encrypted with another encryption context; check --context (no output was written for it)';
  if (error instanceof AuthenticationError) return 'the input was changed or damaged after it was encrypted; no output was written for it';
  if (error instanceof MalformedMessageError) return 'the input is not a complete message from `coffer encrypt` or an AWS Encryption SDK; no output was written for it';
  if (error instanceof NoDecryptionKeyError) {
    return discovery
      ? 'none of the keys the message names is in --discovery-account (and --discovery-partition), or none of them would decrypt for you; `--metadata-output -` on encrypt shows them'
      : 'pass --key with a key the message was encrypted under (`--metadata-output -` on encrypt shows them), or --discovery; '
        + 'a message written under a required encryption context also needs its pairs given back with --context';
  }
  if (/more encrypted data keys than allowed/.test(error.message)) {
    return 'the message holds more encrypted data keys than --max-encrypted-data-keys; raise it if you trust where the message comes from';
  }
  if (/buffer/i.test(error.message)) {
    return toFile
      ? 'each frame is held until its tag verifies, and this message\'s are larger than --max-buffered-bytes: raise it if you trust where the message comes from'
      : 'raise --max-buffered-bytes, or decrypt into a file with -o: plaintext for standard output is held until the whole message verifies';
  }
  if (/commitment/i.test(error.message)) return 'messages without key commitment need --commitment-policy REQUIRE_ENCRYPT_ALLOW_DECRYPT';
  return undefined;
}
