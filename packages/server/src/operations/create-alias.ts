import type { Service } from '../context.js';
import { AlreadyExistsException, LimitExceededException } from '../errors.js';
import { aliasNameMember, checkAliasName } from '../keys/alias-name.js';
import { aliasArn } from '../keys/arn.js';
import { assertNotAlias, resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion, retryingWhileKeyChanges, stillNotPendingDeletion } from '../keys/states.js';
import type { KeyCondition } from '../store/store.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import { authorizeAliasChange } from './authorize-alias.js';
import type { Operation } from './operation.js';

/** AWS's quota of aliases per key. */
export const MAX_ALIASES_PER_KEY = 50;

/**
 * Runs `change`, which points an alias at a key, once the key may take one more alias; refused in
 * AWS's words (`Aliases per key quota for this account in this region is 50, current usage is 50.`).
 * Alias changes take turns (Store.serialize, on every node): at once, each would count the key's
 * aliases below the quota and together pass it. The key's state is checked again in turn, as the
 * turn may come after a ScheduleKeyDeletion that committed while the request waited for it, and
 * once more by the store as `change` commits (the condition it is given): ScheduleKeyDeletion takes
 * no turn, and may commit between the check and the write.
 */
export function withAliasQuota<T>(service: Service, keyId: string, change: (keyCondition: KeyCondition) => Promise<T>): Promise<T> {
  return service.store.serialize('aliases', () => retryingWhileKeyChanges(async () => {
    assertNotPendingDeletion(service.realm, await resolveKey(service, keyId, 'key'));
    await assertAliasQuota(service, keyId);
    return change(stillNotPendingDeletion(keyId));
  }));
}

async function assertAliasQuota(service: Service, keyId: string): Promise<void> {
  // One page past the quota says how far over it a key is, should one ever be.
  const existing = await service.store.listAliases({ keyId, limit: 2 * MAX_ALIASES_PER_KEY });
  const usage = existing.items.length;
  if (existing.next !== undefined || usage >= MAX_ALIASES_PER_KEY) {
    throw new LimitExceededException(`Aliases per key quota for this account in this region is ${MAX_ALIASES_PER_KEY}, current usage is ${usage}.`);
  }
}

const shape = { AliasName: aliasNameMember(), TargetKeyId: keyIdMember() };

export const createAlias: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  checkAliasName(input.AliasName);
  assertNotAlias(input.TargetKeyId);
  const key = await resolveKey(service, input.TargetKeyId, 'key');
  await authorizeAliasChange(service, request, 'kms:CreateAlias', input.AliasName, [key]);
  assertNotPendingDeletion(service.realm, key);
  const now = service.now();
  const alias = { aliasName: input.AliasName, targetKeyId: key.keyId, createdAt: now, updatedAt: now };
  const created = await withAliasQuota(service, key.keyId,
    (keyCondition) => request.audit.commit((event) => service.store.createAlias(alias, event, keyCondition)));
  if (!created) throw new AlreadyExistsException(`An alias with the name ${aliasArn(service.realm, input.AliasName)} already exists`);
  return {};
};

