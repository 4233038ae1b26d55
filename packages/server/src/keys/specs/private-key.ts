import { createPrivateKey, type KeyObject } from 'node:crypto';

/**
 * A backing key's private key (PKCS#8 DER) as a KeyObject, parsed once per unwrapped material.
 * Parsing is the dear part of an asymmetric operation (an EC import derives the public point:
 * ~500 µs, where the ECDSA signature itself is ~40 µs). Keyed by the material buffer the backing
 * key cache holds, so the KeyObject lives exactly as long as the unwrapped material does.
 */
const parsed = new WeakMap<Buffer, KeyObject>();

export function privateKeyObject(material: Buffer): KeyObject {
  let key = parsed.get(material);
  if (!key) {
    key = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
    parsed.set(material, key);
  }
  return key;
}
