import { KMSInvalidMacException } from '../errors.js';
import { useKey } from '../keys/asymmetric.js';
import { macEquals } from '../keys/specs/hmac.js';
import { checkDryRun } from '../validate/members.js';
import { blob, parseShape, required } from '../validate/shape.js';
import { macShape } from './generate-mac.js';
import type { Operation } from './operation.js';

const verifyShape = { ...macShape, Mac: required(blob({ min: 1, max: 6144 })) };

/** VerifyMac: a matching MAC answers MacValid true; any other is KMSInvalidMacException. */
export const verifyMac: Operation = async (service, body, request) => {
  const input = parseShape(body, verifyShape);
  const usable = await useKey(service, request, {
    keyId: input.KeyId, operation: 'VerifyMac', action: 'kms:VerifyMac', grantOperation: 'VerifyMac',
    usage: 'GENERATE_VERIFY_MAC', algorithm: input.MacAlgorithm, grantTokens: input.GrantTokens,
    context: { 'kms:macalgorithm': input.MacAlgorithm },
  });
  const expected = usable.family.mac!(usable.material, input.MacAlgorithm, input.Message);
  if (!macEquals(expected, input.Mac)) throw new KMSInvalidMacException();
  checkDryRun(input.DryRun);
  return { KeyId: usable.arn, MacValid: true, MacAlgorithm: input.MacAlgorithm };
};
