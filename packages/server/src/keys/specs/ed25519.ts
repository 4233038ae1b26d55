import { createPublicKey, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { ed25519ph } from '@noble/curves/ed25519.js';
import type { KeyFamily } from './family.js';
import { importPkcs8, parsesAs } from './pkcs8.js';
import { privateKeyObject } from './private-key.js';

const generate = promisify(generateKeyPair);

const privateKeyOf = (material: Buffer): KeyObject => privateKeyObject(material);
const jwkBytes = (key: KeyObject, member: 'd' | 'x'): Buffer => Buffer.from(key.export({ format: 'jwk' })[member] ?? '', 'base64url');

/**
 * Ed25519 (RFC 8032): pure EdDSA over a RAW message (ED25519_SHA_512), or Ed25519ph
 * (ED25519_PH_SHA_512, FIPS 186-5 HashEdDSA) over the message KMS is given, which for that
 * algorithm is always a 64-byte DIGEST (`checkMessage`). AWS documents that KMS still applies the
 * SHA-512 pre-hash to that digest, so it is hashed twice, once by the caller and once here: noble's
 * audited ed25519ph does exactly that, and node:crypto has no Ed25519ph.
 */
export function ed25519Family(): KeyFamily {
  return {
    generate: async () => (await generate('ed25519')).privateKey.export({ format: 'der', type: 'pkcs8' }),
    importable: (material) => importPkcs8(material, (key) => key.asymmetricKeyType === 'ed25519'),
    holds: (material) => parsesAs(material, (key) => key.asymmetricKeyType === 'ed25519'),
    publicKey: (material) => createPublicKey(privateKeyOf(material)).export({ format: 'der', type: 'spki' }),
    sign: (material, algorithm, message) => {
      const key = privateKeyOf(material);
      if (algorithm === 'ED25519_SHA_512') return sign(null, message, key);
      return Buffer.from(ed25519ph.sign(message, jwkBytes(key, 'd')));
    },
    verify: (material, algorithm, message, _messageType, signature) => {
      const key = createPublicKey(privateKeyOf(material));
      try {
        if (algorithm === 'ED25519_SHA_512') return verify(null, message, key, signature);
        return ed25519ph.verify(signature, message, jwkBytes(key, 'x'));
      } catch {
        return false;
      }
    },
  };
}
