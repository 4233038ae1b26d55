import { NotFoundException } from '../errors.js';
import { aliasNameMember, checkAliasName } from '../keys/alias-name.js';
import { aliasArn } from '../keys/arn.js';
import { assertNotAlias, resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { AliasName: aliasNameMember(), TargetKeyId: keyIdMember() };

export const updateAlias: Operation = async (service, body) => {
  const input = parseShape(body, shape);
  checkAliasName(input.AliasName);
  assertNotAlias(input.TargetKeyId);
  const key = await resolveKey(service, input.TargetKeyId, 'key');
  assertNotPendingDeletion(service.realm, key);
  const alias = await service.store.getAlias(input.AliasName);
  const notFound = () => new NotFoundException(`Alias ${aliasArn(service.realm, input.AliasName)} is not found.`);
  if (!alias) throw notFound();
  const updated = await service.store.updateAlias({ ...alias, targetKeyId: key.keyId, updatedAt: service.now() });
  if (!updated) throw notFound();
  return {};
};
