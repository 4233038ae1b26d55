import type { RequestContext, Service } from '../context.js';
import { AccessDeniedException, NotFoundException, ValidationException } from '../errors.js';
import { accountRootArn } from '../principals/principal-id.js';
import type { AccessKeyRecord } from '../store/store.js';
import { namedPrincipal, requirePrincipal } from './principals.js';

type Names = { UserName?: string | undefined; RoleName?: string | undefined };

/**
 * The principal whose access keys CreateAccessKey and ListAccessKeys are about: the one named by
 * UserName or RoleName, or else the caller, as IAM does when no name is given. Authorized as
 * `coffer:<action>` on that principal's ARN before its existence is checked.
 */
export async function keyOwnerArn(service: Service, request: RequestContext, input: Names, action: string): Promise<string> {
  const named = namedPrincipal(service, input);
  const arn = named?.arn ?? request.principal.arn;
  await service.access.authorizeAccount(request, action, arn);
  if (named) await requirePrincipal(service, named);
  return arn;
}

/**
 * The access key UpdateAccessKey and DeleteAccessKey name, authorized as `coffer:<action>` on its
 * owner's ARN. The key may be named by id alone, whoever owns it; a UserName or RoleName given
 * must be its owner's. A key that is not there (or not that owner's) is IAM's NoSuchEntity message.
 *
 * The account root's keys are the root's alone, whatever policies say: in IAM no user's policy
 * reaches the root's access keys, and here a user allowed `coffer:DeleteAccessKey` on `*` could
 * otherwise lock the administrator out. To anyone else they are keys that do not exist.
 */
export async function ownedAccessKey(
  service: Service, request: RequestContext, input: Names & { AccessKeyId: string }, action: string,
): Promise<AccessKeyRecord> {
  const named = namedPrincipal(service, input);
  const record = await service.store.getAccessKey(input.AccessKeyId);
  const root = accountRootArn(service.realm);
  const reachable = record !== undefined && (record.principalArn !== root || request.principal.arn === root);
  const found = reachable && (named === undefined || record.principalArn === named.arn);
  try {
    await service.access.authorizeAccount(request, action, found ? record.principalArn : named?.arn ?? '*');
  } catch (error) {
    // Named by id alone, a key's owner is not the caller's to learn from a refusal: the same
    // answer as for an id that does not exist. That is the refusal on `*` for a caller not
    // allowed there, and NoSuchEntity for one allowed on `*` but denied on this owner.
    if (named === undefined && found && record.principalArn !== request.principal.arn && error instanceof AccessDeniedException) {
      await service.access.authorizeAccount(request, action, '*');
      throw new NotFoundException(`The Access Key with id ${input.AccessKeyId} cannot be found.`);
    }
    throw error;
  }
  if (!found) throw new NotFoundException(`The Access Key with id ${input.AccessKeyId} cannot be found.`);
  return record;
}

/**
 * Refuses to deactivate or delete the account root's last active access key: without one nobody
 * could administer the server again (there is no console sign-in to fall back on).
 */
export async function keepRootReachable(service: Service, record: AccessKeyRecord): Promise<void> {
  if (record.principalArn !== accountRootArn(service.realm) || record.status !== 'Active') return;
  const others = (await service.store.listAccessKeys(record.principalArn))
    .filter((k) => k.status === 'Active' && k.accessKeyId !== record.accessKeyId);
  if (others.length === 0) {
    throw new ValidationException(`Access key ${record.accessKeyId} is the account root's last active access key; create another one before deactivating or deleting it.`);
  }
}
