import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** Signed and verified once per import: what the consistency check below signs. */
const PAIRWISE_MESSAGE = Buffer.from('coffer: pairwise consistency test of an imported key');

/**
 * An imported PKCS#8 DER private key, in one canonical form, if `accepts` it and its halves agree.
 *
 * PKCS#8 lets a private key carry its public half (an EC key's point; an RSA key's modulus and
 * exponent beside its primes), and node takes that half as given. A key whose halves disagree
 * would sign with one and publish the other: its own Verify would refuse its own signatures, and
 * ECDH peers would derive another secret. So an imported key must verify a signature it made
 * (the pairwise consistency test of FIPS 140-3), and an RSA modulus must be the product of its
 * primes. The stored form is re-made from the key's JWK, so the same key imported in another valid
 * encoding (an EC key with or without its optional public point) is the same material.
 */
export function importPkcs8(material: Buffer, accepts: (key: KeyObject) => boolean): Buffer | undefined {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
    if (!accepts(key)) return undefined;
    const jwk = key.export({ format: 'jwk' });
    if (jwk.kty === 'RSA' && !modulusIsProductOfPrimes(jwk.n, jwk.p, jwk.q)) return undefined;
    key = createPrivateKey({ key: jwk, format: 'jwk' });
  } catch {
    return undefined;
  }
  return halvesAgree(key) ? key.export({ format: 'der', type: 'pkcs8' }) : undefined;
}

function halvesAgree(key: KeyObject): boolean {
  // Ed25519 signs the message itself; RSA and ECDSA a digest of it.
  const digest = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  try {
    return verify(digest, PAIRWISE_MESSAGE, createPublicKey(key), sign(digest, PAIRWISE_MESSAGE, key));
  } catch {
    return false;
  }
}

function modulusIsProductOfPrimes(n?: string, p?: string, q?: string): boolean {
  if (!n || !p || !q) return false;
  const integer = (value: string) => BigInt(`0x${Buffer.from(value, 'base64url').toString('hex') || '0'}`);
  return integer(n) === integer(p) * integer(q);
}
