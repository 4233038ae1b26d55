/**
 * Cryptographic materials (framework/structures.md#encryption-materials, #decryption-materials).
 * Materials are immutable values: a keyring or materials manager returns a new object rather
 * than editing the one it was given, so a failing keyring can never leave half-written state.
 */
import type { KeyObject } from 'node:crypto';
import type { AlgorithmSuite } from './suites.js';
import type { EncryptionContext } from './encryption-context.js';

/** One wrapped copy of the data key, as stored in the header (data-format/message-header.md#encrypted-data-key-entries). */
export interface EncryptedDataKey {
  /** The keyring's key namespace (UTF-8); `aws-kms*` is reserved for KMS keyrings. */
  readonly providerId: string;
  /** Keyring-specific bytes that identify the wrapping key (and, for raw AES, the IV). */
  readonly providerInfo: Uint8Array;
  readonly ciphertext: Uint8Array;
}

export interface EncryptionMaterials {
  readonly suite: AlgorithmSuite;
  /** The full context: stored pairs, required (unstored) pairs and `aws-crypto-public-key`. */
  readonly encryptionContext: EncryptionContext;
  /** Keys of `encryptionContext` that are authenticated but not written to the message. */
  readonly requiredEncryptionContextKeys: readonly string[];
  readonly encryptedDataKeys: readonly EncryptedDataKey[];
  /** Absent until a keyring generates it; then exactly `suite.dataKeyLength` bytes. */
  readonly plaintextDataKey?: Uint8Array;
  /** ECDSA private key for signing suites, set by the default materials manager. */
  readonly signingKey?: KeyObject;
}

export interface DecryptionMaterials {
  readonly suite: AlgorithmSuite;
  readonly encryptionContext: EncryptionContext;
  readonly requiredEncryptionContextKeys: readonly string[];
  readonly plaintextDataKey?: Uint8Array;
  /** Base64 compressed public key from `aws-crypto-public-key`, for signing suites. */
  readonly verificationKey?: string;
}

/** Returns materials that carry `plaintextDataKey`; the argument is left untouched. */
export function withDataKey<M extends EncryptionMaterials | DecryptionMaterials>(materials: M, dataKey: Uint8Array): M {
  if (materials.plaintextDataKey !== undefined) throw new TypeError('materials already hold a plaintext data key');
  if (dataKey.byteLength !== materials.suite.dataKeyLength) throw new TypeError('data key length does not match the suite');
  const next: M = { ...materials, plaintextDataKey: dataKey };
  return Object.freeze(next);
}

/** Returns encryption materials with `edk` appended to the encrypted data keys. */
export function withEncryptedDataKey(materials: EncryptionMaterials, edk: EncryptedDataKey): EncryptionMaterials {
  return Object.freeze({ ...materials, encryptedDataKeys: Object.freeze([...materials.encryptedDataKeys, Object.freeze(edk)]) });
}
