import { NotFoundException } from '../errors.js';
import { aliasNameMember, checkAliasName } from '../keys/alias-name.js';
import { aliasArn } from '../keys/arn.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { AliasName: aliasNameMember() };

export const deleteAlias: Operation = async (service, body) => {
  const input = parseShape(body, shape);
  checkAliasName(input.AliasName);
  if (!(await service.store.deleteAlias(input.AliasName))) {
    throw new NotFoundException(`Alias ${aliasArn(service.realm, input.AliasName)} is not found.`);
  }
  return {};
};
