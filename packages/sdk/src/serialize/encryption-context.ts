/**
 * Encryption context serialization (framework/structures.md#serialization): u16 pair count,
 * then per pair u16-prefixed UTF-8 key and value, sorted by the key's UTF-8 bytes. An empty
 * context serializes to zero bytes. The same bytes are the header AAD field, the raw AES
 * keyring's AAD and the header-authentication suffix for required keys.
 */
import { ByteReader, UINT16_MAX, u16, u16Prefixed } from '../internal/bytes.js';
import { MalformedMessageError } from '../errors.js';
import type { EncryptionContext } from '../encryption-context.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function serializeEncryptionContext(ec: EncryptionContext): Buffer {
  // Sort by UTF-8 bytes, not by UTF-16 code units or locale: they disagree above U+FFFF.
  return serializeInOrder(ec, ([a], [b]) => Buffer.compare(a, b));
}

/**
 * The same pairs in the order the official JavaScript SDK's raw AES keyring uses unless it is
 * built with `utf8Sorting: true` (its default: String.prototype.localeCompare of the keys; the
 * SDK's issue #428). A data key that keyring wrapped authenticates these bytes, which differ from
 * the specification's when keys mix case or leave ASCII. Read to decrypt such keys, never written.
 */
export function serializeEncryptionContextInLocaleOrder(ec: EncryptionContext): Buffer {
  return serializeInOrder(ec, ([, , a], [, , b]) => a.localeCompare(b));
}

type Pair = readonly [key: Buffer, value: Buffer, text: string];

function serializeInOrder(ec: EncryptionContext, order: (a: Pair, b: Pair) => number): Buffer {
  const pairs = Object.entries(ec).map(([k, v]): Pair => [Buffer.from(k, 'utf8'), Buffer.from(v, 'utf8'), k]);
  if (pairs.length === 0) return Buffer.alloc(0);
  if (pairs.length > UINT16_MAX) throw new RangeError('encryption context has more than 65535 pairs');
  pairs.sort(order);
  const parts: Buffer[] = [u16(pairs.length)];
  for (const [k, v] of pairs) parts.push(u16Prefixed(k, 'encryption context key'), u16Prefixed(v, 'encryption context value'));
  const out = Buffer.concat(parts);
  if (out.length > UINT16_MAX) throw new RangeError('serialized encryption context is longer than 65535 bytes');
  return out;
}

/** Parses the header's AAD field; `bytes` is exactly the field (its length came from the header). */
export function deserializeEncryptionContext(bytes: Uint8Array): Record<string, string> {
  const ec: Record<string, string> = Object.create(null);
  if (bytes.byteLength === 0) return ec;
  const r = new ByteReader(bytes, 0, 'encryption context');
  const count = r.u16('pair count');
  if (count === 0) throw new MalformedMessageError('encryption context has a zero pair count');
  for (let i = 0; i < count; i++) {
    const key = decodeUtf8(r.u16Prefixed('key'));
    const value = decodeUtf8(r.u16Prefixed('value'));
    if (Object.hasOwn(ec, key)) throw new MalformedMessageError('encryption context has a duplicate key');
    ec[key] = value;
  }
  if (r.remaining !== 0) throw new MalformedMessageError('encryption context length does not match its pairs');
  return ec;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new MalformedMessageError('encryption context is not valid UTF-8');
  }
}
