import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import type { KeyFamily } from './family.js';
import { seedKeys } from './seed-keys.js';

/**
 * ML-DSA (FIPS 204). Node 20's OpenSSL has none, so the audited @noble/post-quantum signs. The
 * material is the 32-byte seed in PKCS#8 (RFC 9881, the `seed` choice); the keys derive from it.
 * The algorithms are id-ml-dsa-44/65/87 (2.16.840.1.101.3.4.3.17..19).
 */
const PARAMETERS = {
  44: { dsa: ml_dsa44, oid: 0x11 },
  65: { dsa: ml_dsa65, oid: 0x12 },
  87: { dsa: ml_dsa87, oid: 0x13 },
} as const;

export function mlDsaFamily(level: 44 | 65 | 87): KeyFamily {
  const { dsa, oid } = PARAMETERS[level];
  const { keysOf, family } = seedKeys(0x03, oid, 32, (seed) => dsa.keygen(seed));
  return {
    ...family,
    // EXTERNAL_MU: the message is mu itself (FIPS 204, Algorithm 7 from its line 6 on), the same
    // signature as of the message mu was made from, so a RAW Verify of that message accepts it.
    sign: (material, _algorithm, message, messageType) => {
      const { secretKey } = keysOf(material);
      try {
        return Buffer.from(messageType === 'EXTERNAL_MU' ? dsa.internal.sign(message, secretKey, { externalMu: true }) : dsa.sign(message, secretKey));
      } finally {
        secretKey.fill(0);
      }
    },
    verify: (material, _algorithm, message, messageType, signature) => {
      const { publicKey } = keysOf(material);
      try {
        return messageType === 'EXTERNAL_MU' ? dsa.internal.verify(signature, message, publicKey, { externalMu: true }) : dsa.verify(signature, message, publicKey);
      } catch {
        return false;
      }
    },
  };
}
