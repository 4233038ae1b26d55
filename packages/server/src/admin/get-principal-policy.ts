import { NotFoundException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { parseShape } from '../validate/shape.js';
import { policyNameMember } from './members.js';
import { noSuchPolicy, ownerMembers, policyOwner } from './principal-policy.js';
import { WIRE } from './principals.js';

const shape = { ...ownerMembers(), PolicyName: policyNameMember() };

/** `CofferAdmin.GetPrincipalPolicy` {UserName | RoleName, PolicyName} -> {UserName | RoleName, PolicyName, PolicyDocument} */
export const getPrincipalPolicy: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const owner = await policyOwner(service, request, input, 'coffer:GetPrincipalPolicy');
  const policy = await service.store.getIdentityPolicy(owner.arn, input.PolicyName);
  if (!policy) throw new NotFoundException(noSuchPolicy(owner, input.PolicyName));
  return { [WIRE[owner.kind].name]: owner.name, PolicyName: policy.policyName, PolicyDocument: policy.document };
};
