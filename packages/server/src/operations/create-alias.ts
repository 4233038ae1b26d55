import { AlreadyExistsException, LimitExceededException } from '../errors.js';
import { aliasNameMember, checkAliasName } from '../keys/alias-name.js';
import { aliasArn } from '../keys/arn.js';
import { assertNotAlias, resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import { authorizeAliasChange } from './authorize-alias.js';
import type { Operation } from './operation.js';

/** AWS's quota of aliases per key. */
export const MAX_ALIASES_PER_KEY = 50;

const shape = { AliasName: aliasNameMember(), TargetKeyId: keyIdMember() };

export const createAlias: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  checkAliasName(input.AliasName);
  assertNotAlias(input.TargetKeyId);
  const key = await resolveKey(service, input.TargetKeyId, 'key');
  await authorizeAliasChange(service, request, 'kms:CreateAlias', input.AliasName, [key]);
  assertNotPendingDeletion(service.realm, key);
  const existing = await service.store.listAliases({ keyId: key.keyId, limit: MAX_ALIASES_PER_KEY });
  if (existing.next !== undefined || existing.items.length >= MAX_ALIASES_PER_KEY) {
    throw new LimitExceededException(`A key may have at most ${MAX_ALIASES_PER_KEY} aliases.`);
  }
  const now = service.now();
  const alias = { aliasName: input.AliasName, targetKeyId: key.keyId, createdAt: now, updatedAt: now };
  const created = await request.audit.commit((event) => service.store.createAlias(alias, event));
  if (!created) throw new AlreadyExistsException(`An alias with the name ${aliasArn(service.realm, input.AliasName)} already exists`);
  return {};
};

