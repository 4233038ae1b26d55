import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { secp256k1 } from '@noble/curves/secp256k1.js';
import type { EccCurve } from './ecc.js';

/**
 * EC keys a caller gives (an imported private key, a peer's public key for ECDH) are read here
 * and checked with noble's audited curve arithmetic before node:crypto sees them: Node 20 aborts
 * the whole process (a native assertion, which no try can catch) when it is asked the details of
 * an EC key OpenSSL loaded with a private scalar past the curve's order, or a public point at
 * infinity. So node:crypto is given only keys rebuilt from checked numbers, as JWK.
 */

const CURVES = {
  prime256v1: { noble: p256, jwk: 'P-256', oid: '2a8648ce3d030107' },
  secp384r1: { noble: p384, jwk: 'P-384', oid: '2b81040022' },
  secp521r1: { noble: p521, jwk: 'P-521', oid: '2b81040023' },
  secp256k1: { noble: secp256k1, jwk: 'secp256k1', oid: '2b8104000a' },
} as const;

/** noble's curve for an OpenSSL curve name: ecc.ts signs given digests with it. */
export const nobleCurve = (curve: EccCurve) => CURVES[curve].noble;

/** id-ecPublicKey, 1.2.840.10045.2.1. */
const EC_PUBLIC_KEY = '2a8648ce3d0201';

interface Tlv {
  readonly tag: number;
  readonly value: Buffer;
}

/**
 * The DER elements of `bytes` in order; undefined unless they fill it exactly, each length in its
 * shortest form (DER, not BER: one key has one encoding).
 */
function elements(bytes: Buffer): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let at = 0; at < bytes.length;) {
    if (at + 2 > bytes.length) return undefined;
    const tag = bytes[at]!;
    let length = bytes[at + 1]!;
    let start = at + 2;
    if (length & 0x80) {
      const octets = length & 0x7f;
      if (octets === 0 || octets > 3 || start + octets > bytes.length || bytes[start] === 0) return undefined;
      length = bytes.readUIntBE(start, octets);
      if (length < 0x80) return undefined;
      start += octets;
    }
    if (start + length > bytes.length) return undefined;
    out.push({ tag, value: bytes.subarray(start, start + length) });
    at = start + length;
  }
  return out;
}

/** Whether `fields` have only the given tags, each at most once, in that order. */
function inOrder(fields: readonly Tlv[], tags: readonly number[]): boolean {
  let next = 0;
  for (const field of fields) {
    const at = tags.indexOf(field.tag, next);
    if (at < 0) return false;
    next = at + 1;
  }
  return true;
}

/** One DER element that is all of `bytes`, or undefined. */
function only(bytes: Buffer): Tlv | undefined {
  const all = elements(bytes);
  return all?.length === 1 ? all[0] : undefined;
}

/** The named curve of an AlgorithmIdentifier's value, if it is id-ecPublicKey over `curve`. */
function namesCurve(algorithm: Tlv | undefined, curve: EccCurve): boolean {
  if (algorithm?.tag !== 0x30) return false;
  const fields = elements(algorithm.value) ?? [];
  if (fields.length !== 2) return false;
  const [id, parameters] = fields;
  // Named curves only (RFC 5480: "MUST use the namedCurve"), not explicit parameters.
  return id?.tag === 0x06 && id.value.toString('hex') === EC_PUBLIC_KEY
    && parameters?.tag === 0x06 && parameters.value.toString('hex') === CURVES[curve].oid;
}

/** A point's bytes as a checked point on `curve` (not the point at infinity), or undefined. */
function pointOf(bytes: Uint8Array, curve: EccCurve) {
  try {
    return CURVES[curve].noble.Point.fromHex(Buffer.from(bytes).toString('hex'));
  } catch {
    return undefined;
  }
}

function jwkOf(curve: EccCurve, point: NonNullable<ReturnType<typeof pointOf>>, d?: Uint8Array) {
  const size = CURVES[curve].noble.lengths.secretKey!;
  const uncompressed = point.toBytes(false);
  const coordinate = (from: number) => Buffer.from(uncompressed.subarray(from, from + size)).toString('base64url');
  return {
    kty: 'EC', crv: CURVES[curve].jwk, x: coordinate(1), y: coordinate(1 + size),
    ...(d ? { d: Buffer.from(d).toString('base64url') } : {}),
  } as const;
}

/** What a PKCS#8 EC private key holds, read without node:crypto. */
interface EcPrivateKey {
  /** The scalar, padded to the curve's size: zero it when done. */
  readonly d: Buffer;
  /** Whether the key names its curve (an OID) rather than spelling out its parameters. */
  readonly named: boolean;
  /** The public point the key carries, if any; null when it carries one that is no point of the curve. */
  readonly given: ReturnType<typeof pointOf> | null | undefined;
}

/** A PKCS#8 EC private key of id-ecPublicKey over `curve` (named, or explicit parameters), or undefined. */
function readEcPrivateKey(material: Buffer, curve: EccCurve): EcPrivateKey | undefined {
  const info = only(material);
  if (info?.tag !== 0x30) return undefined;
  // PrivateKeyInfo / OneAsymmetricKey: version, algorithm, privateKey, then optional [0] attributes, [1] publicKey.
  const [version, algorithm, privateKey, ...extensions] = elements(info.value) ?? [];
  // Version v1 (0), or v2 (1) of OneAsymmetricKey (RFC 5958), which may carry the public key.
  if (version?.tag !== 0x02 || version.value.length !== 1 || version.value[0]! > 1) return undefined;
  if (privateKey?.tag !== 0x04 || algorithm?.tag !== 0x30 || !inOrder(extensions, [0xa0, 0x81])) return undefined;
  const algorithmFields = elements(algorithm.value) ?? [];
  if (algorithmFields.length !== 2) return undefined;
  const [id, parameters] = algorithmFields;
  if (id?.tag !== 0x06 || id.value.toString('hex') !== EC_PUBLIC_KEY) return undefined;
  const named = parameters?.tag === 0x06;
  if (named && parameters.value.toString('hex') !== CURVES[curve].oid) return undefined;
  if (!named && parameters?.tag !== 0x30) return undefined;
  const ecPrivateKey = only(privateKey.value);
  if (ecPrivateKey?.tag !== 0x30) return undefined;
  // ECPrivateKey: version 1, privateKey OCTET STRING, [0] parameters, [1] publicKey.
  const [ecVersion, scalar, ...optional] = elements(ecPrivateKey.value) ?? [];
  if (ecVersion?.tag !== 0x02 || ecVersion.value.length !== 1 || ecVersion.value[0] !== 1 || scalar?.tag !== 0x04) return undefined;
  if (!inOrder(optional, [0xa0, 0xa1])) return undefined;
  // [0] parameters, when given, name the same curve (or, with explicit parameters, are read by node).
  const ecParameters = optional.find((field) => field.tag === 0xa0);
  if (named && ecParameters !== undefined && only(ecParameters.value)?.value.toString('hex') !== CURVES[curve].oid) return undefined;
  // RFC 5915 pads the scalar to the curve's size; some encoders drop its leading zeros.
  const size = CURVES[curve].noble.lengths.secretKey!;
  const first = scalar.value.findIndex((b) => b !== 0);
  if (first < 0 || scalar.value.length - first > size) return undefined;
  const d = Buffer.concat([Buffer.alloc(size - (scalar.value.length - first)), scalar.value.subarray(first)]);
  // The public key, in ECPrivateKey's [1] (an explicit BIT STRING) and in OneAsymmetricKey's [1]
  // (an implicit one): each given must be a point of the curve, and both the same.
  const points = [
    ...optional.filter((field) => field.tag === 0xa1).map((field) => only(field.value)).map((bits) => (bits?.tag === 0x03 ? bits.value : undefined)),
    ...extensions.filter((field) => field.tag === 0x81).map((field) => field.value),
  ].map((bits) => (bits !== undefined && bits[0] === 0 ? pointOf(bits.subarray(1), curve) : undefined) ?? null);
  const given = points.includes(null) ? null : points[0];
  if (given && points.some((point) => !point!.equals(given))) return { d, named, given: null };
  return { d, named, given };
}

/**
 * An imported PKCS#8 EC private key of `curve` in the stored form (node's PKCS#8 of the key rebuilt
 * from its scalar), or undefined when it is not one: a named curve (RFC 5480: "MUST use the
 * namedCurve"; explicit parameters are refused), the scalar in 1..n-1, and a public point, if the
 * key carries one (RFC 5915 makes it optional), equal to the scalar's.
 */
export function importEcPrivateKey(material: Buffer, curve: EccCurve): Buffer | undefined {
  const key = readEcPrivateKey(material, curve);
  if (key === undefined) return undefined;
  const { noble } = CURVES[curve];
  try {
    if (!key.named || !noble.utils.isValidSecretKey(key.d)) return undefined;
    const point = noble.Point.fromHex(Buffer.from(noble.getPublicKey(key.d, false)).toString('hex'));
    if (key.given === null || (key.given !== undefined && !key.given.equals(point))) return undefined;
    return createPrivateKey({ key: jwkOf(curve, point, key.d), format: 'jwk' }).export({ format: 'der', type: 'pkcs8' });
  } finally {
    key.d.fill(0);
  }
}

/**
 * Whether stored material is an EC private key of `curve` the server can use: laxer than an import
 * today, as material an earlier release stored may be (explicit curve parameters; a public point
 * that is not the scalar's, which imports now refuse). The scalar is checked first, so node:crypto
 * never meets one past the curve's order.
 */
export function ecPrivateKeyHolds(material: Buffer, curve: EccCurve): boolean {
  const key = readEcPrivateKey(material, curve);
  if (key === undefined) return false;
  try {
    if (!CURVES[curve].noble.utils.isValidSecretKey(key.d)) return false;
    if (key.named) return true;
    const parsed = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
    return parsed.asymmetricKeyType === 'ec' && parsed.asymmetricKeyDetails?.namedCurve === curve;
  } catch {
    return false;
  } finally {
    key.d.fill(0);
  }
}

/** A peer's SubjectPublicKeyInfo (DER) as a public key of `curve`, or undefined when it is not one. */
export function ecPublicKeyFromSpki(spki: Buffer, curve: EccCurve): KeyObject | undefined {
  const info = only(spki);
  if (info?.tag !== 0x30) return undefined;
  const [algorithm, bits, ...rest] = elements(info.value) ?? [];
  if (rest.length > 0 || !namesCurve(algorithm, curve) || bits?.tag !== 0x03 || bits.value[0] !== 0) return undefined;
  const point = pointOf(bits.value.subarray(1), curve);
  return point === undefined ? undefined : createPublicKey({ key: jwkOf(curve, point), format: 'jwk' });
}
