import { UnsupportedOperationException } from '../errors.js';
import { DATA_KEY_PAIR_SPECS } from '../keys/enums.js';
import { keyArn } from '../keys/arn.js';
import { resolveKeyReference } from '../keys/resolve.js';
import { KEY_SPEC_TABLE } from '../keys/specs/index.js';
import { assertEnabled } from '../keys/states.js';
import { assertDataKeyWrapping, sealWithKey } from '../keys/symmetric.js';
import { checkDryRun, dryRunMember, encryptionContextMember, grantTokensMember, keyIdMember } from '../validate/members.js';
import { enumeration, parseShape, required } from '../validate/shape.js';
import { recipientMember, rejectRecipient } from './recipient.js';
import type { Operation } from './operation.js';

const shape = {
  KeyId: keyIdMember(),
  EncryptionContext: encryptionContextMember(),
  KeyPairSpec: required(enumeration(DATA_KEY_PAIR_SPECS)),
  GrantTokens: grantTokensMember(),
  Recipient: recipientMember(),
  DryRun: dryRunMember(),
};

/**
 * GenerateDataKeyPair and GenerateDataKeyPairWithoutPlaintext: a fresh key pair, its private key
 * (PKCS#8 DER) sealed under a symmetric KMS key like any data key. The server never stores it.
 */
function generateDataKeyPair(operation: 'GenerateDataKeyPair' | 'GenerateDataKeyPairWithoutPlaintext', withPlaintext: boolean): Operation {
  return async (service, body, request) => {
    const input = parseShape(body, shape);
    // GenerateDataKeyPairWithoutPlaintext has no Recipient member, and AWS ignores a member an operation does not have.
    if (withPlaintext) rejectRecipient(input.Recipient);
    const family = KEY_SPEC_TABLE[input.KeyPairSpec]?.family;
    const { key, alias } = await resolveKeyReference(service, input.KeyId, 'key-or-alias');
    await service.access.authorizeKey(request, {
      action: `kms:${operation}`, key, grantOperation: operation, requestAlias: alias,
      encryptionContext: input.EncryptionContext, grantTokens: input.GrantTokens,
      context: { 'kms:encryptionalgorithm': 'SYMMETRIC_DEFAULT', 'kms:datakeypairspec': input.KeyPairSpec },
    });
    assertDataKeyWrapping(service, key, operation);
    assertEnabled(service.realm, key);
    if (!family?.publicKey) throw new UnsupportedOperationException(`KeyPairSpec ${input.KeyPairSpec} is not supported by this server.`);
    if (input.DryRun === true) {
      // Every check of a real call, the key's material included, without making a key pair: an
      // RSA_4096 pair costs about a second of CPU, for an answer that never holds it.
      await sealWithKey(service, key, Buffer.alloc(32), input.EncryptionContext);
      checkDryRun(input.DryRun);
    }
    const privateKey = await family.generate();
    try {
      const publicKey = family.publicKey(privateKey);
      const sealed = await sealWithKey(service, key, privateKey, input.EncryptionContext);
      checkDryRun(input.DryRun);
      request.audit.addEventData('keyMaterialId', sealed.materialId);
      return {
        PrivateKeyCiphertextBlob: sealed.ciphertext.toString('base64'),
        ...(withPlaintext ? { PrivateKeyPlaintext: privateKey.toString('base64') } : {}),
        PublicKey: publicKey.toString('base64'),
        KeyId: keyArn(service.realm, key.keyId),
        KeyPairSpec: input.KeyPairSpec,
        KeyMaterialId: sealed.materialId,
      };
    } finally {
      privateKey.fill(0);
    }
  };
}

export const generateDataKeyPairWithPlaintext = generateDataKeyPair('GenerateDataKeyPair', true);
export const generateDataKeyPairWithoutPlaintext = generateDataKeyPair('GenerateDataKeyPairWithoutPlaintext', false);
