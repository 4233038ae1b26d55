/**
 * Helpers of the asymmetric-key tests: raw answers checked by error name, and local verification
 * of Coffer's signatures with independent implementations (node:crypto, @noble/post-quantum).
 */
import assert from 'node:assert/strict';
import { constants, createHash, createPublicKey, verify as nodeVerify } from 'node:crypto';
import { ml_dsa44, ml_dsa65, ml_dsa87 } from '@noble/post-quantum/ml-dsa.js';
import type { RawResponse } from './server.js';

export const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
export const bytesOf = (value: unknown) => Buffer.from(String(value), 'base64');

/** The error name without the namespace AWS sometimes puts in `__type` (`ns#Name`). */
export const errorType = (res: RawResponse): string => String(res.body.__type).split('#').pop()!;

/** `message`: the whole message, or a pattern it must match. */
export function assertError(res: RawResponse, type: string, message?: string | RegExp): void {
  assert.ok(res.status >= 400 && res.status < 500, `expected a 4xx ${type}, got ${res.status} ${res.text}`);
  assert.equal(errorType(res), type, res.text);
  if (typeof message === 'string') assert.equal(res.body.message, message);
  else if (message !== undefined) assert.match(String(res.body.message), message);
}

export function assertOk(res: RawResponse): Record<string, unknown> {
  assert.equal(res.status, 200, res.text);
  return res.body;
}

/** Every signing key spec with the algorithms AWS pairs with it. */
export const SIGNING_SPECS: ReadonlyArray<readonly [string, readonly string[]]> = [
  ['RSA_2048', ['RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512']],
  ['RSA_3072', ['RSASSA_PSS_SHA_256', 'RSASSA_PKCS1_V1_5_SHA_512']],
  ['RSA_4096', ['RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256']],
  ['ECC_NIST_P256', ['ECDSA_SHA_256']],
  ['ECC_NIST_P384', ['ECDSA_SHA_384']],
  ['ECC_NIST_P521', ['ECDSA_SHA_512']],
  ['ECC_SECG_P256K1', ['ECDSA_SHA_256']],
  ['ECC_NIST_EDWARDS25519', ['ED25519_SHA_512', 'ED25519_PH_SHA_512']],
  ['ML_DSA_44', ['ML_DSA_SHAKE_256']],
  ['ML_DSA_65', ['ML_DSA_SHAKE_256']],
  ['ML_DSA_87', ['ML_DSA_SHAKE_256']],
];

export const hashOf = (algorithm: string): string => `sha${/SHA_(\d+)$/.exec(algorithm)![1]}`;

const ML_DSA = { ML_DSA_44: ml_dsa44, ML_DSA_65: ml_dsa65, ML_DSA_87: ml_dsa87 } as const;
const ML_DSA_PUBLIC_LENGTH = { ML_DSA_44: 1312, ML_DSA_65: 1952, ML_DSA_87: 2592 } as const;

/**
 * Verifies a signature outside Coffer under an SPKI public key: node:crypto for RSA, ECDSA and
 * Ed25519 (over the message, or for a digest by re-hashing the known message), noble for ML-DSA.
 * (Ed25519ph signs a DIGEST only; its test checks it with noble's ed25519ph.)
 */
export function verifiesLocally(spec: string, algorithm: string, spki: Buffer, message: Buffer, signature: Buffer): boolean {
  if (spec.startsWith('ML_DSA_')) {
    const length = ML_DSA_PUBLIC_LENGTH[spec as keyof typeof ML_DSA_PUBLIC_LENGTH];
    return ML_DSA[spec as keyof typeof ML_DSA].verify(signature, message, spki.subarray(spki.length - length));
  }
  const key = createPublicKey({ key: spki, format: 'der', type: 'spki' });
  if (algorithm === 'ED25519_SHA_512') return nodeVerify(null, message, key, signature);
  const hash = hashOf(algorithm);
  if (algorithm.startsWith('RSASSA_PSS_')) {
    return nodeVerify(hash, message, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, signature);
  }
  if (algorithm.startsWith('RSASSA_PKCS1_')) return nodeVerify(hash, message, { key, padding: constants.RSA_PKCS1_PADDING }, signature);
  return nodeVerify(hash, message, { key, dsaEncoding: 'der' }, signature);
}

export const digest = (algorithm: string, message: Buffer): Buffer => createHash(hashOf(algorithm)).update(message).digest();
