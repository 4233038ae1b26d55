import type { RequestContext, Service } from '../context.js';
import { MalformedPolicyDocumentException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import type { KeyRecord } from '../keys/key-record.js';
import { assertKeyPolicySize, compilePolicy, namedPrincipals, type CompiledPolicy } from '../policy/compile.js';
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
  assertKeyPolicySize(text);
  const policy = compilePolicy(text, 'key');
  assertNoDuplicateKeys(text);
  assertStatementsFit(policy);
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

/**
 * What AWS refuses in a key policy beyond its grammar, checked only when one is set (a policy
 * stored before these checks still reads as it did):
 * - a Sid used by two statements: AWS's guidance for MalformedPolicyDocumentException is to remove
 *   duplicate Sid values, and IAM requires a Sid to be unique within its policy;
 * - NotPrincipal with Allow: IAM User Guide, NotPrincipal: it "must be used with "Effect":"Deny".
 *   Using it with "Effect":"Allow" is not supported". Taken, it would allow everyone not named.
 */
function assertStatementsFit(policy: CompiledPolicy): void {
  const seen = new Set<string>();
  for (const statement of policy.statements) {
    const where = `Statement[${statement.index}]`;
    if (statement.sid !== undefined && statement.sid !== '') {
      if (seen.has(statement.sid)) throw new MalformedPolicyDocumentException(`${where}: the Sid "${statement.sid}" is used by another statement; each statement's Sid must be unique in the policy.`);
      seen.add(statement.sid);
    }
    if (statement.effect === 'Allow' && statement.principals?.negated) {
      throw new MalformedPolicyDocumentException(`${where}: NotPrincipal is supported only with "Effect": "Deny"; with Allow it would allow every principal it does not name.`);
    }
  }
}
