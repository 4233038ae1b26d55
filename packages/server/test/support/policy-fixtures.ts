/**
 * Builders for the policy tests: principals of two accounts, a key ARN, and statements written as
 * objects so each test row reads like the policy it checks.
 */
import { authorize, type Decision } from '../../src/policy/authorize.js';
import { compilePolicy, type CompiledPolicy } from '../../src/policy/compile.js';
import type { RequestContext } from '../../src/policy/context.js';
import type { Principal } from '../../src/policy/principal.js';

export const ACCOUNT = '111122223333';
export const OTHER_ACCOUNT = '444455556666';
export const KEY_ARN = `arn:aws:kms:us-west-2:${ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
export const OTHER_KEY_ARN = `arn:aws:kms:us-west-2:${OTHER_ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab`;
export const ROOT_ARN = `arn:aws:iam::${ACCOUNT}:root`;
export const OTHER_ROOT_ARN = `arn:aws:iam::${OTHER_ACCOUNT}:root`;

export const root: Principal = { arn: ROOT_ARN, accountId: ACCOUNT, kind: 'root' };
export const alice: Principal = { arn: `arn:aws:iam::${ACCOUNT}:user/alice`, accountId: ACCOUNT, kind: 'user' };
export const bob: Principal = { arn: `arn:aws:iam::${ACCOUNT}:user/bob`, accountId: ACCOUNT, kind: 'user' };
export const appRole: Principal = { arn: `arn:aws:iam::${ACCOUNT}:role/RoleForExampleApp`, accountId: ACCOUNT, kind: 'role' };
export const otherRoot: Principal = { arn: OTHER_ROOT_ARN, accountId: OTHER_ACCOUNT, kind: 'root' };
export const carol: Principal = { arn: `arn:aws:iam::${OTHER_ACCOUNT}:user/carol`, accountId: OTHER_ACCOUNT, kind: 'user' };

export type Statement = Record<string, unknown>;

export const policyText = (statements: Statement[], version: string | null = '2012-10-17'): string =>
  JSON.stringify(version === null ? { Statement: statements } : { Version: version, Statement: statements });

export const keyPolicy = (...statements: Statement[]): CompiledPolicy => compilePolicy(policyText(statements), 'key');
export const identityPolicy = (...statements: Statement[]): CompiledPolicy => compilePolicy(policyText(statements), 'identity');

/** The default key policy's one statement: the account may do everything, IAM policies enabled. */
export const ENABLE_IAM: Statement = { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: ROOT_ARN }, Action: 'kms:*', Resource: '*' };

export interface Ask {
  readonly key: CompiledPolicy;
  readonly identity?: readonly CompiledPolicy[];
  readonly grant?: boolean;
  readonly principal?: Principal;
  readonly action?: string;
  readonly resource?: string;
  readonly context?: RequestContext;
}

export function ask(a: Ask): Decision {
  return authorize({
    keyPolicy: a.key,
    identityPolicies: a.identity ?? [],
    grantAllows: a.grant ?? false,
    request: {
      action: a.action ?? 'kms:Decrypt',
      resource: a.resource ?? KEY_ARN,
      principal: a.principal ?? alice,
      context: a.context ?? {},
    },
  });
}

/**
 * Whether a Condition holds, asked through the public surface: a key policy that allows everyone
 * exactly when the condition holds.
 */
export function holds(condition: Record<string, unknown>, context: RequestContext, version: string | null = '2012-10-17'): boolean {
  const policy = compilePolicy(
    policyText([{ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: condition }], version),
    'key',
  );
  const decision = ask({ key: policy, context });
  return decision.allowed;
}
