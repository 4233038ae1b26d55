import { ENCRYPTION_ALGORITHMS } from '../keys/enums.js';
import { keyArn } from '../keys/arn.js';
import { resolveKey } from '../keys/resolve.js';
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

export const encrypt: Operation = async (service, body) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key-or-alias');
  assertSymmetricEncryption(service, key, 'Encrypt', input.EncryptionAlgorithm);
  assertEnabled(service.realm, key);
  const sealed = await sealWithKey(service, key, input.Plaintext, input.EncryptionContext);
  checkDryRun(input.DryRun);
  return {
    CiphertextBlob: sealed.ciphertext.toString('base64'),
    KeyId: keyArn(service.realm, key.keyId),
    EncryptionAlgorithm: 'SYMMETRIC_DEFAULT',
  };
};
