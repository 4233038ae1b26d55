/**
 * Encrypted data key entries (data-format/message-header.md#encrypted-data-keys):
 * u16 count (> 0), then per key u16-prefixed provider ID (UTF-8), provider info and ciphertext.
 */
import { ByteReader, UINT16_MAX, u16, u16Prefixed } from '../internal/bytes.js';
import { MalformedMessageError, PolicyViolationError } from '../errors.js';
import type { EncryptedDataKey } from '../materials.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function serializeEncryptedDataKeys(edks: readonly EncryptedDataKey[]): Buffer {
  if (edks.length === 0) throw new TypeError('a message needs at least one encrypted data key');
  if (edks.length > UINT16_MAX) throw new RangeError('more than 65535 encrypted data keys');
  const parts: Buffer[] = [u16(edks.length)];
  for (const edk of edks) {
    parts.push(
      u16Prefixed(Buffer.from(edk.providerId, 'utf8'), 'key provider ID'),
      u16Prefixed(edk.providerInfo, 'key provider info'),
      u16Prefixed(edk.ciphertext, 'encrypted data key'),
    );
  }
  return Buffer.concat(parts);
}

/**
 * Reads the EDK list; fails on the count alone when it exceeds `maxEncryptedDataKeys`, before
 * reading (or asking any keyring about) a single entry (client-apis/decrypt.md#parse-the-header).
 */
export function readEncryptedDataKeys(r: ByteReader, maxEncryptedDataKeys: number): EncryptedDataKey[] {
  const count = r.u16('encrypted data key count');
  if (count === 0) throw new MalformedMessageError('message has no encrypted data keys');
  if (count > maxEncryptedDataKeys) throw new PolicyViolationError('message has more encrypted data keys than allowed');
  const edks: EncryptedDataKey[] = [];
  for (let i = 0; i < count; i++) {
    const idBytes = r.u16Prefixed('key provider ID');
    let providerId: string;
    try {
      providerId = utf8.decode(idBytes);
    } catch {
      throw new MalformedMessageError('key provider ID is not valid UTF-8');
    }
    const providerInfo = Buffer.from(r.u16Prefixed('key provider info'));
    const ciphertext = Buffer.from(r.u16Prefixed('encrypted data key'));
    edks.push(Object.freeze({ providerId, providerInfo, ciphertext }));
  }
  return edks;
}
