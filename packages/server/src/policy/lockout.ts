import { MalformedPolicyDocumentException } from '../errors.js';
import { authorize } from './authorize.js';
import type { CompiledPolicy } from './compile.js';
import { EMPTY_CONTEXT, type RequestContext } from './context.js';
import type { Principal } from './principal.js';

/**
 * The key policy lockout safety check (CreateKey and PutKeyPolicy, unless
 * BypassPolicyLockoutSafetyCheck is true): the new key policy must let the principal making the
 * request make a later PutKeyPolicy request on the key. It is decided like any request, key policy
 * and identity policies together (an identity-policy Deny of kms:PutKeyPolicy also locks the caller
 * out, as AWS reports), and without grants, which cannot give PutKeyPolicy. Conditions are read
 * against the context of that later request: the caller's keys as the request that sets the policy
 * has them, and the key's (kms:CallerAccount, kms:KeySpec, aws:ResourceTag/...) from the key.
 */
export const LOCKOUT_MESSAGE = 'The new key policy will not allow you to update the key policy in the future.';

export interface LockoutCheck {
  /** The key's ARN. */
  readonly resource: string;
  readonly identityPolicies?: readonly CompiledPolicy[];
  readonly context?: RequestContext;
}

export function wouldLockOut(policy: CompiledPolicy, caller: Principal, check: LockoutCheck): boolean {
  return !authorize({
    keyPolicy: policy,
    identityPolicies: check.identityPolicies ?? [],
    grantAllows: false,
    request: { action: 'kms:PutKeyPolicy', resource: check.resource, principal: caller, context: check.context ?? EMPTY_CONTEXT },
  }).allowed;
}

/** Throws AWS's MalformedPolicyDocumentException when the new policy would lock the caller out. */
export function assertNoLockOut(policy: CompiledPolicy, caller: Principal, check: LockoutCheck): void {
  if (wouldLockOut(policy, caller, check)) throw new MalformedPolicyDocumentException(LOCKOUT_MESSAGE);
}
