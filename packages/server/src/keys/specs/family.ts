import type { EncryptionAlgorithm, KeyUsage, MacAlgorithm, MessageType, SigningAlgorithm } from '../enums.js';

/**
 * The cryptography of one key family (docs/key-specs.md). Material is what the root key wraps in
 * a key version: a private key as PKCS#8 DER, or an HMAC key's bytes. A family implements only the
 * verbs its usages need; the spec table (index.ts) says which usages and algorithms a spec allows,
 * so these functions are only called with an algorithm the table lists for the key's spec.
 */
export interface KeyFamily {
  /** Fresh material from the CSPRNG. */
  generate(): Promise<Buffer>;
  /** Imported material in the stored form, or undefined when it is not a key of this spec. */
  importable(material: Buffer): Buffer | undefined;
  /**
   * Whether stored material is a key of this spec the server can use (`coffer store check`, a
   * restore's check): laxer than `importable` where imports became stricter than an earlier
   * release's, whose stores must still check and restore. Absent: `importable` decides.
   */
  holds?(material: Buffer): boolean;
  /** The public key as DER SubjectPublicKeyInfo (asymmetric families). */
  publicKey?(material: Buffer): Buffer;
  /** `message` is the message (RAW) or its digest (DIGEST), already checked for length. */
  sign?(material: Buffer, algorithm: SigningAlgorithm, message: Buffer, messageType: MessageType): Buffer;
  verify?(material: Buffer, algorithm: SigningAlgorithm, message: Buffer, messageType: MessageType, signature: Buffer): boolean;
  encrypt?(material: Buffer, algorithm: EncryptionAlgorithm, plaintext: Buffer): Buffer;
  /** Undefined when the ciphertext does not open. */
  decrypt?(material: Buffer, algorithm: EncryptionAlgorithm, ciphertext: Buffer): Buffer | undefined;
  mac?(material: Buffer, algorithm: MacAlgorithm, message: Buffer): Buffer;
  /** ECDH with a peer's SPKI DER public key; undefined when the peer key is not one of this curve. */
  deriveSharedSecret?(material: Buffer, peerPublicKey: Buffer): Buffer | undefined;
  /** A fresh shared secret and its encapsulation under the key's public key (ML-KEM). */
  encapsulate?(material: Buffer): { readonly sharedSecret: Buffer; readonly ciphertext: Buffer };
  /** The shared secret an encapsulation holds; undefined when it is not one of this spec's length. */
  decapsulate?(material: Buffer, ciphertext: Buffer): Buffer | undefined;
}

/** What a key spec allows, per usage, with AWS's algorithm lists in AWS's order. */
export interface SpecInfo {
  readonly family: KeyFamily;
  readonly usages: Partial<Readonly<Record<KeyUsage, readonly string[]>>>;
}

/** SHA-2 by the suffix of an AWS algorithm name: `..._SHA_256` -> sha256. */
export function shaOf(algorithm: string): 'sha1' | 'sha224' | 'sha256' | 'sha384' | 'sha512' {
  const bits = /SHA_(1|224|256|384|512)$/.exec(algorithm)?.[1];
  if (!bits) throw new TypeError(`no SHA digest in ${algorithm}`);
  return `sha${bits}` as 'sha256';
}

/** The digest length a DIGEST message must have for a signing algorithm. */
export function digestLength(algorithm: SigningAlgorithm): number | undefined {
  const bits = /SHA_(256|384|512)$/.exec(algorithm)?.[1];
  return bits ? Number(bits) / 8 : undefined;
}
