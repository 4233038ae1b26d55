/**
 * The ciphertext blob of symmetric Encrypt, GenerateDataKey* and ReEncrypt. The layout is
 * specified in docs/ciphertext-blob.md; this module is its only reader and writer.
 *
 *   offset  size  field
 *   0       1     format version, 0x01
 *   1       1     key id length L (1..255)
 *   2       L     key id, ASCII
 *   2+L     4     backing-key version, uint32 big-endian
 *   6+L     12    IV, random
 *   18+L    n     AES-256-GCM ciphertext
 *   end-16  16    GCM tag
 *
 * The AAD is the header (bytes 0 .. 18+L, the IV included) followed by the canonical encryption
 * context, so changing any header byte or the context makes the tag fail.
 */
import { createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto';

export const BLOB_FORMAT_V1 = 0x01;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

/**
 * IVs are cut from a pool the CSPRNG fills 4 KiB at a time: one call into the CSPRNG costs about
 * as much as sealing 1 KiB, and IVs are not secret. Each IV is copied out and used once; the pool
 * is refilled, never reread.
 */
const IV_POOL = Buffer.alloc(IV_LENGTH * 341);
let ivOffset = IV_POOL.length;

function freshIv(into: Buffer, at: number): Buffer {
  if (ivOffset + IV_LENGTH > IV_POOL.length) {
    randomFillSync(IV_POOL);
    ivOffset = 0;
  }
  IV_POOL.copy(into, at, ivOffset, ivOffset + IV_LENGTH);
  ivOffset += IV_LENGTH;
  return into.subarray(at, at + IV_LENGTH);
}

export interface BlobHeader {
  readonly keyId: string;
  readonly version: number;
}

interface ParsedBlob extends BlobHeader {
  readonly header: Buffer;
  readonly iv: Buffer;
  readonly body: Buffer;
  readonly tag: Buffer;
}

/** The key id and version a blob names, or undefined if it is not a well-formed blob. */
export function parseBlob(blob: Uint8Array): ParsedBlob | undefined {
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  if (bytes.length < 2 || bytes[0] !== BLOB_FORMAT_V1) return undefined;
  const idLength = bytes[1]!;
  const headerLength = 2 + idLength + 4 + IV_LENGTH;
  if (idLength === 0 || bytes.length < headerLength + TAG_LENGTH) return undefined;
  const keyId = bytes.toString('latin1', 2, 2 + idLength);
  if (!/^[\x21-\x7e]+$/.test(keyId)) return undefined;
  return {
    keyId,
    version: bytes.readUInt32BE(2 + idLength),
    header: bytes.subarray(0, headerLength),
    iv: bytes.subarray(headerLength - IV_LENGTH, headerLength),
    body: bytes.subarray(headerLength, bytes.length - TAG_LENGTH),
    tag: bytes.subarray(bytes.length - TAG_LENGTH),
  };
}

export function sealBlob(key: Uint8Array, header: BlobHeader, plaintext: Uint8Array, context: Uint8Array): Buffer {
  const id = Buffer.from(header.keyId, 'latin1');
  if (id.length === 0 || id.length > 255) throw new TypeError('key id must be 1..255 bytes');
  // The whole blob in one buffer: header, IV, ciphertext (as long as the plaintext), tag.
  const headerLength = 2 + id.length + 4 + IV_LENGTH;
  const blob = Buffer.allocUnsafe(headerLength + plaintext.length + TAG_LENGTH);
  blob[0] = BLOB_FORMAT_V1;
  blob[1] = id.length;
  id.copy(blob, 2);
  blob.writeUInt32BE(header.version, 2 + id.length);
  const iv = freshIv(blob, headerLength - IV_LENGTH);
  const headerBytes = blob.subarray(0, headerLength);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(context.length === 0 ? headerBytes : Buffer.concat([headerBytes, context]));
  const body = cipher.update(plaintext);
  const rest = cipher.final();
  body.copy(blob, headerLength);
  rest.copy(blob, headerLength + body.length);
  if (body.length + rest.length !== plaintext.length) throw new Error('AES-GCM produced a ciphertext of unexpected length');
  cipher.getAuthTag().copy(blob, headerLength + plaintext.length);
  return blob;
}

/** The plaintext, or undefined if the tag does not verify under this key and context. */
export function openBlob(key: Uint8Array, blob: ParsedBlob, context: Uint8Array): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', key, blob.iv, { authTagLength: TAG_LENGTH });
  decipher.setAAD(Buffer.concat([blob.header, context]));
  decipher.setAuthTag(blob.tag);
  try {
    return Buffer.concat([decipher.update(blob.body), decipher.final()]);
  } catch {
    return undefined;
  }
}
