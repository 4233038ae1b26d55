import type { Realm } from './arn.js';
import { keyArn } from './arn.js';
import type { KeyRecord } from './key-record.js';

const seconds = (ms: number): number => ms / 1000;

/** KeyMetadata as AWS returns it from CreateKey and DescribeKey, timestamps in epoch seconds. */
export function keyMetadata(realm: Realm, key: KeyRecord, currentMaterialId: string | undefined): Record<string, unknown> {
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
    KeyManager: 'CUSTOMER',
    CustomerMasterKeySpec: key.keySpec,
    KeySpec: key.keySpec,
    EncryptionAlgorithms: ['SYMMETRIC_DEFAULT'],
    MultiRegion: false,
    ...(currentMaterialId ? { CurrentKeyMaterialId: currentMaterialId } : {}),
  };
}

export { seconds as epochSeconds };
