import { LimitExceededException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { parseShape } from '../validate/shape.js';
import { policyDocumentMember, policyNameMember } from './members.js';
import { checkNewIdentityPolicy, MAX_AGGREGATE_POLICY_SIZE, ownerMembers, policyOwner, policySize } from './principal-policy.js';

const shape = { ...ownerMembers(), PolicyName: policyNameMember(), PolicyDocument: policyDocumentMember() };

/**
 * `CofferAdmin.PutPrincipalPolicy` {UserName | RoleName, PolicyName, PolicyDocument} -> {}.
 * Creates or replaces an inline identity policy; a document that does not compile, repeats a
 * member in one object, or has a Sid that is not alphanumeric or is used twice, is
 * MalformedPolicyDocumentException (checkNewIdentityPolicy). In force at once on this node.
 */
export const putPrincipalPolicy: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const owner = await policyOwner(service, request, input, 'coffer:PutPrincipalPolicy');
  checkNewIdentityPolicy(input.PolicyDocument);
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
