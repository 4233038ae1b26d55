/**
 * The little DER the post-quantum families write themselves (Node 20's OpenSSL knows neither
 * ML-DSA nor ML-KEM): definite lengths up to 64 KiB, and the two structures their keys need.
 */

function derLength(length: number): Buffer {
  if (length < 0x80) return Buffer.from([length]);
  if (length < 0x100) return Buffer.from([0x81, length]);
  return Buffer.from([0x82, length >> 8, length & 0xff]);
}

export const tlv = (tag: number, body: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), derLength(body.length), body]);

/** AlgorithmIdentifier of a NIST algorithm OID 2.16.840.1.101.3.4.<arc>.<leaf>, no parameters. */
export const nistAlgorithm = (arc: number, leaf: number): Buffer =>
  Buffer.from([0x30, 0x0b, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, arc, leaf]);

/** PKCS#8 v1 holding a private key of the `seed` choice (`[0] IMPLICIT OCTET STRING`). */
export const seedPkcs8 = (algorithm: Buffer, seed: Buffer): Buffer =>
  tlv(0x30, Buffer.concat([Buffer.from([0x02, 0x01, 0x00]), algorithm, tlv(0x04, tlv(0x80, seed))]));

/** SubjectPublicKeyInfo: the algorithm and the raw public key as a BIT STRING. */
export const spki = (algorithm: Buffer, publicKey: Uint8Array): Buffer =>
  tlv(0x30, Buffer.concat([algorithm, tlv(0x03, Buffer.concat([Buffer.from([0]), Buffer.from(publicKey)]))]));
