import { NotFoundException } from '../errors.js';
import { aliasNameMember, checkAliasName } from '../keys/alias-name.js';
import { aliasArn } from '../keys/arn.js';
import { parseShape } from '../validate/shape.js';
import { inAliasTurn } from './alias-turn.js';
import { authorizeAliasChange } from './authorize-alias.js';
import type { Operation } from './operation.js';

const shape = { AliasName: aliasNameMember() };

export const deleteAlias: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  checkAliasName(input.AliasName);
  const notFound = () => new NotFoundException(`Alias ${aliasArn(service.realm, input.AliasName)} is not found.`);
  // From the read to the delete in turn: the permission is checked on the key the alias names as it is deleted.
  return inAliasTurn(service, async () => {
    const alias = await service.store.getAlias(input.AliasName);
    if (!alias) throw notFound();
    const key = await service.store.getKey(alias.targetKeyId);
    await authorizeAliasChange(service, request, 'kms:DeleteAlias', input.AliasName, key ? [key] : []);
    if (!(await request.audit.commit((event) => service.store.deleteAlias(input.AliasName, event)))) throw notFound();
    return {};
  });
};
