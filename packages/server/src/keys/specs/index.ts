import type { KeySpec, KeyUsage } from '../enums.js';
import { eccFamily } from './ecc.js';
import { ed25519Family } from './ed25519.js';
import type { SpecInfo } from './family.js';
import { hmacFamily } from './hmac.js';
import { mlDsaFamily } from './ml-dsa.js';
import { mlKemFamily } from './ml-kem.js';
import { rsaFamily } from './rsa.js';

export type { KeyFamily, SpecInfo } from './family.js';
export { digestLength } from './family.js';

const RSA_USAGES = {
  ENCRYPT_DECRYPT: ['RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256'],
  SIGN_VERIFY: [
    'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512',
    'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512',
  ],
} as const;

/**
 * The one table of key specs beyond SYMMETRIC_DEFAULT (docs/key-specs.md): the family that does
 * the cryptography, and per usage the algorithms AWS lists for the spec, in AWS's order.
 */
export const KEY_SPEC_TABLE: Partial<Readonly<Record<KeySpec, SpecInfo>>> = Object.freeze({
  RSA_2048: { family: rsaFamily(2048), usages: RSA_USAGES },
  RSA_3072: { family: rsaFamily(3072), usages: RSA_USAGES },
  RSA_4096: { family: rsaFamily(4096), usages: RSA_USAGES },
  ECC_NIST_P256: { family: eccFamily('prime256v1'), usages: { SIGN_VERIFY: ['ECDSA_SHA_256'], KEY_AGREEMENT: ['ECDH'] } },
  ECC_NIST_P384: { family: eccFamily('secp384r1'), usages: { SIGN_VERIFY: ['ECDSA_SHA_384'], KEY_AGREEMENT: ['ECDH'] } },
  ECC_NIST_P521: { family: eccFamily('secp521r1'), usages: { SIGN_VERIFY: ['ECDSA_SHA_512'], KEY_AGREEMENT: ['ECDH'] } },
  ECC_SECG_P256K1: { family: eccFamily('secp256k1'), usages: { SIGN_VERIFY: ['ECDSA_SHA_256'] } },
  ECC_NIST_EDWARDS25519: { family: ed25519Family(), usages: { SIGN_VERIFY: ['ED25519_SHA_512', 'ED25519_PH_SHA_512'] } },
  ML_DSA_44: { family: mlDsaFamily(44), usages: { SIGN_VERIFY: ['ML_DSA_SHAKE_256'] } },
  ML_DSA_65: { family: mlDsaFamily(65), usages: { SIGN_VERIFY: ['ML_DSA_SHAKE_256'] } },
  ML_DSA_87: { family: mlDsaFamily(87), usages: { SIGN_VERIFY: ['ML_DSA_SHAKE_256'] } },
  ML_KEM_512: { family: mlKemFamily(512), usages: { ENCAPSULATE_DECAPSULATE: ['ML_KEM'] } },
  ML_KEM_768: { family: mlKemFamily(768), usages: { ENCAPSULATE_DECAPSULATE: ['ML_KEM'] } },
  ML_KEM_1024: { family: mlKemFamily(1024), usages: { ENCAPSULATE_DECAPSULATE: ['ML_KEM'] } },
  HMAC_224: { family: hmacFamily(224), usages: { GENERATE_VERIFY_MAC: ['HMAC_SHA_224'] } },
  HMAC_256: { family: hmacFamily(256), usages: { GENERATE_VERIFY_MAC: ['HMAC_SHA_256'] } },
  HMAC_384: { family: hmacFamily(384), usages: { GENERATE_VERIFY_MAC: ['HMAC_SHA_384'] } },
  HMAC_512: { family: hmacFamily(512), usages: { GENERATE_VERIFY_MAC: ['HMAC_SHA_512'] } },
});

/** The spec's entry; a TypeError for a spec Coffer cannot make (callers check first). */
export function specInfo(spec: KeySpec): SpecInfo {
  const info = KEY_SPEC_TABLE[spec];
  if (!info) throw new TypeError(`no key family for ${spec}`);
  return info;
}

/** The algorithms a key of this spec and usage offers, or none. */
export function algorithmsOf(spec: KeySpec, usage: KeyUsage): readonly string[] {
  if (spec === 'SYMMETRIC_DEFAULT') return usage === 'ENCRYPT_DECRYPT' ? ['SYMMETRIC_DEFAULT'] : [];
  return KEY_SPEC_TABLE[spec]?.usages[usage] ?? [];
}

/** The RSA modulus length of an RSA spec. */
export function rsaBits(spec: KeySpec): number {
  return Number(/^RSA_(\d+)$/.exec(spec)?.[1] ?? 0);
}
