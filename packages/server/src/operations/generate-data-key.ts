import { randomBytes } from 'node:crypto';
import { ValidationException } from '../errors.js';
import { DATA_KEY_SPECS } from '../keys/enums.js';
import { keyArn } from '../keys/arn.js';
import { resolveKeyReference } from '../keys/resolve.js';
import { assertEnabled } from '../keys/states.js';
import { assertDataKeyWrapping, sealWithKey } from '../keys/symmetric.js';
import { checkDryRun, dryRunMember, encryptionContextMember, grantTokensMember, keyIdMember } from '../validate/members.js';
import { enumeration, integer, parseShape } from '../validate/shape.js';
import { recipientMember, rejectRecipient } from './recipient.js';
import type { Operation } from './operation.js';

const shape = {
  KeyId: keyIdMember(),
  EncryptionContext: encryptionContextMember(),
  NumberOfBytes: integer({ min: 1, max: 1024 }),
  KeySpec: enumeration(DATA_KEY_SPECS),
  GrantTokens: grantTokensMember(),
  Recipient: recipientMember(),
  DryRun: dryRunMember(),
};

/**
 * GenerateDataKey and GenerateDataKeyWithoutPlaintext: a fresh data key from the CSPRNG,
 * encrypted under the KMS key. The server never stores it.
 */
function generateDataKey(operation: 'GenerateDataKey' | 'GenerateDataKeyWithoutPlaintext', withPlaintext: boolean): Operation {
  return async (service, body, request) => {
    const input = parseShape(body, shape);
    // GenerateDataKeyWithoutPlaintext has no Recipient member, and AWS ignores a member an operation does not have.
    if (withPlaintext) rejectRecipient(input.Recipient);
    if ((input.NumberOfBytes === undefined) === (input.KeySpec === undefined)) {
      throw new ValidationException('Please specify either number of bytes or key spec.');
    }
    const length = input.NumberOfBytes ?? (input.KeySpec === 'AES_128' ? 16 : 32);
    const { key, alias } = await resolveKeyReference(service, input.KeyId, 'key-or-alias');
    await service.access.authorizeKey(request, {
      action: `kms:${operation}`, key, grantOperation: operation, requestAlias: alias,
      encryptionContext: input.EncryptionContext, grantTokens: input.GrantTokens,
      context: { 'kms:encryptionalgorithm': 'SYMMETRIC_DEFAULT' },
    });
    assertDataKeyWrapping(service, key, operation);
    assertEnabled(service.realm, key);
    const dataKey = randomBytes(length);
    try {
      const sealed = await sealWithKey(service, key, dataKey, input.EncryptionContext);
      checkDryRun(input.DryRun);
      request.audit.addEventData('keyMaterialId', sealed.materialId);
      return {
        CiphertextBlob: sealed.ciphertext.toString('base64'),
        ...(withPlaintext ? { Plaintext: dataKey.toString('base64') } : {}),
        KeyId: keyArn(service.realm, key.keyId),
        KeyMaterialId: sealed.materialId,
      };
    } finally {
      dataKey.fill(0);
    }
  };
}

export const generateDataKeyWithPlaintext = generateDataKey('GenerateDataKey', true);
export const generateDataKeyWithoutPlaintext = generateDataKey('GenerateDataKeyWithoutPlaintext', false);
