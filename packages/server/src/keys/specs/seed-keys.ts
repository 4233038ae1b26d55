import { randomBytes } from 'node:crypto';
import { nistAlgorithm, seedPkcs8, spki } from './der.js';
import type { KeyFamily } from './family.js';

/**
 * What ML-DSA and ML-KEM keys have in common: the material is a seed from the CSPRNG in PKCS#8
 * (the `seed` choice of RFC 9881 and of the IETF LAMPS ML-KEM format), the key pair is derived
 * from it on use, and only that form is imported (the stored form, rebuilt from the seed, must
 * match). The public key is the SPKI of the NIST algorithm 2.16.840.1.101.3.4.<arc>.<leaf>.
 */
export function seedKeys<Keys extends { readonly publicKey: Uint8Array }>(
  arc: number, leaf: number, seedBytes: number, keygen: (seed: Uint8Array) => Keys,
): { keysOf(material: Buffer): Keys; family: Pick<KeyFamily, 'generate' | 'importable' | 'publicKey'> } {
  const algorithm = nistAlgorithm(arc, leaf);
  const pkcs8 = (seed: Buffer) => seedPkcs8(algorithm, seed);
  const keysOf = (material: Buffer) => keygen(material.subarray(material.length - seedBytes));
  return {
    keysOf,
    family: {
      generate: async () => pkcs8(randomBytes(seedBytes)),
      importable: (material) => (material.length >= seedBytes && pkcs8(material.subarray(material.length - seedBytes)).equals(material) ? Buffer.from(material) : undefined),
      publicKey: (material) => spki(algorithm, keysOf(material).publicKey),
    },
  };
}
