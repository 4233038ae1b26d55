import { resolveKey } from '../keys/resolve.js';
import { defaultKeyPolicy } from '../policy/default-key-policy.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import { assertDefaultPolicyName, DEFAULT_POLICY_NAME, policyNameMember } from './key-policy-name.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), PolicyName: policyNameMember() };

/** GetKeyPolicy: the key's policy text as it was set, or AWS's default policy for a key created without one. */
export const getKeyPolicy: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:GetKeyPolicy', key });
  assertDefaultPolicyName(input.PolicyName);
  return {
    Policy: key.policy ?? defaultKeyPolicy(service.realm.partition, service.realm.accountId),
    PolicyName: DEFAULT_POLICY_NAME,
  };
};
