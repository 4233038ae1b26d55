import { randomBytes } from 'node:crypto';
import { ml_kem1024, ml_kem512, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import type { KeyFamily } from './family.js';
import { seedKeys } from './seed-keys.js';

/**
 * ML-KEM (FIPS 203), by the audited @noble/post-quantum as ML-DSA is. The material is the 64-byte
 * seed (d || z) in PKCS#8, the `seed` choice of the IETF LAMPS ML-KEM key format; the key pair
 * derives from it. The algorithms are id-alg-ml-kem-512/768/1024 (2.16.840.1.101.3.4.4.1..3).
 */
const PARAMETERS = {
  512: { kem: ml_kem512, oid: 0x01 },
  768: { kem: ml_kem768, oid: 0x02 },
  1024: { kem: ml_kem1024, oid: 0x03 },
} as const;

/** The message encapsulated: 32 bytes from node's CSPRNG, not the library's own source. */
const MESSAGE_BYTES = 32;

export function mlKemFamily(level: 512 | 768 | 1024): KeyFamily {
  const { kem, oid } = PARAMETERS[level];
  const { keysOf, family } = seedKeys(0x04, oid, 64, (seed) => kem.keygen(seed));
  return {
    ...family,
    encapsulate: (material) => {
      const { cipherText, sharedSecret } = kem.encapsulate(keysOf(material).publicKey, randomBytes(MESSAGE_BYTES));
      return { ciphertext: Buffer.from(cipherText), sharedSecret: Buffer.from(sharedSecret) };
    },
    // A ciphertext of the right length always gives 32 bytes: a wrong or altered one a
    // pseudo-random secret (FIPS 203's implicit rejection), as AWS documents for Decapsulate.
    decapsulate: (material, ciphertext) => {
      if (ciphertext.length !== kem.lengths.cipherText) return undefined;
      const { secretKey } = keysOf(material);
      try {
        return Buffer.from(kem.decapsulate(ciphertext, secretKey));
      } finally {
        secretKey.fill(0);
      }
    },
  };
}
