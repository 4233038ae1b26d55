import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { MacAlgorithm } from '../enums.js';
import { shaOf, type KeyFamily } from './family.js';

/** HMAC keys (RFC 2104): the material is the key itself, as long as the digest. */
export function hmacFamily(bits: 224 | 256 | 384 | 512): KeyFamily {
  const mac = (material: Buffer, algorithm: MacAlgorithm, message: Buffer): Buffer =>
    createHmac(shaOf(algorithm), material).update(message).digest();
  // AWS takes imported HMAC keys from the digest length up to the hash's block size.
  const maxImported = bits <= 256 ? 64 : 128;
  return {
    generate: async () => randomBytes(bits / 8),
    importable: (material) => (material.length >= bits / 8 && material.length <= maxImported ? Buffer.from(material) : undefined),
    mac,
  };
}

/** Compares MACs in constant time. */
export function macEquals(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
