import { ENCRYPTION_ALGORITHMS } from '../keys/enums.js';
import { keyArn } from '../keys/arn.js';
import { resolveKeyReference } from '../keys/resolve.js';
import { assertEnabled } from '../keys/states.js';
import { assertSymmetricEncryption, openWithKey, sealWithKey } from '../keys/symmetric.js';
import { checkDryRun, ciphertextMember, dryRunMember, encryptionContextMember, grantTokensMember, keyIdMember, optionalKeyIdMember } from '../validate/members.js';
import { enumeration, parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = {
  CiphertextBlob: ciphertextMember(),
  SourceEncryptionContext: encryptionContextMember(),
  SourceKeyId: optionalKeyIdMember(),
  DestinationKeyId: keyIdMember(),
  DestinationEncryptionContext: encryptionContextMember(),
  SourceEncryptionAlgorithm: enumeration(ENCRYPTION_ALGORITHMS),
  DestinationEncryptionAlgorithm: enumeration(ENCRYPTION_ALGORITHMS),
  GrantTokens: grantTokensMember(),
  DryRun: dryRunMember(),
};

/** Decrypts and encrypts again inside the server: the plaintext never leaves it. Moves a
 * ciphertext to the destination key's newest version, which is how rotation reaches old data. */
export const reEncrypt: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const opened = await openWithKey(service, input.CiphertextBlob, input.SourceEncryptionContext, {
    ...(input.SourceKeyId !== undefined ? { keyId: input.SourceKeyId } : {}),
    operation: 'ReEncrypt',
    ...(input.SourceEncryptionAlgorithm !== undefined ? { algorithm: input.SourceEncryptionAlgorithm } : {}),
    authorize: (key, requestAlias) => service.access.authorizeKey(request, {
      action: 'kms:ReEncryptFrom', key, grantOperation: 'ReEncryptFrom', requestAlias,
      encryptionContext: input.SourceEncryptionContext, grantTokens: input.GrantTokens,
      context: { 'kms:encryptionalgorithm': input.SourceEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT', 'kms:reencryptonsamekey': false },
    }),
  });
  try {
    const { key: destination, alias } = await resolveKeyReference(service, input.DestinationKeyId, 'key-or-alias');
    await service.access.authorizeKey(request, {
      action: 'kms:ReEncryptTo', key: destination, grantOperation: 'ReEncryptTo', requestAlias: alias,
      encryptionContext: input.DestinationEncryptionContext, grantTokens: input.GrantTokens,
      context: {
        'kms:encryptionalgorithm': input.DestinationEncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT',
        'kms:reencryptonsamekey': destination.keyId === opened.key.keyId,
      },
    });
    assertSymmetricEncryption(service, destination, 'ReEncrypt', input.DestinationEncryptionAlgorithm);
    assertEnabled(service.realm, destination);
    const sealed = await sealWithKey(service, destination, opened.plaintext, input.DestinationEncryptionContext);
    checkDryRun(input.DryRun);
    return {
      CiphertextBlob: sealed.ciphertext.toString('base64'),
      SourceKeyId: keyArn(service.realm, opened.key.keyId),
      KeyId: keyArn(service.realm, destination.keyId),
      SourceEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      DestinationEncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
      SourceKeyMaterialId: opened.materialId,
      DestinationKeyMaterialId: sealed.materialId,
    };
  } finally {
    opened.plaintext.fill(0);
  }
};
