/**
 * The keyring interface (framework/keyring-interface.md). Two operations, both asynchronous so
 * that keyrings backed by a remote service (the KMS keyring) fit the same shape.
 *
 * OnEncrypt: when the materials hold no data key, generate one and wrap it; otherwise wrap the
 * existing one. Either way append the resulting EDK(s) and return new materials.
 * OnDecrypt: given materials without a data key, return materials carrying the first data key
 * this keyring can unwrap from `encryptedDataKeys`, or throw (never return half-set materials).
 */
import type { DecryptionMaterials, EncryptedDataKey, EncryptionMaterials } from '../materials.js';

export interface Keyring {
  onEncrypt(materials: EncryptionMaterials): Promise<EncryptionMaterials>;
  onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: readonly EncryptedDataKey[]): Promise<DecryptionMaterials>;
}

/** Provider IDs beginning with this are reserved for AWS KMS keyrings (framework/keyring-interface.md). */
export const KMS_PROVIDER_PREFIX = 'aws-kms';

export function assertRawKeyNamespace(keyNamespace: unknown, keyName: unknown): void {
  if (typeof keyNamespace !== 'string' || typeof keyName !== 'string') {
    throw new TypeError('keyNamespace and keyName must be strings');
  }
  if (keyNamespace.startsWith(KMS_PROVIDER_PREFIX)) {
    throw new TypeError(`key namespace must not begin with "${KMS_PROVIDER_PREFIX}"`);
  }
}
