import { KMSInvalidSignatureException } from '../errors.js';
import { checkMessage, useKey } from '../keys/asymmetric.js';
import { checkDryRun } from '../validate/members.js';
import { blob, parseShape, required } from '../validate/shape.js';
import { signingShape } from './sign.js';
import type { Operation } from './operation.js';

const shape = { ...signingShape, Signature: required(blob({ min: 1, max: 6144 })) };

/** Verify: a valid signature answers SignatureValid true; any other is KMSInvalidSignatureException. */
export const verify: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const messageType = input.MessageType ?? 'RAW';
  const usable = await useKey(service, request, {
    keyId: input.KeyId, operation: 'Verify', action: 'kms:Verify', grantOperation: 'Verify', usage: 'SIGN_VERIFY',
    algorithm: input.SigningAlgorithm, grantTokens: input.GrantTokens,
    context: { 'kms:signingalgorithm': input.SigningAlgorithm, 'kms:messagetype': messageType },
  });
  checkMessage(input.SigningAlgorithm, messageType, input.Message);
  const valid = usable.family.verify!(usable.material, input.SigningAlgorithm, input.Message, messageType, input.Signature);
  if (!valid) throw new KMSInvalidSignatureException();
  checkDryRun(input.DryRun);
  return { KeyId: usable.arn, SignatureValid: true, SigningAlgorithm: input.SigningAlgorithm };
};
