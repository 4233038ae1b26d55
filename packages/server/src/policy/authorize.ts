import type { CompiledPolicy, CompiledStatement } from './compile.js';
import type { RequestContext } from './context.js';
import { statementMatches, type StatementRequest } from './evaluate.js';
import { accountRootOf, allowReaches, denyReaches, type Principal } from './principal.js';

/**
 * The access decision for one request on one KMS key, in AWS KMS's order (KMS Developer Guide,
 * "Determining access to a KMS key"; IAM User Guide, "Policy evaluation logic"):
 *
 * 1. An explicit Deny wins: a key-policy Deny that reaches the caller (naming it, its account, or
 *    everyone), or a Deny in the caller's identity policies. It beats grants too.
 * 2. A key-policy Allow for the caller itself (its ARN, `*`, or the account when the caller is the
 *    account root).
 * 3. When the key policy allows the caller's account root the action ("the key policy must
 *    explicitly allow it": that is how a key policy enables IAM policies), an Allow in the caller's
 *    identity policies. Without that statement, identity policies can only deny.
 * 4. A grant for the caller, decided by the grants module.
 * 5. Otherwise the implicit deny.
 */
export const DECISION_REASONS = Object.freeze(['explicit-deny', 'key-policy', 'identity-policy', 'grant', 'implicit-deny'] as const);
export type DecisionReason = (typeof DECISION_REASONS)[number];

export interface Decision {
  readonly allowed: boolean;
  readonly reason: DecisionReason;
}

export interface AuthorizationRequest {
  /** `kms:<Operation>`, e.g. `kms:Decrypt`. */
  readonly action: string;
  /** The key's ARN. */
  readonly resource: string;
  readonly principal: Principal;
  readonly context: RequestContext;
}

export interface AuthorizationInput {
  readonly keyPolicy: CompiledPolicy;
  /** The caller's identity policies; empty for the account root. */
  readonly identityPolicies: readonly CompiledPolicy[];
  /** Whether a grant on the key gives the caller this operation (constraints already checked). */
  readonly grantAllows: boolean;
  readonly request: AuthorizationRequest;
}

const decision = (allowed: boolean, reason: DecisionReason): Decision => Object.freeze({ allowed, reason });
const DENIED = decision(false, 'explicit-deny');
const BY_KEY_POLICY = decision(true, 'key-policy');
const BY_IDENTITY_POLICY = decision(true, 'identity-policy');
const BY_GRANT = decision(true, 'grant');
const IMPLICIT = decision(false, 'implicit-deny');

function keyPolicyAllows(statements: readonly CompiledStatement[], principal: Principal, request: StatementRequest): boolean {
  for (const s of statements) {
    if (s.effect === 'Allow' && allowReaches(s.principals!.set, s.principals!.negated, principal) && statementMatches(s, request)) return true;
  }
  return false;
}

function identityPolicies(policies: readonly CompiledPolicy[], effect: 'Allow' | 'Deny', request: StatementRequest): boolean {
  for (const policy of policies) {
    for (const s of policy.statements) if (s.effect === effect && statementMatches(s, request)) return true;
  }
  return false;
}

export function authorize(input: AuthorizationInput): Decision {
  const { keyPolicy, request } = input;
  if (keyPolicy.kind !== 'key') throw new TypeError('authorize: keyPolicy must be compiled as a key policy');
  if (input.identityPolicies.some((p) => p.kind !== 'identity')) {
    throw new TypeError('authorize: identityPolicies must be compiled as identity policies');
  }
  const { principal } = request;
  const matchRequest: StatementRequest = request;

  for (const s of keyPolicy.statements) {
    if (s.effect === 'Deny' && denyReaches(s.principals!.set, s.principals!.negated, principal) && statementMatches(s, matchRequest)) return DENIED;
  }
  if (identityPolicies(input.identityPolicies, 'Deny', matchRequest)) return DENIED;

  if (keyPolicyAllows(keyPolicy.statements, principal, matchRequest)) return BY_KEY_POLICY;
  if (principal.kind !== 'root' && input.identityPolicies.length > 0
    && keyPolicyAllows(keyPolicy.statements, accountRootOf(principal), matchRequest)
    && identityPolicies(input.identityPolicies, 'Allow', matchRequest)) {
    return BY_IDENTITY_POLICY;
  }
  if (input.grantAllows) return BY_GRANT;
  return IMPLICIT;
}
