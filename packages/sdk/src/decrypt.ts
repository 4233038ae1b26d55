/**
 * One-shot decryption of an ESDK message (client-apis/decrypt.md#behavior). Every check
 * (commitment, header tag, every frame tag, signature, no trailing bytes) passes before any
 * plaintext is returned; on failure the partial plaintext is zeroed and a named error thrown.
 * Frames are decrypted straight into one output buffer sized from the ciphertext, or, for large
 * messages, into a ring a worker copies into it (internal/output-offload.ts), the signature of a
 * signed one checked on another worker (internal/hash-offload.ts) before the result is released.
 */
import type { CryptographicMaterialsManager } from './cmm/cmm.js';
import { copyEncryptionContext } from './encryption-context.js';
import { AuthenticationError, MalformedMessageError } from './errors.js';
import type { MessageHeaderInfo } from './header-info.js';
import { ByteReader } from './internal/bytes.js';
import { MessageVerifier, prepareDecryption, type DecryptOptions, type PreparedDecryption } from './internal/decryptor.js';
import { hashWorkerStarted, offloadedVerifier, type OffloadedVerifier } from './internal/hash-offload.js';
import type { FrameOpener } from './internal/frames.js';
import { DirectOutput, OUTPUT_OFFLOAD_MIN_BYTES, offloadedOutput, outputWorkerStarted, type ByteSink, type OffloadedOutput } from './internal/output-offload.js';
import { assertBytes, assertOptions, resolveCommitmentPolicy, resolveMaterialsManager, resolveMaxEncryptedDataKeys, unchangedLength } from './internal/options.js';
import type { Keyring } from './keyrings/keyring.js';
import { readFooter } from './serialize/footer.js';
import { readFrame } from './serialize/frame.js';
import { ContentType, readHeaderBody, type HeaderBody } from './serialize/header.js';
import { readHeaderAuth } from './serialize/header-auth.js';
import { readNonFramedBody } from './serialize/non-framed.js';

export type { DecryptOptions } from './internal/decryptor.js';

export interface DecryptResult {
  /**
   * Over an ArrayBuffer, never shared memory: `new Response()`, `Blob` and `crypto.subtle` take it.
   * Like any small Buffer, a small one may be a view of Node's shared pool: read `.buffer` with
   * `byteOffset` and `byteLength`, or copy it, rather than transfer it.
   */
  readonly plaintext: Buffer<ArrayBuffer>;
  readonly messageHeader: MessageHeaderInfo;
}

type Verification = NonNullable<PreparedDecryption['verification']>;

/** Signed bytes are fed to the verifier in slices of this size, while they are still in cache. */
const VERIFY_CHUNK = 1 << 20;

export async function decrypt(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  input: Uint8Array,
  options: DecryptOptions = {},
): Promise<DecryptResult> {
  assertBytes(input, 'ciphertext');
  assertOptions(options);
  const length = input.byteLength;
  // Fixed-length from here on, whatever happens to the caller's view during the await below.
  const ciphertext = input.subarray(0, length);
  const commitmentPolicy = resolveCommitmentPolicy(options.commitmentPolicy);
  const maxEncryptedDataKeys = resolveMaxEncryptedDataKeys(options.maxEncryptedDataKeys);
  const reproduced = copyEncryptionContext(options.encryptionContext);
  const cmm = resolveMaterialsManager(keyringOrCmm);

  const r = new ByteReader(ciphertext);
  const { header, bytes: headerBody } = readHeaderBody(r, maxEncryptedDataKeys);
  const authStart = r.offset;
  const auth = readHeaderAuth(r, header.version, header.suite);
  const headerAuth = r.slice(authStart, r.offset);
  // A large message's workers have started (or cannot) before they are used: awaited, not waited for in a loop.
  const large = r.remaining >= OUTPUT_OFFLOAD_MIN_BYTES;
  if (large) await (header.suite.signature !== null ? Promise.all([outputWorkerStarted(), hashWorkerStarted()]) : outputWorkerStarted());
  const { opener, verifier, verification, messageHeader } = await prepareDecryption(
    cmm, commitmentPolicy, reproduced, header, headerBody, auth, headerAuth, () => unchangedLength(input, length, 'ciphertext'),
  );
  // After an await: the caller's buffer may have been transferred or resized meanwhile.
  const unchanged = (): void => void unchangedLength(input, length, 'ciphertext', 'it was decrypted');
  const body = r.offset;
  // A signed message's check for one pass over the body; a second pass (after a worker failed) starts afresh.
  let passes = 0;
  const signatureCheck = (): SignatureCheck | undefined => {
    if (verification === undefined) return undefined;
    const offloaded = large ? offloadedVerifier(verification.hash, verification.key) : null;
    return new SignatureCheck(verification, offloaded, passes++ === 0 ? verifier : undefined, [headerBody, headerAuth]);
  };
  // Large messages: a worker takes the page faults of the result (internal/output-offload.ts).
  // Plaintext is never longer than the rest of the message.
  const longestFrame = header.contentType === ContentType.NonFramed ? r.remaining : header.frameLength;
  const output = large ? offloadedOutput(r.remaining, longestFrame) : null;
  if (output !== null) {
    const plaintext = await decryptThroughWorker(new ByteReader(ciphertext, body), header, opener, output, signatureCheck(), unchanged);
    // null: the worker failed part-way. Decrypt again below, on this thread.
    if (plaintext !== null) return { plaintext, messageHeader };
    unchanged();
  }
  const out = Buffer.allocUnsafe(r.remaining);
  const direct = new DirectOutput(out);
  const check = signatureCheck();
  try {
    decryptBody(r, header, opener, direct, check);
    await checkEnd(r, check, unchanged);
  } catch (e) {
    out.fill(0);
    await check?.abandon();
    throw e;
  }
  const written = direct.offset;
  out.fill(0, written);
  return { plaintext: out.subarray(0, written), messageHeader };
}

/**
 * A signed message's signature check over one pass of its bytes: on the hashing worker when it
 * took the job, else on this thread; when the worker fails, again on this thread over the same
 * bytes (`verify` is given them).
 */
class SignatureCheck {
  readonly #verification: Verification;
  readonly #offloaded: OffloadedVerifier | null;
  readonly #local: MessageVerifier | undefined;

  /** `prepared`: prepareDecryption's verifier, already fed the header; used when no worker took the job. */
  constructor(verification: Verification, offloaded: OffloadedVerifier | null, prepared: MessageVerifier | undefined, header: readonly Uint8Array[]) {
    this.#verification = verification;
    this.#offloaded = offloaded;
    if (offloaded !== null || prepared === undefined) {
      this.#local = offloaded !== null ? undefined : new MessageVerifier(verification.hash, verification.key);
      for (const bytes of header) this.update(bytes);
    } else {
      this.#local = prepared;
    }
  }

  update(bytes: Uint8Array): void {
    (this.#offloaded ?? this.#local!).update(bytes);
  }

  async verify(signature: Uint8Array, signedBytes: () => Uint8Array): Promise<boolean> {
    if (this.#offloaded === null) return this.#local!.verify(signature);
    const valid = await this.#offloaded.verify(signature);
    if (valid !== null) return valid;
    // The worker failed: verify here, over the same bytes.
    const again = new MessageVerifier(this.#verification.hash, this.#verification.key);
    again.update(signedBytes());
    return again.verify(signature);
  }

  /** Ends a worker's job whose answer is no longer wanted (the message failed part-way); resolves once the worker is free. */
  async abandon(): Promise<void> {
    await this.#offloaded?.abandon();
  }
}

/**
 * After the body: nothing follows the message, and the footer's signature verifies over
 * everything before it (when the suite signs). The caller's buffer is read before the signature
 * is awaited, since it may be transferred or resized meanwhile; only a failed worker's fallback
 * reads it again, once `unchanged` has said it is still whole.
 */
async function checkEnd(r: ByteReader, check: SignatureCheck | undefined, unchanged: () => void): Promise<void> {
  const signedEnd = r.offset;
  const footer = check === undefined ? undefined : readFooter(r);
  if (r.remaining !== 0) throw new MalformedMessageError('unexpected bytes after the end of the message');
  if (check === undefined) return;
  const valid = await check.verify(footer!, () => {
    unchanged();
    return r.slice(0, signedEnd);
  });
  if (!valid) throw new AuthenticationError('message signature does not verify');
}

/** A message's body, its plaintext assembled by the worker; null when the worker failed. */
async function decryptThroughWorker(
  r: ByteReader, header: HeaderBody, opener: FrameOpener, output: OffloadedOutput, check: SignatureCheck | undefined, unchanged: () => void,
): Promise<Buffer<ArrayBuffer> | null> {
  try {
    decryptBody(r, header, opener, output, check);
    await checkEnd(r, check, unchanged);
  } catch (e) {
    // The output worker zeroes what it holds before the error reaches the caller.
    await Promise.all([check?.abandon(), output.abandon()]);
    throw e;
  }
  return output.finish();
}

/**
 * Decrypts and authenticates the body into `sink`, frame by frame
 * (client-apis/decrypt.md#decrypt-the-message-body). `check` receives the consumed body bytes
 * in slices for the signature.
 */
function decryptBody(r: ByteReader, header: HeaderBody, opener: FrameOpener, sink: ByteSink, check: SignatureCheck | undefined): void {
  const { suite } = header;
  const start = r.offset;
  if (header.contentType === ContentType.NonFramed) {
    const body = readNonFramedBody(r, suite);
    const at = sink.reserve(body.ciphertext.byteLength);
    const n = opener.openSingleBlockInto(body.iv, body.ciphertext, body.tag, sink.target, at);
    if (n < 0) throw new AuthenticationError('body authentication tag does not verify');
    sink.commit(at + n);
    check?.update(r.slice(start, r.offset));
    return;
  }
  let fed = start;
  for (let sequenceNumber = 1; ; sequenceNumber++) {
    const frame = readFrame(r, suite, header.frameLength, sequenceNumber);
    // The IV as serialized, not recomputed: some official producers wrote non-canonical IVs.
    const at = sink.reserve(frame.ciphertext.byteLength);
    const n = opener.openInto(frame.final, sequenceNumber, frame.iv, frame.ciphertext, frame.tag, sink.target, at);
    if (n < 0) throw new AuthenticationError('body authentication tag does not verify');
    sink.commit(at + n);
    if (r.offset - fed >= VERIFY_CHUNK || frame.final) {
      check?.update(r.slice(fed, r.offset));
      fed = r.offset;
    }
    // A final frame always ends the body; sequence numbers cannot wrap because 0xFFFFFFFF marks it.
    if (frame.final) return;
  }
}
