import { randomBytes } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import type { KeyFamily } from './family.js';

/**
 * ML-DSA (FIPS 204). Node 20's OpenSSL has none, so the audited @noble/post-quantum signs. The
 * material is the 32-byte seed in PKCS#8 (RFC 9881, the `seed` choice); the keys derive from it.
 */
const PARAMETERS = {
  44: { dsa: ml_dsa44, oid: 0x11 },
  65: { dsa: ml_dsa65, oid: 0x12 },
  87: { dsa: ml_dsa87, oid: 0x13 },
} as const;

/** AlgorithmIdentifier of id-ml-dsa-44/65/87 (2.16.840.1.101.3.4.3.17..19), no parameters. */
const algorithmIdentifier = (oid: number) => Buffer.from([0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x03, oid]);

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  return Buffer.from([0x82, length >> 8, length & 0xff]);
}
const tlv = (tag: number, body: Buffer) => Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);

export function mlDsaFamily(level: 44 | 65 | 87): KeyFamily {
  const { dsa, oid } = PARAMETERS[level];
  const pkcs8 = (seed: Buffer) => tlv(0x30, Buffer.concat([
    Buffer.from([0x02, 0x01, 0x00]), algorithmIdentifier(oid), tlv(0x04, tlv(0x80, seed)),
  ]));
  const keysOf = (material: Buffer) => {
    const seed = material.subarray(material.length - 32);
    return dsa.keygen(seed);
  };
  return {
    generate: async () => pkcs8(randomBytes(32)),
    // Only the seed form of RFC 9881 is taken: the stored form, rebuilt from the seed, must match.
    importable: (material) => (material.length >= 32 && pkcs8(material.subarray(material.length - 32)).equals(material) ? Buffer.from(material) : undefined),
    publicKey: (material) => tlv(0x30, Buffer.concat([
      algorithmIdentifier(oid), tlv(0x03, Buffer.concat([Buffer.from([0]), Buffer.from(keysOf(material).publicKey)])),
    ])),
    sign: (material, _algorithm, message) => Buffer.from(dsa.sign(message, keysOf(material).secretKey)),
    verify: (material, _algorithm, message, _messageType, signature) => {
      try {
        return dsa.verify(signature, message, keysOf(material).publicKey);
      } catch {
        return false;
      }
    },
  };
}
