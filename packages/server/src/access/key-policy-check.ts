import type { RequestContext, Service } from '../context.js';
import { MalformedPolicyDocumentException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import type { KeyRecord } from '../keys/key-record.js';
import { compilePolicy, namedPrincipals } from '../policy/compile.js';
import { assertNoDuplicateKeys } from '../policy/duplicate-keys.js';
import { assertNoLockOut } from '../policy/lockout.js';
import { INVALID_PRINCIPALS } from '../policy/principal.js';

/**
 * Checks a key policy a caller is about to set (CreateKey, PutKeyPolicy), as AWS does: it must be
 * a valid key policy with no member repeated in one object, every principal it names in this
 * account must exist, no principal may be of another partition (AWS supports no cross-partition
 * permissions, and a policy's account entry is matched by account id alone, so
 * `arn:aws-cn:iam::<this account>:root` would stand for this account), and unless the caller
 * bypasses the lockout safety check, it must still let the caller change the policy later.
 *
 * Returns the principals it names, as the key keeps them (KeyRecord.policyPrincipals): each user
 * and role of this account with the creation time of the one that exists now.
 */
export async function checkNewKeyPolicy(
  service: Service, request: RequestContext, text: string, key: KeyRecord, bypassLockoutCheck: boolean,
): Promise<Record<string, number>> {
  const policy = compilePolicy(text, 'key');
  assertNoDuplicateKeys(text);
  const { realm } = service;
  const named = namedPrincipals(policy);
  const foreign = named.partitions.find((partition) => partition !== realm.partition);
  if (foreign !== undefined) {
    throw new MalformedPolicyDocumentException(`${INVALID_PRINCIPALS} A principal of partition ${foreign} cannot be named on this server, whose partition is ${realm.partition}.`);
  }
  const principals: Record<string, number> = {};
  for (const arn of named.arns) {
    const [, , , , account] = arn.split(':');
    if (account !== realm.accountId || arn.includes(':sts::')) continue;
    const principal = await service.store.getPrincipal(arn);
    if (!principal) {
      throw new MalformedPolicyDocumentException(`${INVALID_PRINCIPALS} ${arn} does not exist in account ${realm.accountId}.`);
    }
    principals[arn] = principal.createdAt;
  }
  if (!bypassLockoutCheck) {
    // Judged as the caller's next PutKeyPolicy on the key would be: the caller's conditions read
    // against this request, the key's (kms:CallerAccount, kms:KeySpec, its tags) against the key.
    assertNoLockOut(policy, request.principal, {
      resource: keyArn(realm, key.keyId),
      identityPolicies: await service.access.identityPolicies(request.principal),
      context: await service.access.putKeyPolicyContextOf(request, key),
    });
  }
  return principals;
}
