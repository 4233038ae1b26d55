import {
  constants, createHash, createPublicKey, privateDecrypt, privateEncrypt,
  publicDecrypt, publicEncrypt, randomBytes, sign, timingSafeEqual, verify, type KeyObject,
} from 'node:crypto';
import type { EncryptionAlgorithm, SigningAlgorithm } from '../enums.js';
import { shaOf, type KeyFamily } from './family.js';
import { importPkcs8, parsesAs } from './pkcs8.js';
import { privateKeyObject } from './private-key.js';
import { rsaNumbersAgree } from './rsa-numbers.js';
import { generateRsaKeyPair } from '../rsa-generation.js';


/** DigestInfo prefixes of RFC 8017 §9.2, note 1. */
const DIGEST_INFO: Readonly<Record<string, Buffer>> = {
  sha256: Buffer.from('3031300d060960864801650304020105000420', 'hex'),
  sha384: Buffer.from('3041300d060960864801650304020205000430', 'hex'),
  sha512: Buffer.from('3051300d060960864801650304020305000440', 'hex'),
};

const isPss = (algorithm: SigningAlgorithm) => algorithm.startsWith('RSASSA_PSS_');

/** RSA keys: RSASSA-PSS (salt length = digest length, as AWS) and PKCS#1 v1.5 signatures; RSAES-OAEP. */
export function rsaFamily(modulusLength: 2048 | 3072 | 4096): KeyFamily {
  const privateKey = (material: Buffer) => privateKeyObject(material);
  const isThisKey = (key: KeyObject) => key.asymmetricKeyType === 'rsa' && key.asymmetricKeyDetails?.modulusLength === modulusLength;
  return {
    generate: async () => {
      const { privateKey: key } = await generateRsaKeyPair(modulusLength);
      return key.export({ format: 'der', type: 'pkcs8' });
    },
    importable: (material) => importPkcs8(material, (key) => isThisKey(key) && rsaNumbersAgree(key)),
    holds: (material) => parsesAs(material, isThisKey),
    publicKey: (material) => createPublicKey(privateKey(material)).export({ format: 'der', type: 'spki' }),
    sign: (material, algorithm, message, messageType) => {
      const key = privateKey(material);
      const hash = shaOf(algorithm);
      if (messageType === 'RAW') {
        return sign(hash, message, isPss(algorithm)
          ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
          : { key, padding: constants.RSA_PKCS1_PADDING });
      }
      // A digest: node:crypto hashes what it signs, so the padding is applied here (RFC 8017 §8).
      if (!isPss(algorithm)) {
        return privateEncrypt({ key, padding: constants.RSA_PKCS1_PADDING }, Buffer.concat([DIGEST_INFO[hash]!, message]));
      }
      return privateEncrypt({ key, padding: constants.RSA_NO_PADDING }, emsaPssEncode(message, hash, modulusLength - 1));
    },
    verify: (material, algorithm, message, messageType, signature) => {
      const key = createPublicKey(privateKey(material));
      const hash = shaOf(algorithm);
      if (signature.length !== modulusLength / 8) return false;
      if (messageType === 'RAW') {
        return verify(hash, message, isPss(algorithm)
          ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }
          : { key, padding: constants.RSA_PKCS1_PADDING }, signature);
      }
      try {
        if (!isPss(algorithm)) {
          const expected = Buffer.concat([DIGEST_INFO[hash]!, message]);
          const recovered = publicDecrypt({ key, padding: constants.RSA_PKCS1_PADDING }, signature);
          return recovered.length === expected.length && timingSafeEqual(recovered, expected);
        }
        const em = publicDecrypt({ key, padding: constants.RSA_NO_PADDING }, signature);
        return emsaPssVerify(message, em, hash, modulusLength - 1);
      } catch {
        return false;
      }
    },
    encrypt: (material, algorithm, plaintext) => publicEncrypt(oaep(createPublicKey(privateKey(material)), algorithm), plaintext),
    decrypt: (material, algorithm, ciphertext) => {
      try {
        return privateDecrypt(oaep(privateKey(material), algorithm), ciphertext);
      } catch {
        return undefined;
      }
    },
  };
}

function oaep(key: KeyObject, algorithm: EncryptionAlgorithm) {
  return { key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: shaOf(algorithm) };
}

/** The largest plaintext RSAES-OAEP takes: k - 2·hLen - 2 (RFC 8017 §7.1.1). */
export function oaepMaxPlaintext(modulusLength: number, algorithm: EncryptionAlgorithm): number {
  const hashLength = algorithm === 'RSAES_OAEP_SHA_1' ? 20 : 32;
  return modulusLength / 8 - 2 * hashLength - 2;
}

function mgf1(seed: Buffer, length: number, hash: string): Buffer {
  const out: Buffer[] = [];
  for (let counter = 0, size = 0; size < length; counter++) {
    const c = Buffer.alloc(4);
    c.writeUInt32BE(counter);
    const block = createHash(hash).update(seed).update(c).digest();
    out.push(block);
    size += block.length;
  }
  return Buffer.concat(out).subarray(0, length);
}

/** EMSA-PSS-ENCODE of RFC 8017 §9.1.1 over a given digest, with a salt as long as the digest. */
function emsaPssEncode(mHash: Buffer, hash: string, emBits: number): Buffer {
  const hLen = mHash.length;
  const emLen = Math.ceil(emBits / 8);
  const salt = randomBytes(hLen);
  const h = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  const db = Buffer.concat([Buffer.alloc(emLen - 2 * hLen - 2), Buffer.from([1]), salt]);
  const mask = mgf1(h, db.length, hash);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  return Buffer.concat([db, h, Buffer.from([0xbc])]);
}

/** EMSA-PSS-VERIFY of RFC 8017 §9.1.2; `em` is the recovered k-byte block. */
function emsaPssVerify(mHash: Buffer, block: Buffer, hash: string, emBits: number): boolean {
  const hLen = mHash.length;
  const emLen = Math.ceil(emBits / 8);
  if (block.length < emLen) return false;
  if (block.length > emLen && block.subarray(0, block.length - emLen).some((b) => b !== 0)) return false;
  const em = block.subarray(block.length - emLen);
  if (emLen < 2 * hLen + 2 || em[emLen - 1] !== 0xbc) return false;
  const db = Buffer.from(em.subarray(0, emLen - hLen - 1));
  const h = em.subarray(emLen - hLen - 1, emLen - 1);
  if ((db[0]! & ~(0xff >> (8 * emLen - emBits)) & 0xff) !== 0) return false;
  const mask = mgf1(h, db.length, hash);
  for (let i = 0; i < db.length; i++) db[i]! ^= mask[i]!;
  db[0]! &= 0xff >> (8 * emLen - emBits);
  const psLength = emLen - 2 * hLen - 2;
  if (db.subarray(0, psLength).some((b) => b !== 0) || db[psLength] !== 1) return false;
  const salt = db.subarray(db.length - hLen);
  const expected = createHash(hash).update(Buffer.alloc(8)).update(mHash).update(salt).digest();
  return timingSafeEqual(expected, h);
}
