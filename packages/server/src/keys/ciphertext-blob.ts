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
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

export const BLOB_FORMAT_V1 = 0x01;
const IV_LENGTH = 12;
const TAG_LENGTH = 16;

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
  const iv = randomBytes(IV_LENGTH);
  const prefix = Buffer.alloc(2 + id.length + 4);
  prefix[0] = BLOB_FORMAT_V1;
  prefix[1] = id.length;
  id.copy(prefix, 2);
  prefix.writeUInt32BE(header.version, 2 + id.length);
  const headerBytes = Buffer.concat([prefix, iv]);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.concat([headerBytes, context]));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([headerBytes, body, cipher.getAuthTag()]);
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
