import { checkMessage, useKey } from '../keys/asymmetric.js';
import { MESSAGE_TYPES, SIGNING_ALGORITHMS } from '../keys/enums.js';
import { checkDryRun, dryRunMember, grantTokensMember, keyIdMember } from '../validate/members.js';
import { blob, enumeration, parseShape, required } from '../validate/shape.js';
import type { Operation } from './operation.js';

export const signingShape = {
  KeyId: keyIdMember(),
  Message: required(blob({ min: 1, max: 4096 })),
  MessageType: enumeration(MESSAGE_TYPES),
  GrantTokens: grantTokensMember(),
  SigningAlgorithm: required(enumeration(SIGNING_ALGORITHMS)),
  DryRun: dryRunMember(),
};

/** Sign: a signature under the key's private key, over the message or its digest. */
export const sign: Operation = async (service, body, request) => {
  const input = parseShape(body, signingShape);
  const messageType = input.MessageType ?? 'RAW';
  const usable = await useKey(service, request, {
    keyId: input.KeyId, operation: 'Sign', action: 'kms:Sign', grantOperation: 'Sign', usage: 'SIGN_VERIFY',
    algorithm: input.SigningAlgorithm, grantTokens: input.GrantTokens,
    context: { 'kms:signingalgorithm': input.SigningAlgorithm, 'kms:messagetype': messageType },
  });
  checkMessage(input.SigningAlgorithm, messageType, input.Message);
  const signature = usable.family.sign!(usable.material, input.SigningAlgorithm, input.Message, messageType);
  checkDryRun(input.DryRun);
  return { KeyId: usable.arn, Signature: signature.toString('base64'), SigningAlgorithm: input.SigningAlgorithm };
};
