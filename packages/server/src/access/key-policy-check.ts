import type { RequestContext, Service } from '../context.js';
import { MalformedPolicyDocumentException } from '../errors.js';
import { compilePolicy, namedPrincipals } from '../policy/compile.js';
import { assertNoLockOut } from '../policy/lockout.js';
import { INVALID_PRINCIPALS } from '../policy/principal.js';

/**
 * Checks a key policy a caller is about to set (CreateKey, PutKeyPolicy), as AWS does: it must be
 * a valid key policy, every principal it names in this account must exist, and unless the caller
 * bypasses the lockout safety check, it must still let the caller change the policy later.
 */
export async function checkNewKeyPolicy(
  service: Service, request: RequestContext, text: string, resource: string, bypassLockoutCheck: boolean,
): Promise<void> {
  const policy = compilePolicy(text, 'key');
  const { realm } = service;
  for (const arn of namedPrincipals(policy).arns) {
    const [, partition, , , account] = arn.split(':');
    if (partition !== realm.partition || account !== realm.accountId || arn.includes(':sts::')) continue;
    if (!(await service.store.getPrincipal(arn))) {
      throw new MalformedPolicyDocumentException(`${INVALID_PRINCIPALS} ${arn} does not exist in account ${realm.accountId}.`);
    }
  }
  if (!bypassLockoutCheck) {
    // Judged as the caller's next PutKeyPolicy would be: with its conditions read against this request.
    assertNoLockOut(policy, request.principal, {
      resource,
      identityPolicies: await service.access.identityPolicies(request.principal),
      context: await service.access.callerContextOf(request),
    });
  }
}
