/**
 * AES-GCM with a 12-byte IV and 16-byte tag, the only AEAD of the ESDK suites and of the raw
 * AES keyring. A failed tag check returns null so each caller decides which named error it is.
 */
import { createCipheriv, createDecipheriv, type CipherGCMTypes } from 'node:crypto';

const TAG_LENGTH = 16;

function cipherName(key: Uint8Array): CipherGCMTypes {
  switch (key.byteLength) {
    case 16: return 'aes-128-gcm';
    case 24: return 'aes-192-gcm';
    case 32: return 'aes-256-gcm';
    default: throw new RangeError('AES key must be 16, 24 or 32 bytes');
  }
}

export function gcmEncrypt(key: Uint8Array, iv: Uint8Array, plaintext: Uint8Array, aad: Uint8Array): { ciphertext: Buffer; tag: Buffer } {
  const cipher = createCipheriv(cipherName(key), key, iv, { authTagLength: TAG_LENGTH });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { ciphertext, tag: cipher.getAuthTag() };
}

/** Plaintext, or null when the tag does not verify. Unverified output is never returned. */
export function gcmDecrypt(key: Uint8Array, iv: Uint8Array, ciphertext: Uint8Array, tag: Uint8Array, aad: Uint8Array): Buffer | null {
  if (tag.byteLength !== TAG_LENGTH) return null;
  const decipher = createDecipheriv(cipherName(key), key, iv, { authTagLength: TAG_LENGTH });
  decipher.setAuthTag(tag);
  decipher.setAAD(aad);
  const out = decipher.update(ciphertext);
  try {
    decipher.final();
  } catch {
    out.fill(0);
    return null;
  }
  return out;
}
