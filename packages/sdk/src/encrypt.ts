/**
 * One-shot encryption of a buffer into an ESDK message (client-apis/encrypt.md#behavior).
 * Writes message format v2 for committing suites and v1 otherwise, always framed. The whole
 * message is written into one buffer sized up front; frames are sealed straight into it.
 */
import type { CryptographicMaterialsManager } from './cmm/cmm.js';
import type { MessageHeaderInfo } from './header-info.js';
import { framedBodySize } from './internal/frames.js';
import { assertBytes } from './internal/options.js';
import { OFFLOAD_MIN_BYTES, offloadedSigner } from './internal/hash-offload.js';
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
  const out = Buffer.allocUnsafe(header.length + framedBodySize(length, frameLength) + (signing === undefined ? 0 : MAX_FOOTER));
  // Large signed messages: the second core hashes and signs while this thread seals frames.
  const offloaded = signing !== undefined && length >= OFFLOAD_MIN_BYTES ? offloadedSigner(signing.hash, signing.key) : null;
  offloaded?.update(header);
  const signer = offloaded ?? localSigner;
  let o = header.copy(out, 0);
  let signed = o;
  // Framed body (client-apis/encrypt.md#construct-the-body): regular frames while more than
  // one frame of input remains, then exactly one final frame of 0..frameLength bytes. An exact
  // multiple ends in a full final frame, as the spec recommends.
  let offset = 0;
  try {
    for (let sequenceNumber = 1; ; sequenceNumber++) {
      const final = length - offset <= frameLength;
      const end = final ? length : offset + frameLength;
      o = sealer.sealInto(plaintext.subarray(offset, end), final, sequenceNumber, out, o);
      if (signer !== undefined && (o - signed >= SIGN_CHUNK || final)) {
        signer.update(out.subarray(signed, o));
        signed = o;
      }
      if (final) break;
      offset = end;
    }
  } catch (e) {
    offloaded?.abandon();
    throw e;
  }
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
