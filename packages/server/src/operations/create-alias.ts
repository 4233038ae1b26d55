import { AlreadyExistsException } from '../errors.js';
import { aliasNameMember, checkAliasName } from '../keys/alias-name.js';
import { aliasArn } from '../keys/arn.js';
import { assertNotAlias, resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion, stillNotPendingDeletion } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import { assertAliasQuota, inAliasTurn } from './alias-turn.js';
import { authorizeAliasChange } from './authorize-alias.js';
import type { Operation } from './operation.js';

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
  const created = await inAliasTurn(service, async () => {
    // Again in turn: the turn may come after a ScheduleKeyDeletion that committed while this request waited for it.
    assertNotPendingDeletion(service.realm, await resolveKey(service, key.keyId, 'key'));
    await assertAliasQuota(service, key.keyId);
    return request.audit.commit((event) => service.store.createAlias(alias, event, stillNotPendingDeletion(key.keyId)));
  });
  if (!created) throw new AlreadyExistsException(`An alias with the name ${aliasArn(service.realm, input.AliasName)} already exists`);
  return {};
};
