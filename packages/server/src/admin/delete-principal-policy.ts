import { NotFoundException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { parseShape } from '../validate/shape.js';
import { policyNameMember } from './members.js';
import { noSuchPolicy, ownerMembers, policyOwner } from './principal-policy.js';

const shape = { ...ownerMembers(), PolicyName: policyNameMember() };

/** `CofferAdmin.DeletePrincipalPolicy` {UserName | RoleName, PolicyName} -> {}; out of force at once on this node. */
export const deletePrincipalPolicy: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const owner = await policyOwner(service, request, input, 'coffer:DeletePrincipalPolicy');
  const deleted = await request.audit.commit((event) => service.store.deleteIdentityPolicy(owner.arn, input.PolicyName, event));
  if (!deleted) throw new NotFoundException(noSuchPolicy(owner, input.PolicyName));
  service.access.forgetPrincipal(owner.arn);
  return {};
};
