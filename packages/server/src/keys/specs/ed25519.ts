import { createHash, createPublicKey, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { eddsa } from '@noble/curves/abstract/edwards.js';
import { ed25519 } from '@noble/curves/ed25519.js';
import type { KeyFamily } from './family.js';
import { importPkcs8 } from './pkcs8.js';
import { privateKeyObject } from './private-key.js';

const generate = promisify(generateKeyPair);
const sha512 = (data: Uint8Array): Uint8Array => new Uint8Array(createHash('sha512').update(data).digest());

/**
 * Ed25519ph (RFC 8032 §5.1) over a given SHA-512 digest: noble's audited EdDSA with the Ed25519
 * parameters, the dom2 prefix with the pre-hash flag, and the identity as the pre-hash, since the
 * caller (or `digestOf`) already hashed the message. node:crypto has no Ed25519ph.
 */
const ed25519phOfDigest = eddsa(ed25519.Point, sha512, {
  adjustScalarBytes: (bytes: Uint8Array) => {
    bytes[0]! &= 248;
    bytes[31]! &= 127;
    bytes[31]! |= 64;
    return bytes;
  },
  domain: (data: Uint8Array, context: Uint8Array, phflag: boolean) => Buffer.concat([
    Buffer.from('SigEd25519 no Ed25519 collisions', 'ascii'), Buffer.from([phflag ? 1 : 0, context.length]), context, data,
  ]),
  prehash: (digest: Uint8Array) => digest,
});

const privateKeyOf = (material: Buffer): KeyObject => privateKeyObject(material);
const jwkBytes = (key: KeyObject, member: 'd' | 'x'): Buffer => Buffer.from(key.export({ format: 'jwk' })[member] ?? '', 'base64url');
const digestOf = (message: Buffer, messageType: string): Buffer => (messageType === 'DIGEST' ? message : Buffer.from(sha512(message)));

/** Ed25519 (RFC 8032): pure EdDSA over the raw message (ED25519_SHA_512), or Ed25519ph (ED25519_PH_SHA_512). */
export function ed25519Family(): KeyFamily {
  return {
    generate: async () => (await generate('ed25519')).privateKey.export({ format: 'der', type: 'pkcs8' }),
    importable: (material) => importPkcs8(material, (key) => key.asymmetricKeyType === 'ed25519'),
    publicKey: (material) => createPublicKey(privateKeyOf(material)).export({ format: 'der', type: 'spki' }),
    sign: (material, algorithm, message, messageType) => {
      const key = privateKeyOf(material);
      if (algorithm === 'ED25519_SHA_512') return sign(null, message, key);
      return Buffer.from(ed25519phOfDigest.sign(digestOf(message, messageType), jwkBytes(key, 'd')));
    },
    verify: (material, algorithm, message, messageType, signature) => {
      const key = createPublicKey(privateKeyOf(material));
      try {
        if (algorithm === 'ED25519_SHA_512') return verify(null, message, key, signature);
        return ed25519phOfDigest.verify(signature, digestOf(message, messageType), jwkBytes(key, 'x'));
      } catch {
        return false;
      }
    },
  };
}
