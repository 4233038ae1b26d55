import { randomBytes } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import { nistAlgorithm, seedPkcs8, spki } from './der.js';
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

const SEED_BYTES = 32;

export function mlDsaFamily(level: 44 | 65 | 87): KeyFamily {
  const { dsa, oid } = PARAMETERS[level];
  // id-ml-dsa-44/65/87: 2.16.840.1.101.3.4.3.17..19.
  const algorithm = nistAlgorithm(0x03, oid);
  const pkcs8 = (seed: Buffer) => seedPkcs8(algorithm, seed);
  const keysOf = (material: Buffer) => dsa.keygen(material.subarray(material.length - SEED_BYTES));
  return {
    generate: async () => pkcs8(randomBytes(SEED_BYTES)),
    // Only the seed form of RFC 9881 is taken: the stored form, rebuilt from the seed, must match.
    importable: (material) => (material.length >= SEED_BYTES && pkcs8(material.subarray(material.length - SEED_BYTES)).equals(material) ? Buffer.from(material) : undefined),
    publicKey: (material) => spki(algorithm, keysOf(material).publicKey),
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
