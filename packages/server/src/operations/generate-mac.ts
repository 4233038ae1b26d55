import { useKey } from '../keys/asymmetric.js';
import { MAC_ALGORITHMS } from '../keys/enums.js';
import { checkDryRun, dryRunMember, grantTokensMember, keyIdMember } from '../validate/members.js';
import { blob, enumeration, parseShape, required } from '../validate/shape.js';
import type { Operation } from './operation.js';

export const macShape = {
  KeyId: keyIdMember(),
  Message: required(blob({ min: 1, max: 4096 })),
  MacAlgorithm: required(enumeration(MAC_ALGORITHMS)),
  GrantTokens: grantTokensMember(),
  DryRun: dryRunMember(),
};

/** GenerateMac: an HMAC of the message under the key (RFC 2104). */
export const generateMac: Operation = async (service, body, request) => {
  const input = parseShape(body, macShape);
  const usable = await useKey(service, request, {
    keyId: input.KeyId, operation: 'GenerateMac', action: 'kms:GenerateMac', grantOperation: 'GenerateMac',
    usage: 'GENERATE_VERIFY_MAC', algorithm: input.MacAlgorithm, grantTokens: input.GrantTokens,
    context: { 'kms:macalgorithm': input.MacAlgorithm },
  });
  const mac = usable.family.mac!(usable.material, input.MacAlgorithm, input.Message);
  checkDryRun(input.DryRun);
  return { Mac: mac.toString('base64'), MacAlgorithm: input.MacAlgorithm, KeyId: usable.arn };
};
