import { NotFoundException, ValidationException } from '../errors.js';
import { aliasNameMember, checkAliasName } from '../keys/alias-name.js';
import { aliasArn } from '../keys/arn.js';
import type { KeyRecord } from '../keys/key-record.js';
import { assertNotAlias, resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion, retryingWhileKeyChanges, stillNotPendingDeletion } from '../keys/states.js';
import type { KeyCondition } from '../store/store.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import { authorizeAliasChange } from './authorize-alias.js';
import { withAliasQuota } from './create-alias.js';
import type { Operation } from './operation.js';

const shape = { AliasName: aliasNameMember(), TargetKeyId: keyIdMember() };

/** The kinds of key an alias may move between, as AWS groups them (HMAC keys are the MAC-usage ones). */
function keyKind(key: KeyRecord): 'symmetric' | 'HMAC' | 'asymmetric' {
  if (key.keySpec === 'SYMMETRIC_DEFAULT') return 'symmetric';
  return key.keyUsage === 'GENERATE_VERIFY_MAC' ? 'HMAC' : 'asymmetric';
}

export const updateAlias: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  checkAliasName(input.AliasName);
  assertNotAlias(input.TargetKeyId);
  const key = await resolveKey(service, input.TargetKeyId, 'key');
  const alias = await service.store.getAlias(input.AliasName);
  const notFound = () => new NotFoundException(`Alias ${aliasArn(service.realm, input.AliasName)} is not found.`);
  if (!alias) throw notFound();
  // AWS asks for UpdateAlias on the alias, on the key it leaves and on the key it moves to.
  const previous = await service.store.getKey(alias.targetKeyId);
  await authorizeAliasChange(service, request, 'kms:UpdateAlias', input.AliasName, previous ? [previous, key] : [key]);
  // After the permission check, as for every key: a caller who may not use the key learns nothing of its state.
  assertNotPendingDeletion(service.realm, key);
  if (previous && (keyKind(previous) !== keyKind(key) || previous.keyUsage !== key.keyUsage)) {
    // As AWS: code that uses the alias must not find a key of another kind behind it.
    throw new ValidationException(
      `${aliasArn(service.realm, input.AliasName)} points to a key that is ${keyKind(previous)} with KeyUsage ${previous.keyUsage}; `
      + `the new key must be of the same kind and usage, not ${keyKind(key)} with ${key.keyUsage}. Delete the alias and create it again to move it.`,
    );
  }
  // Moving an alias associates it with the new key, which AWS counts against its quota of aliases
  // (LimitExceededException is among UpdateAlias's errors); pointing it at the key it names already adds none.
  const next = { ...alias, targetKeyId: key.keyId, updatedAt: service.now() };
  // The store checks the key's state again as the change commits: a ScheduleKeyDeletion may
  // commit between the check above and the write.
  const update = (keyCondition: KeyCondition) => request.audit.commit((event) => service.store.updateAlias(next, event, keyCondition));
  const updated = alias.targetKeyId !== key.keyId
    ? await withAliasQuota(service, key.keyId, update)
    : await retryingWhileKeyChanges(async () => {
      assertNotPendingDeletion(service.realm, await resolveKey(service, key.keyId, 'key'));
      return update(stillNotPendingDeletion(key.keyId));
    });
  if (!updated) throw notFound();
  return {};
};
