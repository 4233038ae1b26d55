/**
 * Footer (data-format/message-footer.md): u16 signature length, DER ECDSA-Sig-Value over every
 * byte before the footer. Present exactly when the suite signs.
 */
import { ByteReader, u16Prefixed } from '../internal/bytes.js';

export function serializeFooter(signature: Uint8Array): Buffer {
  return u16Prefixed(signature, 'signature');
}

export function readFooter(r: ByteReader): Buffer {
  return r.u16Prefixed('signature');
}
