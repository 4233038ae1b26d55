import type { RequestContext, Service } from '../context.js';
import { MalformedPolicyDocumentException } from '../errors.js';
import { compilePolicy, type CompiledPolicy } from '../policy/compile.js';
import { assertNoDuplicateKeys } from '../policy/duplicate-keys.js';
import { oneOfNames, principalNameMember } from './members.js';
import { namedPrincipal, requirePrincipal, WIRE, type NamedPrincipal } from './principals.js';

/** The members that name a policy's user or role: exactly one of them. */
export const ownerMembers = () => ({ UserName: principalNameMember(), RoleName: principalNameMember() });

/**
 * IAM's quota on the inline policies of one principal, all together, white space not counted
 * (IAM User Guide, "IAM and AWS STS quotas": 2,048 characters for a user, 10,240 for a role).
 */
export const MAX_AGGREGATE_POLICY_SIZE = { user: 2048, role: 10240 } as const;

/** White space as JSON has it (space, tab, line feed, carriage return): U+00A0, which a policy may hold, counts. */
export const policySize = (document: string): number => document.replace(/[ \t\n\r]/g, '').length;

/** IAM User Guide, "IAM JSON policy elements: Sid": "ASCII uppercase letters (A-Z), lowercase letters (a-z), and numbers (0-9)". */
const IAM_SID = /^[0-9A-Za-z]*$/;

/**
 * An identity policy about to be set (PutPrincipalPolicy, a seed), compiled and checked as IAM
 * checks a policy it is given: no member twice in one object, each Sid alphanumeric and used once
 * (IAM's messages). Checked when a policy is set, not in compilePolicy, so that one stored before
 * still compiles. Throws MalformedPolicyDocumentException.
 */
export function checkNewIdentityPolicy(document: string): CompiledPolicy {
  const policy = compilePolicy(document, 'identity');
  assertNoDuplicateKeys(document);
  const sids = policy.statements.map((s) => s.sid).filter((sid) => sid !== undefined && sid !== '');
  if (!sids.every((sid) => IAM_SID.test(sid!))) {
    throw new MalformedPolicyDocumentException('Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*');
  }
  // IAM User Guide, "Sid": "In IAM, the Sid value must be unique within a JSON policy".
  if (new Set(sids).size !== sids.length) throw new MalformedPolicyDocumentException('Statement IDs (SID) in a single policy must be unique.');
  return policy;
}

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
