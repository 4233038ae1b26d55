import { LimitExceededException, MalformedPolicyDocumentException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { compilePolicy } from '../policy/compile.js';
import { assertNoDuplicateKeys } from '../policy/duplicate-keys.js';
import { parseShape } from '../validate/shape.js';
import { policyDocumentMember, policyNameMember } from './members.js';
import { MAX_AGGREGATE_POLICY_SIZE, ownerMembers, policyOwner, policySize } from './principal-policy.js';

const shape = { ...ownerMembers(), PolicyName: policyNameMember(), PolicyDocument: policyDocumentMember() };

/**
 * `CofferAdmin.PutPrincipalPolicy` {UserName | RoleName, PolicyName, PolicyDocument} -> {}.
 * Creates or replaces an inline identity policy; a document that does not compile, repeats a
 * member in one object, or has two statements of one Sid, is MalformedPolicyDocumentException.
 * In force at once on this node.
 */
export const putPrincipalPolicy: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const owner = await policyOwner(service, request, input, 'coffer:PutPrincipalPolicy');
  const policy = compilePolicy(input.PolicyDocument, 'identity');
  assertNoDuplicateKeys(input.PolicyDocument);
  // IAM User Guide, "Sid": "In IAM, the Sid value must be unique within a JSON policy" (IAM's
  // message). Checked when a policy is set, so that one stored before still compiles.
  const sids = policy.statements.map((s) => s.sid).filter((sid) => sid !== undefined && sid !== '');
  if (new Set(sids).size !== sids.length) throw new MalformedPolicyDocumentException('Statement IDs (SID) in a single policy must be unique.');
  const others = (await service.store.listIdentityPolicies(owner.arn)).filter((p) => p.policyName !== input.PolicyName);
  const size = others.reduce((sum, p) => sum + policySize(p.document), policySize(input.PolicyDocument));
  const max = MAX_AGGREGATE_POLICY_SIZE[owner.kind];
  if (size > max) throw new LimitExceededException(`Maximum policy size of ${max} bytes exceeded for ${owner.kind} ${owner.name}`);
  const record = { principalArn: owner.arn, policyName: input.PolicyName, document: input.PolicyDocument, updatedAt: service.now() };
  await request.audit.commit((event) => service.store.putIdentityPolicy(record, event));
  // Deleted meanwhile: the policy must not wait for a principal of the same name to be created.
  if (!(await service.store.getPrincipal(owner.arn))) await service.store.deleteIdentityPolicy(owner.arn, input.PolicyName);
  service.access.forgetPrincipal(owner.arn);
  return {};
};
