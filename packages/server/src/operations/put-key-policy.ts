import { checkNewKeyPolicy } from '../access/key-policy-check.js';
import { changeKey } from '../keys/change-key.js';
import { resolveKey } from '../keys/resolve.js';
import { keyIdMember, keyPolicyMember } from '../validate/members.js';
import { boolean, parseShape, required } from '../validate/shape.js';
import { assertDefaultPolicyName, policyNameMember } from './key-policy-name.js';
import type { Operation } from './operation.js';

const shape = {
  KeyId: keyIdMember(),
  PolicyName: policyNameMember(),
  Policy: required(keyPolicyMember()),
  BypassPolicyLockoutSafetyCheck: boolean(),
};

/**
 * PutKeyPolicy: replaces the key's policy. The new text is checked as CreateKey checks it (valid,
 * principals exist, and unless bypassed, the caller can still change the policy afterwards). The
 * new policy is a new key revision, so every node's cached policy is replaced on its next read.
 */
export const putKeyPolicy: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  const bypass = input.BypassPolicyLockoutSafetyCheck === true;
  await service.access.authorizeKey(request, {
    action: 'kms:PutKeyPolicy', key,
    ...(input.BypassPolicyLockoutSafetyCheck !== undefined
      ? { context: { 'kms:bypasspolicylockoutsafetycheck': input.BypassPolicyLockoutSafetyCheck } } : {}),
  });
  assertDefaultPolicyName(input.PolicyName);
  const policyPrincipals = await checkNewKeyPolicy(service, request, input.Policy, key, bypass);
  await changeKey(service, key, () => ({ policy: input.Policy, policySetAt: service.now(), policyPrincipals }), request.audit);
  return {};
};
