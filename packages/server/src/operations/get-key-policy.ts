import type { Service } from '../context.js';
import type { KeyRecord } from '../keys/key-record.js';
import { resolveKey } from '../keys/resolve.js';
import { defaultKeyPolicy } from '../policy/default-key-policy.js';
import { parseJsonWithSource, type Span } from '../policy/json-source.js';
import { principalId } from '../principals/principal-id.js';
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
    Policy: key.policy === undefined ? defaultKeyPolicy(service.realm.partition, service.realm.accountId) : await shownPolicy(service, key, key.policy),
    PolicyName: DEFAULT_POLICY_NAME,
  };
};

/**
 * The policy as AWS shows it: a user or role it names that has been deleted since the policy was
 * set (or deleted and created again under the name) appears as the unique id of the one it named,
 * not as the ARN, which now means nobody or somebody else. So reading the policy, changing it and
 * setting it again cannot hand the old principal's permissions to a new one of the same name: the
 * id is refused as an invalid principal, as AWS refuses it, until it is removed. Nothing else of
 * the text changes (numbers, escapes and layout stay as set); a policy in which every named
 * principal is still the one it named is returned exactly as it was set.
 */
async function shownPolicy(service: Service, key: KeyRecord, text: string): Promise<string> {
  const orphaned = new Map<string, string>();
  for (const [arn, createdAt] of Object.entries(key.policyPrincipals ?? {})) {
    if ((await service.store.getPrincipal(arn))?.createdAt === createdAt) continue;
    orphaned.set(arn, principalId({ arn, kind: arn.includes(':role/') ? 'role' : 'user', createdAt }));
  }
  if (orphaned.size === 0) return text;
  // Only those strings change; every other byte of the text stays as it was set.
  const source = parseJsonWithSource(text);
  const changes: { span: Span; id: string }[] = [];
  const visit = (holder: object, key: string | number): void => {
    const value = (holder as Record<string | number, unknown>)[key];
    const id = typeof value === 'string' ? orphaned.get(value) : undefined;
    const span = source.span(holder, key);
    if (id !== undefined && span !== undefined) changes.push({ span, id });
  };
  const policy = source.value as { Statement: unknown };
  for (const statement of Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]) {
    for (const element of ['Principal', 'NotPrincipal']) {
      const principals = (statement as Record<string, unknown>)[element];
      if (typeof principals !== 'object' || principals === null || !Object.hasOwn(principals, 'AWS')) continue;
      const aws = (principals as { AWS: unknown }).AWS;
      if (Array.isArray(aws)) aws.forEach((_, i) => visit(aws, i));
      else visit(principals, 'AWS');
    }
  }
  let shown = text;
  for (const { span: [start, end], id } of changes.sort((a, b) => b.span[0] - a.span[0])) {
    shown = shown.slice(0, start) + JSON.stringify(id) + shown.slice(end);
  }
  return shown;
}
