/**
 * ECDSA for signing suites (framework/algorithm-suites.md#ecdsa): DER ECDSA-Sig-Value
 * signatures; the verification key travels base64-encoded as a SEC1 compressed point in the
 * encryption context under `aws-crypto-public-key`.
 */
import { ECDH, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { SignatureAlgorithm } from '../suites.js';

const CURVE_OPENSSL = { 'P-256': 'prime256v1', 'P-384': 'secp384r1' } as const;
const COORDINATE_LENGTH = { 'P-256': 32, 'P-384': 48 } as const;

export interface SigningKeyPair {
  readonly privateKey: KeyObject;
  /** base64(compressed point) */
  readonly publicKey: string;
}

export function generateSigningKeyPair(alg: SignatureAlgorithm): SigningKeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: alg.curve });
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.x === undefined || jwk.y === undefined) throw new Error('EC public key export failed');
  const x = Buffer.from(jwk.x, 'base64url');
  const y = Buffer.from(jwk.y, 'base64url');
  const prefix = (y[y.length - 1]! & 1) === 1 ? 0x03 : 0x02;
  return { privateKey, publicKey: Buffer.concat([Buffer.from([prefix]), x]).toString('base64') };
}

/** A KeyObject for the encoded key, or null when it is not a point on the suite's curve. */
export function decodeVerificationKey(alg: SignatureAlgorithm, encoded: string): KeyObject | null {
  const n = COORDINATE_LENGTH[alg.curve];
  const point = Buffer.from(encoded, 'base64');
  // Insist on canonical base64 of exactly one compressed point: anything else is tampering.
  if (point.length !== n + 1 || point.toString('base64') !== encoded || (point[0] !== 0x02 && point[0] !== 0x03)) return null;
  try {
    const uncompressed = ECDH.convertKey(point, CURVE_OPENSSL[alg.curve], undefined, undefined, 'uncompressed') as Buffer;
    return createPublicKey({
      key: {
        kty: 'EC',
        crv: alg.curve,
        x: uncompressed.subarray(1, 1 + n).toString('base64url'),
        y: uncompressed.subarray(1 + n).toString('base64url'),
      },
      format: 'jwk',
    });
  } catch {
    return null;
  }
}

// Signing and verification of whole messages: MessageSigner (encryptor.ts), MessageVerifier
// (decryptor.ts) and their worker-thread twins (hash-offload.ts).
