import { createPublicKey, diffieHellman, generateKeyPair, sign, verify, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { shaOf, type KeyFamily } from './family.js';
import { ecPrivateKeyHolds, ecPublicKeyFromSpki, importEcPrivateKey, nobleCurve } from './ec-keys.js';
import { privateKeyObject } from './private-key.js';

const generate = promisify(generateKeyPair);

export type EccCurve = 'prime256v1' | 'secp384r1' | 'secp521r1' | 'secp256k1';

const privateKeyOf = (material: Buffer): KeyObject => privateKeyObject(material);
const fromBase64Url = (value: string | undefined): Buffer => Buffer.from(value ?? '', 'base64url');

/** NIST and SECG curves: ECDSA signatures in DER (as AWS returns them) and ECDH. */
export function eccFamily(curve: EccCurve): KeyFamily {
  // node:crypto signs only what it hashes itself; a given digest is signed with noble's audited ECDSA.
  const noble = nobleCurve(curve);
  return {
    generate: async () => {
      const { privateKey } = await generate('ec', { namedCurve: curve });
      return privateKey.export({ format: 'der', type: 'pkcs8' });
    },
    importable: (material) => importEcPrivateKey(material, curve),
    holds: (material) => ecPrivateKeyHolds(material, curve),
    publicKey: (material) => createPublicKey(privateKeyOf(material)).export({ format: 'der', type: 'spki' }),
    sign: (material, algorithm, message, messageType) => {
      const key = privateKeyOf(material);
      if (messageType === 'RAW') return sign(shaOf(algorithm), message, { key, dsaEncoding: 'der' });
      const d = fromBase64Url(key.export({ format: 'jwk' }).d);
      const compact = noble.sign(message, d, { prehash: false, lowS: false });
      return Buffer.from(noble.Signature.fromBytes(compact, 'compact').toBytes('der'));
    },
    verify: (material, algorithm, message, messageType, signature) => {
      const key = createPublicKey(privateKeyOf(material));
      try {
        if (messageType === 'RAW') return verify(shaOf(algorithm), message, { key, dsaEncoding: 'der' }, signature);
        const jwk = key.export({ format: 'jwk' });
        const point = Buffer.concat([Buffer.from([4]), fromBase64Url(jwk.x), fromBase64Url(jwk.y)]);
        return noble.verify(signature, message, point, { prehash: false, lowS: false, format: 'der' });
      } catch {
        return false;
      }
    },
    deriveSharedSecret: (material, peerPublicKey) => {
      const peer = ecPublicKeyFromSpki(peerPublicKey, curve);
      return peer === undefined ? undefined : diffieHellman({ privateKey: privateKeyOf(material), publicKey: peer });
    },
  };
}
