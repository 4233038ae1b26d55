import type { RequestContext, Service } from '../context.js';
import { oneOfNames, principalNameMember } from './members.js';
import { namedPrincipal, requirePrincipal, WIRE, type NamedPrincipal } from './principals.js';

/** The members that name a policy's user or role: exactly one of them. */
export const ownerMembers = () => ({ UserName: principalNameMember(), RoleName: principalNameMember() });

/**
 * IAM's quota on the inline policies of one principal, all together, white space not counted
 * (IAM User Guide, "IAM and AWS STS quotas": 2,048 characters for a user, 10,240 for a role).
 */
export const MAX_AGGREGATE_POLICY_SIZE = { user: 2048, role: 10240 } as const;

export const policySize = (document: string): number => document.replace(/\s/g, '').length;

/**
 * The user or role a policy operation names, authorized as `coffer:<action>` on its ARN, then
 * checked to exist.
 */
export async function policyOwner(
  service: Service, request: RequestContext, input: { UserName?: string | undefined; RoleName?: string | undefined }, action: string,
): Promise<NamedPrincipal> {
  oneOfNames(input);
  const owner = namedPrincipal(service, input)!;
  await service.access.authorizeAccount(request, action, owner.arn);
  await requirePrincipal(service, owner);
  return owner;
}

/** IAM's NoSuchEntity message for an inline policy. */
export const noSuchPolicy = (owner: NamedPrincipal, policyName: string): string =>
  `The ${WIRE[owner.kind].title} policy with name ${policyName} cannot be found.`;
