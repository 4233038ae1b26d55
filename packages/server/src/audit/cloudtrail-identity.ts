import type { Realm } from '../keys/arn.js';
import type { KnownPrincipals } from './principal-ids.js';
import type { AuditRecord } from './record.js';

/** `IAMUser`, `AssumedRole` or `Root` as CloudTrail names them; `Unknown` for an unauthenticated request. */
function identityType(resource: string | undefined): string {
  if (resource === undefined) return 'Unknown';
  if (resource === 'root') return 'Root';
  return resource.startsWith('role/') ? 'AssumedRole' : 'IAMUser';
}

/**
 * CloudTrail's principalId: the account id for the root; for a user or role, its unique id as
 * GetCallerIdentity gives it (`AIDA...`; a role's `AROA...` without a session, as Coffer's roles
 * have none). Left out when the principal is gone, or was made after the request: one of the same
 * name made since is another principal, whose id was not the caller's.
 */
function principalIdOf(record: AuditRecord, resource: string, accountId: string, principals: KnownPrincipals): string | undefined {
  if (resource === 'root') return accountId;
  const known = principals.get(record.principalArn!);
  return known !== undefined && known.createdAt <= record.time ? known.id : undefined;
}

/** The caller, as CloudTrail's userIdentity shows it; `{type: Unknown}` for a request that never authenticated. */
export function userIdentity(realm: Realm, record: AuditRecord, principals: KnownPrincipals): Record<string, unknown> {
  if (record.principalArn === undefined) return { type: 'Unknown' };
  const arnParts = record.principalArn.split(':');
  const resource = arnParts.slice(5).join(':');
  const accountId = arnParts[4] ?? realm.accountId;
  const principalId = principalIdOf(record, resource, accountId, principals);
  return {
    type: identityType(resource),
    ...(principalId !== undefined ? { principalId } : {}),
    arn: record.principalArn,
    accountId,
    ...(record.accessKeyId !== undefined ? { accessKeyId: record.accessKeyId } : {}),
    ...(resource.startsWith('user/') ? { userName: resource.split('/').pop() } : {}),
  };
}
