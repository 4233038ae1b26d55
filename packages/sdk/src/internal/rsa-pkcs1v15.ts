/**
 * RSAES-PKCS1-v1_5 decryption (RFC 8017 section 7.2.2) for the raw RSA keyring's `pkcs1`
 * padding, done here because Node 20 refuses RSA_PKCS1_PADDING for private decryption
 * (CVE-2023-46809, the Marvin timing attack on OpenSSL's unpadding).
 *
 * Defence used instead: the raw RSA operation (RSA_NO_PADDING) followed by a branch-free
 * padding check for the one message length the suite allows, and *implicit rejection*: a bad
 * padding yields a deterministic pseudo-random key (HMAC of the ciphertext under a secret that
 * lives only in the keyring instance) instead of an error. The caller then fails later, at the
 * header authentication tag, exactly as with a wrong but well-padded key, so neither an error
 * type nor an early exit tells an attacker whether the padding was valid. JavaScript gives no
 * hard constant-time guarantee; the loop below avoids data-dependent branches and lookups.
 */
import { constants, createHmac, privateDecrypt, type KeyObject } from 'node:crypto';

export function pkcs1v15DecryptImplicit(privateKey: KeyObject, ciphertext: Uint8Array, messageLength: number, rejectionSecret: Uint8Array): Buffer {
  const synthetic = createHmac('sha256', rejectionSecret).update(ciphertext).digest().subarray(0, messageLength);
  const em = privateDecrypt({ key: privateKey, padding: constants.RSA_NO_PADDING }, ciphertext);
  const k = em.length;
  const sep = k - messageLength - 1; // index of the 0x00 separator
  // EM = 00 ‖ 02 ‖ PS (>= 8 non-zero bytes) ‖ 00 ‖ M, with |M| fixed by the suite.
  let bad = sep < 10 ? 1 : 0;
  if (bad === 0) {
    bad |= em[0]!;
    bad |= em[1]! ^ 0x02;
    bad |= em[sep]!;
    for (let i = 2; i < sep; i++) {
      // 1 when em[i] === 0, else 0, without branching on the byte.
      bad |= ((em[i]! - 1) >>> 31) & 1;
    }
  }
  // mask = 0xff when the padding is good, 0x00 otherwise.
  const mask = ((((bad | -bad) >>> 31) & 1) - 1) & 0xff;
  const out = Buffer.alloc(messageLength);
  for (let i = 0; i < messageLength; i++) {
    const m = sep >= 10 ? em[sep + 1 + i]! : 0;
    out[i] = (m & mask) | (synthetic[i]! & ~mask & 0xff);
  }
  em.fill(0);
  return out;
}
