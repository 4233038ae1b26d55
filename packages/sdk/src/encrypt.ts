/**
 * One-shot encryption of a buffer into an ESDK message (client-apis/encrypt.md#behavior).
 * Writes message format v2 for committing suites and v1 otherwise, always framed. The whole
 * message is written into one buffer sized up front; frames are sealed straight into it, or,
 * for large unsigned messages, by a worker (internal/seal-offload.ts; frames longer than its
 * ring: into a ring a worker copies into the result, internal/output-offload.ts).
 */
import type { CryptographicMaterialsManager } from './cmm/cmm.js';
import type { MessageHeaderInfo } from './header-info.js';
import { finalFrameSize, framedBodySize, regularFrameSize, type FrameSealer } from './internal/frames.js';
import { assertBytes } from './internal/options.js';
import { OFFLOAD_MIN_BYTES, offloadedSigner } from './internal/hash-offload.js';
import { DirectOutput, OUTPUT_OFFLOAD_MIN_BYTES, offloadedOutput, type ByteSink } from './internal/output-offload.js';
import { encryptThroughWorker } from './internal/seal-offload.js';
import { MessageSigner, prepareEncryption, type EncryptOptions, type PreparedEncryption } from './internal/encryptor.js';
import type { Keyring } from './keyrings/keyring.js';

export { DEFAULT_FRAME_LENGTH } from './internal/encryptor.js';
export type { EncryptOptions } from './internal/encryptor.js';

export interface EncryptResult {
  readonly ciphertext: Buffer;
  readonly messageHeader: MessageHeaderInfo;
}

/** Signed bytes are fed to the signer in slices of this size, while they are still in cache. */
const SIGN_CHUNK = 1 << 20;
/** u16 length ‖ DER ECDSA-Sig-Value for P-384 (at most 104 bytes). */
const MAX_FOOTER = 2 + 104;

function signWithFreshSigner(signing: NonNullable<PreparedEncryption['signing']>, signed: Uint8Array): Buffer {
  const signer = new MessageSigner(signing.hash, signing.key);
  signer.update(signed);
  return signer.sign();
}

export async function encrypt(
  keyringOrCmm: Keyring | CryptographicMaterialsManager,
  plaintext: Uint8Array,
  options: EncryptOptions = {},
): Promise<EncryptResult> {
  assertBytes(plaintext, 'plaintext');
  const { header, sealer, signer: localSigner, signing, frameLength, messageHeader } = await prepareEncryption(keyringOrCmm, options, plaintext.byteLength);
  const length = plaintext.byteLength;
  const size = header.length + framedBodySize(length, frameLength) + (signing === undefined ? 0 : MAX_FOOTER);
  if (signing === undefined && size >= OUTPUT_OFFLOAD_MIN_BYTES) {
    const ciphertext = await encryptWithWorker(plaintext, frameLength, sealer, header, size);
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
    offloaded?.abandon();
    throw e;
  }
  let o = direct.offset;
  if (signer !== undefined) {
    // Footer (data-format/message-footer.md): the signature over header and body.
    let signature = offloaded === null ? localSigner!.sign() : await offloaded.sign();
    // The worker failed: sign here, over the same bytes.
    signature ??= signWithFreshSigner(signing!, out.subarray(0, o));
    o = out.writeUInt16BE(signature.length, o);
    o += signature.copy(out, o);
  }
  // Never hand out uninitialised memory, not even past the end of the returned view.
  out.fill(0, o);
  return { ciphertext: out.subarray(0, o), messageHeader };
}

/**
 * Large unsigned messages use the second core: a worker seals the frames while this thread
 * writes the result (internal/seal-offload.ts). When that worker is busy, or the frames are too
 * long for its ring, this thread seals while the other worker writes the result
 * (internal/output-offload.ts). Null when neither is free or the one used failed part-way.
 */
async function encryptWithWorker(plaintext: Uint8Array, frameLength: number, sealer: FrameSealer, header: Buffer, size: number): Promise<Buffer | null> {
  const sealed = encryptThroughWorker(plaintext, frameLength, sealer, header, size);
  if (sealed !== null) return sealed;
  const output = offloadedOutput(size);
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
