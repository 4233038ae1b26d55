import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';

/** Signed and verified once per import: what the consistency check below signs. */
const PAIRWISE_MESSAGE = Buffer.from('coffer: pairwise consistency test of an imported key');

/**
 * An imported PKCS#8 DER private key (RSA, Ed25519), in node's PKCS#8 of the key, if `accepts` it
 * and its halves agree. PKCS#8 lets a private key carry its public half (an RSA key's modulus and
 * exponent beside its primes; Ed25519's public key in PKCS#8 v2), and node takes that half as
 * given. A key whose halves disagree would sign with one and publish the other: its own Verify
 * would refuse its own signatures. So an imported key must verify a signature it made (the
 * pairwise consistency test of FIPS 140-3). EC keys are read by ec-keys.ts instead.
 */
export function importPkcs8(material: Buffer, accepts: (key: KeyObject) => boolean): Buffer | undefined {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: material, format: 'der', type: 'pkcs8' });
    if (!accepts(key)) return undefined;
  } catch {
    return undefined;
  }
  return halvesAgree(key) ? key.export({ format: 'der', type: 'pkcs8' }) : undefined;
}

/** Whether stored material parses as a key `accepts` (no consistency test: see KeyFamily.holds). */
export function parsesAs(material: Buffer, accepts: (key: KeyObject) => boolean): boolean {
  try {
    return accepts(createPrivateKey({ key: material, format: 'der', type: 'pkcs8' }));
  } catch {
    return false;
  }
}

function halvesAgree(key: KeyObject): boolean {
  // Ed25519 signs the message itself; RSA a digest of it.
  const digest = key.asymmetricKeyType === 'ed25519' ? null : 'sha256';
  try {
    return verify(digest, PAIRWISE_MESSAGE, createPublicKey(key), sign(digest, PAIRWISE_MESSAGE, key));
  } catch {
    return false;
  }
}
