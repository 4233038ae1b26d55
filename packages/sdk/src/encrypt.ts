/**
 * One-shot encryption of a buffer into an ESDK message (client-apis/encrypt.md#behavior).
 * Writes message format v2 for committing suites and v1 otherwise, always framed. The whole
 * message is written into one buffer sized up front; frames are sealed straight into it, or,
 * for large messages, by a worker (internal/seal-offload.ts; frames longer than its ring: into a
 * ring a worker copies into the result, internal/output-offload.ts), with the signature of a
 * signed one hashed on another worker (internal/hash-offload.ts).
 */
import type { CryptographicMaterialsManager } from './cmm/cmm.js';
import type { MessageHeaderInfo } from './header-info.js';
import { finalFrameSize, framedBodySize, regularFrameSize, type FrameSealer } from './internal/frames.js';
import { assertBytes, unchangedLength } from './internal/options.js';
import { hashWorkerStarted, OFFLOAD_MIN_BYTES, offloadedSigner, type OffloadedSigner } from './internal/hash-offload.js';
import { DirectOutput, OUTPUT_OFFLOAD_MIN_BYTES, offloadedOutput, outputWorkerStarted, type ByteSink } from './internal/output-offload.js';
import { encryptThroughWorker, sealsInWorker, sealWorkerStarted } from './internal/seal-offload.js';
import { MessageSigner, prepareEncryption, type EncryptOptions, type PreparedEncryption } from './internal/encryptor.js';
import type { Keyring } from './keyrings/keyring.js';

export { DEFAULT_FRAME_LENGTH } from './internal/encryptor.js';
export type { EncryptOptions } from './internal/encryptor.js';

export interface EncryptResult {
  /**
   * Over an ArrayBuffer, never shared memory: `new Response()`, `Blob` and `crypto.subtle` take it.
   * Like any small Buffer, a small one may be a view of Node's shared pool: read `.buffer` with
   * `byteOffset` and `byteLength`, or copy it, rather than transfer it.
   */
  readonly ciphertext: Buffer<ArrayBuffer>;
  readonly messageHeader: MessageHeaderInfo;
}

/** Signed bytes are fed to the signer in slices of this size, while they are still in cache. */
const SIGN_CHUNK = 1 << 20;
/** u16 length ‖ DER ECDSA-Sig-Value for P-384 (at most 104 bytes). */
const MAX_FOOTER = 2 + 104;

type Signing = NonNullable<PreparedEncryption['signing']>;

/**
 * The footer's signature (data-format/message-footer.md) over header and body, `signed`, from the
 * signer that was fed them; when that was the hashing worker and it failed, made here over the
 * same bytes.
 */
async function signatureOf(signer: MessageSigner | OffloadedSigner, signing: Signing, signed: Uint8Array): Promise<Buffer> {
  const signature = signer instanceof MessageSigner ? signer.sign() : await signer.sign();
  if (signature !== null) return signature;
  const fresh = new MessageSigner(signing.hash, signing.key);
  fresh.update(signed);
  return fresh.sign();
}

/**
 * The message: `out` up to `end`, then the footer when the suite signs. The rest of `out` is
 * zeroed: no uninitialised memory is handed out, not even past the end of the returned view.
 */
function endMessage(out: Buffer<ArrayBuffer>, end: number, signature?: Buffer): Buffer<ArrayBuffer> {
  let o = end;
  if (signature !== undefined) {
    o = out.writeUInt16BE(signature.length, o);
    o += signature.copy(out, o);
  }
  return out.fill(0, o).subarray(0, o);
}

export async function encrypt(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  input: Uint8Array,
  options: EncryptOptions = {},
): Promise<EncryptResult> {
  assertBytes(input, 'plaintext');
  const length = input.byteLength;
  const { header, sealer, signer: localSigner, signing, frameLength, messageHeader } = await prepareEncryption(keyringOrCmm, options, length);
  const size = header.length + framedBodySize(length, frameLength) + (signing === undefined ? 0 : MAX_FOOTER);
  if (size >= OUTPUT_OFFLOAD_MIN_BYTES || (signing !== undefined && length >= OFFLOAD_MIN_BYTES)) await workersStarted(frameLength, signing !== undefined);
  const plaintext = unchangedLength(input, length, 'plaintext');
  if (size >= OUTPUT_OFFLOAD_MIN_BYTES) {
    const ciphertext = signing === undefined
      ? await encryptWithWorker(plaintext, frameLength, sealer, header, size)
      : await encryptSignedWithWorker(plaintext, frameLength, sealer, header, size, signing);
    // null: no worker was free, or one failed part-way. Seal below: same key, IVs and AADs, so the same bytes.
    if (ciphertext !== null) return { ciphertext, messageHeader };
  }
  const out = Buffer.allocUnsafe(size);
  // Large signed messages: the second core hashes and signs while this thread seals frames.
  const offloaded = signing !== undefined && length >= OFFLOAD_MIN_BYTES ? offloadedSigner(signing.hash, signing.key) : null;
  offloaded?.update(header);
  const signer = offloaded ?? localSigner;
  const direct = new DirectOutput(out);
  direct.write(header);
  let signed = direct.offset;
  try {
    sealBody(plaintext, frameLength, sealer, direct, (end, final) => {
      if (signer !== undefined && (end - signed >= SIGN_CHUNK || final)) {
        signer.update(out.subarray(signed, end));
        signed = end;
      }
    });
  } catch (e) {
    await offloaded?.abandon();
    throw e;
  }
  const end = direct.offset;
  const signature = signer === undefined ? undefined : await signatureOf(signer, signing!, out.subarray(0, end));
  return { ciphertext: endMessage(out, end, signature), messageHeader };
}

/**
 * The workers a large message would use first have started (or cannot): the first such message
 * waits for that without blocking, rather than in a synchronous loop. A busy worker's fallback,
 * when not started yet, is started on that first use and used by the messages after.
 */
function workersStarted(frameLength: number, signed: boolean): Promise<unknown> {
  const sealing = sealsInWorker(frameLength);
  if (!signed) return sealing ? sealWorkerStarted() : outputWorkerStarted();
  return Promise.all([sealing ? sealWorkerStarted() : outputWorkerStarted(), hashWorkerStarted()]);
}

/**
 * Large unsigned messages use the second core: a worker seals the frames while this thread
 * writes the result (internal/seal-offload.ts). When that worker is busy, or the frames are too
 * long for its ring, this thread seals while the other worker writes the result
 * (internal/output-offload.ts; not for frames over OUTPUT_OFFLOAD_MAX_FRAME). Null when neither
 * is free or the one used failed part-way.
 */
async function encryptWithWorker(plaintext: Uint8Array, frameLength: number, sealer: FrameSealer, header: Buffer, size: number): Promise<Buffer<ArrayBuffer> | null> {
  const sealing = encryptThroughWorker(plaintext, frameLength, sealer, header, size);
  if (sealing !== null) {
    const sealed = await sealing;
    return sealed === null ? null : endMessage(sealed.out, sealed.end);
  }
  const output = offloadedOutput(size, frameLength);
  if (output === null) return null;
  try {
    output.write(header);
    sealBody(plaintext, frameLength, sealer, output);
  } catch (e) {
    await output.abandon();
    throw e;
  }
  return output.finish();
}

/**
 * Large signed messages use both workers. When the frames fit the sealing worker's ring, it seals
 * them while this thread writes the result and feeds it to the signer; otherwise (the default
 * 1 MiB frames), or when that worker is busy, this thread seals into the output worker's ring,
 * which writes the result, and feeds each slot to the signer. The signer hashes on the hashing
 * worker when that one is free (on this thread otherwise). Null when no worker took the message
 * or one failed part-way: the caller then writes it on its own thread.
 */
async function encryptSignedWithWorker(
  plaintext: Uint8Array, frameLength: number, sealer: FrameSealer, header: Buffer, size: number, signing: Signing,
): Promise<Buffer<ArrayBuffer> | null> {
  const sealed = await encryptSignedThroughSealer(plaintext, frameLength, sealer, header, size, signing);
  return sealed !== undefined ? sealed : encryptSignedThroughOutput(plaintext, frameLength, sealer, header, size, signing);
}

/**
 * A signer fed the message's first bytes (`first`: its header, or the output's first slot, which
 * starts with it): on the hashing worker when it is free, else on this thread. Made once a worker
 * has taken the message, so that a hashing job is not started for nothing.
 */
function startSigner(signing: Signing, first: Uint8Array): MessageSigner | OffloadedSigner {
  const signer = offloadedSigner(signing.hash, signing.key) ?? new MessageSigner(signing.hash, signing.key);
  signer.update(first);
  return signer;
}

/** Resolves once the hashing worker (if it had the job) is free for the next message. */
async function abandonSigner(signer: MessageSigner | OffloadedSigner | undefined): Promise<void> {
  if (signer !== undefined && !(signer instanceof MessageSigner)) await signer.abandon();
}

/** Through the sealing worker; undefined when it did not take the message, null when it failed part-way. */
async function encryptSignedThroughSealer(
  plaintext: Uint8Array, frameLength: number, sealer: FrameSealer, header: Buffer, size: number, signing: Signing,
): Promise<Buffer<ArrayBuffer> | null | undefined> {
  let signer: MessageSigner | OffloadedSigner | undefined;
  let signed = header.length;
  let sealed;
  try {
    const sealing = encryptThroughWorker(plaintext, frameLength, sealer, header, size, (out, end) => {
      signer ??= startSigner(signing, header);
      signer.update(out.subarray(signed, end));
      signed = end;
    });
    if (sealing === null) return undefined;
    sealed = await sealing;
  } catch (e) {
    await abandonSigner(signer);
    throw e;
  }
  if (sealed === null) {
    await abandonSigner(signer);
    return null;
  }
  const { out, end } = sealed;
  signer ??= startSigner(signing, header);
  return endMessage(out, end, await signatureOf(signer, signing, out.subarray(0, end)));
}

/**
 * This thread seals into the output worker's ring; the signer follows each slot as it is handed
 * over. Null when the output worker did not take the message (frames over
 * OUTPUT_OFFLOAD_MAX_FRAME it does not) or failed part-way.
 */
async function encryptSignedThroughOutput(
  plaintext: Uint8Array, frameLength: number, sealer: FrameSealer, header: Buffer, size: number, signing: Signing,
): Promise<Buffer<ArrayBuffer> | null> {
  let signer: MessageSigner | OffloadedSigner | undefined;
  const output = offloadedOutput(size, frameLength, (bytes) => {
    if (signer === undefined) signer = startSigner(signing, bytes);
    else signer.update(bytes);
  });
  if (output === null) return null;
  let body;
  try {
    output.write(header);
    sealBody(plaintext, frameLength, sealer, output);
    // Hands over the last slot (the signer sees it), then waits for the whole result.
    body = await output.finish();
  } catch (e) {
    await Promise.all([abandonSigner(signer), output.abandon()]);
    throw e;
  }
  if (body === null) {
    await abandonSigner(signer);
    return null;
  }
  // The worker's buffer is `size` bytes: room for the footer after the body.
  const out = Buffer.from(body.buffer, 0, size);
  return endMessage(out, body.length, await signatureOf(signer!, signing, out.subarray(0, body.length)));
}

/**
 * Framed body (client-apis/encrypt.md#construct-the-body): regular frames while more than one
 * frame of input remains, then exactly one final frame of 0..frameLength bytes. An exact
 * multiple ends in a full final frame, as the spec recommends. `sealed` sees the output offset
 * after each frame.
 */
function sealBody(plaintext: Uint8Array, frameLength: number, sealer: FrameSealer, sink: ByteSink, sealed?: (end: number, final: boolean) => void): void {
  const length = plaintext.byteLength;
  let offset = 0;
  for (let sequenceNumber = 1; ; sequenceNumber++) {
    const final = length - offset <= frameLength;
    const end = final ? length : offset + frameLength;
    const at = sink.reserve(final ? finalFrameSize(end - offset) : regularFrameSize(frameLength));
    const o = sealer.sealInto(plaintext.subarray(offset, end), final, sequenceNumber, sink.target, at);
    sink.commit(o);
    sealed?.(o, final);
    if (final) return;
    offset = end;
  }
}
