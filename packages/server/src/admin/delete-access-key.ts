import { NotFoundException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { parseShape } from '../validate/shape.js';
import { keepRootReachable, ownedAccessKey } from './access-key-owner.js';
import { accessKeyIdMember, oneOfNames, principalNameMember } from './members.js';

const shape = { AccessKeyId: accessKeyIdMember(), UserName: principalNameMember(), RoleName: principalNameMember() };

/** `CofferAdmin.DeleteAccessKey` {AccessKeyId, UserName? | RoleName?} -> {}; refused from the next request on. */
export const deleteAccessKey: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  oneOfNames(input, true);
  const record = await ownedAccessKey(service, request, input, 'coffer:DeleteAccessKey');
  await keepRootReachable(service, record);
  const deleted = await request.audit.commit((event) => service.store.deleteAccessKey(record.accessKeyId, event));
  service.accessKeys.forget(record.accessKeyId);
  if (!deleted) throw new NotFoundException(`The Access Key with id ${input.AccessKeyId} cannot be found.`);
  return {};
};
