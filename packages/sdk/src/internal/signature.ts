/**
 * ECDSA for signing suites (framework/algorithm-suites.md#ecdsa): DER ECDSA-Sig-Value
 * signatures; the verification key travels base64-encoded as a SEC1 compressed point in the
 * encryption context under `aws-crypto-public-key`.
 */
import { ECDH, createECDH, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import type { SignatureAlgorithm } from '../suites.js';

const CURVE_OPENSSL = { 'P-256': 'prime256v1', 'P-384': 'secp384r1' } as const;
const COORDINATE_LENGTH = { 'P-256': 32, 'P-384': 48 } as const;

export interface SigningKeyPair {
  readonly privateKey: KeyObject;
  /** base64(compressed point) */
  readonly publicKey: string;
}

/** The curves' OIDs, DER-encoded: prime256v1 (1.2.840.10045.3.1.7) and secp384r1 (1.3.132.0.34). */
const CURVE_OID = {
  'P-256': Buffer.from([0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07]),
  'P-384': Buffer.from([0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22]),
} as const;

/** DER TLV with a definite length (under 256 bytes here). */
const tlv = (tag: number, body: Buffer): Buffer =>
  Buffer.concat([Buffer.from(body.length < 0x80 ? [tag, body.length] : [tag, 0x81, body.length]), body]);

/**
 * A fresh signing key pair, from OpenSSL's ECDH key generation (the CSPRNG) rather than
 * generateKeyPairSync: exporting a key pair that job made, while a collection frees the job,
 * deadlocks Node 20 (the export holds the key's mutex while it allocates, and the job's destructor
 * takes the same mutex: `npm test` hung there, in KeyGenJob::~KeyGenJob under ExportJWKEcKey).
 * The private key goes in as SEC1 DER (RFC 5915) with its public point, which imports in a
 * fifth of the time a JWK takes.
 */
export function generateSigningKeyPair(alg: SignatureAlgorithm): SigningKeyPair {
  const n = COORDINATE_LENGTH[alg.curve];
  const ecdh = createECDH(CURVE_OPENSSL[alg.curve]);
  const uncompressed = ecdh.generateKeys();
  // The scalar as a big-endian number: left-padded to the field size, as SEC1 wants it.
  const d = Buffer.alloc(n);
  const scalar = ecdh.getPrivateKey();
  scalar.copy(d, n - scalar.length);
  const privateField = tlv(0x04, d);
  const body = Buffer.concat([
    Buffer.from([0x02, 0x01, 0x01]), privateField, tlv(0xa0, CURVE_OID[alg.curve]), tlv(0xa1, tlv(0x03, Buffer.concat([Buffer.from([0]), uncompressed]))),
  ]);
  const sec1 = tlv(0x30, body);
  try {
    const privateKey = createPrivateKey({ key: sec1, format: 'der', type: 'sec1' });
    return { privateKey, publicKey: ecdh.getPublicKey(null, 'compressed').toString('base64') };
  } finally {
    // Every copy of the scalar made here (the key object holds its own).
    for (const secret of [scalar, d, privateField, body, sec1]) secret.fill(0);
  }
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
