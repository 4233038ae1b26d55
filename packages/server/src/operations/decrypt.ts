import { ENCRYPTION_ALGORITHMS } from '../keys/enums.js';
import { keyArn } from '../keys/arn.js';
import { openWithKey } from '../keys/symmetric.js';
import { checkDryRun, ciphertextMember, dryRunMember, encryptionContextMember, grantTokensMember, optionalKeyIdMember } from '../validate/members.js';
import { enumeration, parseShape } from '../validate/shape.js';
import { rejectRecipient, recipientMember } from './recipient.js';
import { decryptAsymmetric, namesRsaCiphertext } from './decrypt-asymmetric.js';
import type { Operation } from './operation.js';

export const decryptShape = {
  CiphertextBlob: ciphertextMember(),
  EncryptionContext: encryptionContextMember(),
  GrantTokens: grantTokensMember(),
  KeyId: optionalKeyIdMember(),
  EncryptionAlgorithm: enumeration(ENCRYPTION_ALGORITHMS),
  Recipient: recipientMember(),
  DryRun: dryRunMember(),
};

export const decrypt: Operation = async (service, body, request) => {
  const input = parseShape(body, decryptShape);
  rejectRecipient(input.Recipient);
  // A raw RSA ciphertext names no key: with an RSA algorithm, the KeyId says which key opens it.
  // Without a KeyId the blob must name its key, so it is taken as a symmetric blob.
  if (namesRsaCiphertext(input.KeyId, input.EncryptionAlgorithm)) {
    return decryptAsymmetric(service, { ...input, KeyId: input.KeyId }, request);
  }
  const opened = await openWithKey(service, input.CiphertextBlob, input.EncryptionContext, {
    ...(input.KeyId !== undefined ? { keyId: input.KeyId } : {}),
    operation: 'Decrypt',
    ...(input.EncryptionAlgorithm !== undefined ? { algorithm: input.EncryptionAlgorithm } : {}),
    authorize: (key, requestAlias) => service.access.authorizeKey(request, {
      action: 'kms:Decrypt', key, grantOperation: 'Decrypt', requestAlias,
      encryptionContext: input.EncryptionContext, grantTokens: input.GrantTokens,
      context: { 'kms:encryptionalgorithm': input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT' },
    }),
  });
  checkDryRun(input.DryRun);
  return {
    KeyId: keyArn(service.realm, opened.key.keyId),
    Plaintext: opened.plaintext.toString('base64'),
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    KeyMaterialId: opened.materialId,
  };
};
