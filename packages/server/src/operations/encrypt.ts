import { ENCRYPTION_ALGORITHMS } from '../keys/enums.js';
import { keyArn } from '../keys/arn.js';
import { isRsaEncryptionKey, sealWithRsaKey } from '../keys/asymmetric.js';
import { resolveKeyReference } from '../keys/resolve.js';
import { assertEnabled } from '../keys/states.js';
import { assertSymmetricEncryption, sealWithKey } from '../keys/symmetric.js';
import { checkDryRun, dryRunMember, encryptionContextMember, grantTokensMember, keyIdMember } from '../validate/members.js';
import { blob, enumeration, parseShape, required } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = {
  KeyId: keyIdMember(),
  Plaintext: required(blob({ min: 1, max: 4096 })),
  EncryptionContext: encryptionContextMember(),
  GrantTokens: grantTokensMember(),
  EncryptionAlgorithm: enumeration(ENCRYPTION_ALGORITHMS),
  DryRun: dryRunMember(),
};

export const encrypt: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const { key, alias } = await resolveKeyReference(service, input.KeyId, 'key-or-alias');
  await service.access.authorizeKey(request, {
    action: 'kms:Encrypt', key, grantOperation: 'Encrypt', requestAlias: alias,
    encryptionContext: input.EncryptionContext, grantTokens: input.GrantTokens,
    context: { 'kms:encryptionalgorithm': input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT' },
  });
  if (isRsaEncryptionKey(key)) {
    // An RSA key: the CiphertextBlob is the raw RSAES-OAEP ciphertext, as AWS returns it.
    const sealed = await sealWithRsaKey(service, key, input.EncryptionAlgorithm, input.EncryptionContext, input.Plaintext);
    checkDryRun(input.DryRun);
    return { CiphertextBlob: sealed.ciphertext.toString('base64'), KeyId: keyArn(service.realm, key.keyId), EncryptionAlgorithm: sealed.algorithm };
  }
  assertSymmetricEncryption(service, key, 'Encrypt', input.EncryptionAlgorithm);
  assertEnabled(service.realm, key);
  const sealed = await sealWithKey(service, key, input.Plaintext, input.EncryptionContext);
  checkDryRun(input.DryRun);
  request.audit.addEventData('keyMaterialId', sealed.materialId);
  return {
    CiphertextBlob: sealed.ciphertext.toString('base64'),
    KeyId: keyArn(service.realm, key.keyId),
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
  };
};
