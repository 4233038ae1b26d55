import { randomBytes } from 'node:crypto';
import { ml_kem1024, ml_kem512, ml_kem768 } from '@noble/post-quantum/ml-kem.js';
import { nistAlgorithm, seedPkcs8, spki } from './der.js';
import type { KeyFamily } from './family.js';

/**
 * ML-KEM (FIPS 203), by the audited @noble/post-quantum as ML-DSA is. The material is the 64-byte
 * seed (d || z) in PKCS#8, the `seed` choice of the IETF LAMPS ML-KEM key format; the key pair
 * derives from it. The public key is a SubjectPublicKeyInfo of id-alg-ml-kem-512/768/1024.
 */
const PARAMETERS = {
  512: { kem: ml_kem512, oid: 0x01 },
  768: { kem: ml_kem768, oid: 0x02 },
  1024: { kem: ml_kem1024, oid: 0x03 },
} as const;

const SEED_BYTES = 64;
/** The message encapsulated: 32 bytes from the CSPRNG, never the library's own source. */
const MESSAGE_BYTES = 32;

export function mlKemFamily(level: 512 | 768 | 1024): KeyFamily {
  const { kem, oid } = PARAMETERS[level];
  // id-alg-ml-kem-512/768/1024: 2.16.840.1.101.3.4.4.1..3.
  const algorithm = nistAlgorithm(0x04, oid);
  const pkcs8 = (seed: Buffer) => seedPkcs8(algorithm, seed);
  const keysOf = (material: Buffer) => kem.keygen(material.subarray(material.length - SEED_BYTES));
  return {
    generate: async () => pkcs8(randomBytes(SEED_BYTES)),
    // Only the seed form is taken: the stored form, rebuilt from the seed, must match.
    importable: (material) => (material.length >= SEED_BYTES && pkcs8(material.subarray(material.length - SEED_BYTES)).equals(material) ? Buffer.from(material) : undefined),
    publicKey: (material) => spki(algorithm, keysOf(material).publicKey),
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
