import type { Operation } from '../operations/operation.js';
import { parseShape } from '../validate/shape.js';
import { ownerMembers, policyOwner } from './principal-policy.js';

const shape = ownerMembers();

/**
 * `CofferAdmin.ListPrincipalPolicies` {UserName | RoleName} -> {PolicyNames, IsTruncated}, in name
 * order. Never truncated: the aggregate size quota keeps the list short.
 */
export const listPrincipalPolicies: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const owner = await policyOwner(service, request, input, 'coffer:ListPrincipalPolicies');
  const policies = await service.store.listIdentityPolicies(owner.arn);
  return { PolicyNames: policies.map((p) => p.policyName), IsTruncated: false };
};
