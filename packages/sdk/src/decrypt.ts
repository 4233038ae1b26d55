/**
 * One-shot decryption of an ESDK message (client-apis/decrypt.md#behavior). Every check
 * (commitment, header tag, every frame tag, signature, no trailing bytes) passes before any
 * plaintext is returned; on failure the partial plaintext is zeroed and a named error thrown.
 * Frames are decrypted straight into one output buffer sized from the ciphertext, or, for large
 * unsigned messages, into a ring a worker copies into it (internal/output-offload.ts).
 */
import type { CryptographicMaterialsManager } from './cmm/cmm.js';
import { copyEncryptionContext } from './encryption-context.js';
import { AuthenticationError, MalformedMessageError } from './errors.js';
import type { MessageHeaderInfo } from './header-info.js';
import { ByteReader } from './internal/bytes.js';
import { MessageVerifier, prepareDecryption, type DecryptOptions } from './internal/decryptor.js';
import { hashWorkerStarted, OFFLOAD_MIN_BYTES, offloadedVerifier } from './internal/hash-offload.js';
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
  // A large message's worker has started (or cannot) before it is used: awaited, not waited for in a loop.
  const signed = header.suite.signature !== null;
  if (r.remaining >= (signed ? OFFLOAD_MIN_BYTES : OUTPUT_OFFLOAD_MIN_BYTES)) await (signed ? hashWorkerStarted() : outputWorkerStarted());
  const { opener, verifier: localVerifier, verification, messageHeader } = await prepareDecryption(
    cmm, commitmentPolicy, reproduced, header, headerBody, auth, headerAuth, () => unchangedLength(input, length, 'ciphertext'),
  );
  // Large unsigned messages: the second core takes the page faults of the result (internal/output-offload.ts).
  // Plaintext is never longer than the rest of the message.
  const output = verification === undefined && r.remaining >= OUTPUT_OFFLOAD_MIN_BYTES ? offloadedOutput(r.remaining) : null;
  if (output !== null) {
    const plaintext = await decryptThroughWorker(new ByteReader(ciphertext, r.offset), header, opener, output);
    // null: the worker failed part-way. Decrypt again below, on this thread.
    if (plaintext !== null) return { plaintext, messageHeader };
  }
  const out = Buffer.allocUnsafe(r.remaining);
  const direct = new DirectOutput(out);
  // Large signed messages: the second core hashes while this thread opens frames.
  const offloaded = verification !== undefined && r.remaining >= OFFLOAD_MIN_BYTES ? offloadedVerifier(verification.hash, verification.key) : null;
  offloaded?.update(headerBody);
  offloaded?.update(headerAuth);
  const verifier = offloaded ?? localVerifier;
  let written = 0;
  try {
    decryptBody(r, header, opener, direct, (from, to) => verifier?.update(r.slice(from, to)));
    written = direct.offset;
    if (verifier !== undefined) {
      const signedEnd = r.offset;
      const signature = readFooter(r);
      let valid = offloaded === null ? localVerifier!.verify(signature) : await offloaded.verify(signature);
      if (valid === null) {
        // The worker failed: verify here, over the same bytes.
        const again = new MessageVerifier(verification!.hash, verification!.key);
        again.update(r.slice(0, signedEnd));
        valid = again.verify(signature);
      }
      if (!valid) throw new AuthenticationError('message signature does not verify');
    }
    if (r.remaining !== 0) throw new MalformedMessageError('unexpected bytes after the end of the message');
  } catch (e) {
    out.fill(0);
    offloaded?.abandon();
    throw e;
  }
  out.fill(0, written);
  return { plaintext: out.subarray(0, written), messageHeader };
}

/** An unsigned message's body, its plaintext assembled by the worker; null when the worker failed. */
async function decryptThroughWorker(r: ByteReader, header: HeaderBody, opener: FrameOpener, output: OffloadedOutput): Promise<Buffer<ArrayBuffer> | null> {
  try {
    decryptBody(r, header, opener, output, () => {});
    if (r.remaining !== 0) throw new MalformedMessageError('unexpected bytes after the end of the message');
  } catch (e) {
    // The worker zeroes what it holds before the error reaches the caller.
    await output.abandon();
    throw e;
  }
  return output.finish();
}

/**
 * Decrypts and authenticates the body into `sink`, frame by frame
 * (client-apis/decrypt.md#decrypt-the-message-body). `signed` receives the consumed body bytes
 * in slices for the signature.
 */
function decryptBody(r: ByteReader, header: HeaderBody, opener: FrameOpener, sink: ByteSink, signed: (from: number, to: number) => void): void {
  const { suite } = header;
  const start = r.offset;
  if (header.contentType === ContentType.NonFramed) {
    const body = readNonFramedBody(r, suite);
    const at = sink.reserve(body.ciphertext.byteLength);
    const n = opener.openSingleBlockInto(body.iv, body.ciphertext, body.tag, sink.target, at);
    if (n < 0) throw new AuthenticationError('body authentication tag does not verify');
    sink.commit(at + n);
    signed(start, r.offset);
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
      signed(fed, r.offset);
      fed = r.offset;
    }
    // A final frame always ends the body; sequence numbers cannot wrap because 0xFFFFFFFF marks it.
    if (frame.final) return;
  }
}
