import type { Service } from '../context.js';
import { InvalidCiphertextException } from '../errors.js';
import { parseBlob } from '../keys/ciphertext-blob.js';
import { ENCRYPTION_ALGORITHMS } from '../keys/enums.js';
import { resolveKeyReference, type KeyReference } from '../keys/resolve.js';
import { keyArn } from '../keys/arn.js';
import { openWithKey, storedKeyOfBlob } from '../keys/symmetric.js';
import {
  checkDryRun, ciphertextMember, dryRunMember, dryRunModifiersMember, encryptionContextMember, grantTokensMember, ignoresCiphertext, optionalKeyIdMember,
  requireCiphertext,
} from '../validate/members.js';
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
  DryRunModifiers: dryRunModifiersMember(),
};

export const decrypt: Operation = async (service, body, request) => {
  const parsed = parseShape(body, decryptShape);
  rejectRecipient(parsed.Recipient);
  if (ignoresCiphertext(parsed)) {
    const { key, alias } = await keyOfCiphertext(service, parsed.KeyId, parsed.CiphertextBlob);
    await service.access.authorizeKey(request, {
      action: 'kms:Decrypt', key, grantOperation: 'Decrypt', requestAlias: alias, keyFromCiphertext: parsed.KeyId === undefined,
      encryptionContext: parsed.EncryptionContext, grantTokens: parsed.GrantTokens,
      context: { 'kms:encryptionalgorithm': parsed.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT' },
    });
    checkDryRun(true);
  }
  const input = { ...parsed, CiphertextBlob: requireCiphertext(parsed.CiphertextBlob) };
  // A raw RSA ciphertext names no key: with an RSA algorithm, the KeyId says which key opens it.
  // Without a KeyId the blob must name its key, so it is taken as a symmetric blob.
  if (namesRsaCiphertext(input.KeyId, input.EncryptionAlgorithm)) {
    return decryptAsymmetric(service, { ...input, KeyId: input.KeyId }, request);
  }
  const opened = await openWithKey(service, input.CiphertextBlob, input.EncryptionContext, {
    ...(input.KeyId !== undefined ? { keyId: input.KeyId } : {}),
    operation: 'Decrypt',
    ...(input.EncryptionAlgorithm !== undefined ? { algorithm: input.EncryptionAlgorithm } : {}),
    named: (key) => request.audit.touchKey(keyArn(service.realm, key.keyId)),
    authorize: (key, requestAlias) => service.access.authorizeKey(request, {
      action: 'kms:Decrypt', key, grantOperation: 'Decrypt', requestAlias, keyFromCiphertext: input.KeyId === undefined,
      encryptionContext: input.EncryptionContext, grantTokens: input.GrantTokens,
      context: { 'kms:encryptionalgorithm': input.EncryptionAlgorithm ?? 'SYMMETRIC_DEFAULT' },
    }),
  });
  checkDryRun(input.DryRun);
  request.audit.addEventData('keyMaterialId', opened.materialId);
  return {
    KeyId: keyArn(service.realm, opened.key.keyId),
    Plaintext: opened.plaintext.toString('base64'),
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
    KeyMaterialId: opened.materialId,
  };
};

/**
 * The key a Decrypt (or ReEncrypt's source) is about when its ciphertext is not to be checked
 * (DryRun with IGNORE_CIPHERTEXT): the KeyId given, or else the key the blob's header names. A
 * blob that names no key, or a key this server does not have, is answered as it always is
 * (`storedKeyOfBlob`); with neither a KeyId nor a blob, the blob is missing.
 */
export async function keyOfCiphertext(service: Service, keyId: string | undefined, blob: Buffer | undefined): Promise<KeyReference> {
  if (keyId !== undefined) return resolveKeyReference(service, keyId, 'key-or-alias');
  const parsed = parseBlob(requireCiphertext(blob));
  if (!parsed) throw new InvalidCiphertextException();
  return { key: await storedKeyOfBlob(service, parsed), alias: undefined };
}
