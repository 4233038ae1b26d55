import { ValidationException } from '../errors.js';
import type { KeyRecord } from '../keys/key-record.js';
import type { GrantConstraints, GrantOperation } from './grant-record.js';

/** Every key's grants may allow these: looking at the key and managing grants. */
const ANY_KEY: readonly GrantOperation[] = ['DescribeKey', 'CreateGrant', 'RetireGrant'];

/**
 * The operations a key performs, that its grants may allow besides ANY_KEY (Developer Guide,
 * "Grant operations"). A grant for an operation the key cannot perform is refused, as AWS refuses
 * it, rather than kept as a permission that could never be used.
 */
function ownOperations(key: KeyRecord): readonly GrantOperation[] {
  switch (key.keyUsage) {
    case 'ENCRYPT_DECRYPT':
      return key.keySpec === 'SYMMETRIC_DEFAULT'
        ? ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GenerateDataKey', 'GenerateDataKeyWithoutPlaintext',
          'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext']
        : ['Encrypt', 'Decrypt', 'ReEncryptFrom', 'ReEncryptTo', 'GetPublicKey'];
    case 'SIGN_VERIFY': return ['Sign', 'Verify', 'GetPublicKey'];
    case 'GENERATE_VERIFY_MAC': return ['GenerateMac', 'VerifyMac'];
    case 'KEY_AGREEMENT': return ['DeriveSharedSecret', 'GetPublicKey'];
    case 'ENCAPSULATE_DECAPSULATE': return ['Encapsulate', 'Decapsulate', 'GetPublicKey'];
    default: return [];
  }
}

/** CreateGrant's check of the operations alone: not CreateGrant alone (AWS's own message). */
export function checkGrantOperations(operations: readonly GrantOperation[]): void {
  if (operations.length === 1 && operations[0] === 'CreateGrant') {
    throw new ValidationException('Grants must not contain only the CreateGrant operation.');
  }
}

/**
 * CreateGrant's checks of the operations against the key: none the key cannot perform, and
 * encryption-context constraints only on a symmetric encryption key, the one kind whose operations
 * take an encryption context. Its messages name the key's usage and spec, so it runs only after
 * the caller is allowed to create grants on the key.
 */
export function checkGrantForKey(key: KeyRecord, operations: readonly GrantOperation[], constraints: GrantConstraints | undefined): void {
  const grantable = new Set([...ownOperations(key), ...ANY_KEY]);
  const unsupported = operations.filter((op) => !grantable.has(op));
  if (unsupported.length > 0) {
    throw new ValidationException(
      `Grant operations ${unsupported.join(', ')} are not supported by a key of KeyUsage ${key.keyUsage} and KeySpec ${key.keySpec}.`,
    );
  }
  // SourceArn is no encryption context: AWS supports it "on grants for all types of KMS keys".
  if ((constraints?.EncryptionContextEquals || constraints?.EncryptionContextSubset) && key.keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new ValidationException(`Grant constraints are not supported on a key of KeySpec ${key.keySpec}: its operations take no encryption context.`);
  }
}
