import { ValidationException } from '../errors.js';

export type EncryptionContext = Readonly<Record<string, string>>;

/** A bound on the canonical size, so a context cannot make a ciphertext's AAD unbounded. */
export const MAX_ENCRYPTION_CONTEXT_BYTES = 8192;

/**
 * The canonical, injective byte form of an encryption context, bound into a ciphertext as AAD.
 *
 * Pairs are sorted by the UTF-8 bytes of their keys, and every key and value is length-prefixed
 * (uint32 big-endian), after a uint32 pair count. Length prefixes make the encoding injective:
 * {"a":"bc"} and {"ab":"c"} produce different bytes, so they never authenticate alike. Sorting
 * makes it independent of the order the client sent the pairs in. See docs/ciphertext-blob.md.
 */
export function canonicalEncryptionContext(context: EncryptionContext | undefined): Buffer {
  checkEncryptionContext(context ?? {});
  const pairs = Object.entries(context ?? {})
    .map(([k, v]) => [utf8(k), utf8(v)] as const)
    .sort((a, b) => Buffer.compare(a[0], b[0]));
  const parts: Buffer[] = [u32(pairs.length)];
  for (const [k, v] of pairs) parts.push(u32(k.length), k, u32(v.length), v);
  return Buffer.concat(parts);
}

/**
 * Refuses a context a ciphertext cannot bind: one with a lone surrogate, which has no UTF-8 form
 * (the encoder would write U+FFFD for it, so "\ud800" and "\ufffd" would authenticate alike), or
 * over MAX_ENCRYPTION_CONTEXT_BYTES of keys and values. Requests check it as they are read
 * (validate/members.ts), before a key's policies read every value.
 */
export function checkEncryptionContext(context: EncryptionContext): void {
  let bytes = 0;
  for (const [key, value] of Object.entries(context)) {
    if (LONE_SURROGATE.test(key) || LONE_SURROGATE.test(value)) {
      throw new ValidationException('Encryption context keys and values must be valid Unicode; one contains an unpaired surrogate.');
    }
    bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  }
  if (bytes > MAX_ENCRYPTION_CONTEXT_BYTES) {
    throw new ValidationException(`The encryption context is larger than ${MAX_ENCRYPTION_CONTEXT_BYTES} bytes of keys and values.`);
  }
}

const LONE_SURROGATE = /\p{Cs}/u;

function utf8(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}
