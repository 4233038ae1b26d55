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

/** A keyring constructor's argument is an options object: anything else is misuse, said so rather than met as a property of null. */
export function assertOptions(options: unknown, keyring: string): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${keyring} takes an options object`);
}

export function assertRawKeyNamespace(keyNamespace: unknown, keyName: unknown): void {
  if (typeof keyNamespace !== 'string' || typeof keyName !== 'string') {
    throw new TypeError('keyNamespace and keyName must be strings');
  }
  // The format would carry empty ones, but the official SDKs refuse to read an EDK with an empty
  // provider ID or info: every recipient's decryption of such a message would fail there.
  if (keyNamespace === '' || keyName === '') throw new TypeError('keyNamespace and keyName must not be empty');
  if (keyNamespace.startsWith(KMS_PROVIDER_PREFIX)) {
    throw new TypeError(`key namespace must not begin with "${KMS_PROVIDER_PREFIX}"`);
  }
}
