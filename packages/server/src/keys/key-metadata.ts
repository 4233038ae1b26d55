import type { Realm } from './arn.js';
import { keyArn } from './arn.js';
import { earliestValidTo } from './import.js';
import type { KeyRecord } from './key-record.js';
import { isMultiRegionKeyId, multiRegionConfiguration } from './multi-region.js';
import { algorithmsOf } from './specs/index.js';

/** The member of KeyMetadata that lists a usage's algorithms. */
const ALGORITHM_MEMBERS = {
  ENCRYPT_DECRYPT: 'EncryptionAlgorithms',
  SIGN_VERIFY: 'SigningAlgorithms',
  GENERATE_VERIFY_MAC: 'MacAlgorithms',
  KEY_AGREEMENT: 'KeyAgreementAlgorithms',
  ENCAPSULATE_DECAPSULATE: 'EncapsulationAlgorithms',
} as const;

const seconds = (ms: number): number => ms / 1000;

/** KeyMetadata as AWS returns it from CreateKey and DescribeKey, timestamps in epoch seconds. */
export function keyMetadata(realm: Realm, key: KeyRecord, currentMaterialId: string | undefined): Record<string, unknown> {
  // Material that expired is deleted, as AWS documents ("When the key material expires, AWS KMS
  // deletes the key material"): a key pending import shows no expiration, as after DeleteImportedKeyMaterial.
  const material = key.state === 'PendingImport' ? undefined : key.importedMaterial;
  // AWS: ValidTo is "the earliest time at which any imported key material permanently associated
  // with this KMS key expires" (an earlier material's, after a rotation).
  const validTo = material ? earliestValidTo(key) : undefined;
  return {
    AWSAccountId: realm.accountId,
    KeyId: key.keyId,
    Arn: keyArn(realm, key.keyId),
    CreationDate: seconds(key.createdAt),
    Enabled: key.state === 'Enabled',
    Description: key.description,
    KeyUsage: key.keyUsage,
    KeyState: key.state,
    ...(key.state === 'PendingDeletion' && key.deletionDate !== undefined ? { DeletionDate: seconds(key.deletionDate) } : {}),
    Origin: key.origin,
    KeyManager: key.keyManager ?? 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    ...algorithmFields(key),
    MultiRegion: isMultiRegionKeyId(key.keyId),
    ...(isMultiRegionKeyId(key.keyId) ? { MultiRegionConfiguration: multiRegionConfiguration(realm, key.keyId) } : {}),
    ...(material ? { ExpirationModel: validTo !== undefined ? 'KEY_MATERIAL_EXPIRES' : material.expirationModel } : {}),
    ...(validTo !== undefined ? { ValidTo: seconds(validTo) } : {}),
    // AWS names the current material only of symmetric encryption keys.
    ...(currentMaterialId && key.keySpec === 'SYMMETRIC_DEFAULT' ? { CurrentKeyMaterialId: currentMaterialId } : {}),
  };
}

/** The key's algorithms under the member AWS names for its usage (`SigningAlgorithms`, ...). */
export function algorithmFields(key: KeyRecord): Record<string, string[]> {
  const member = ALGORITHM_MEMBERS[key.keyUsage as keyof typeof ALGORITHM_MEMBERS];
  return member ? { [member]: [...algorithmsOf(key.keySpec, key.keyUsage)] } : {};
}

export { seconds as epochSeconds };
