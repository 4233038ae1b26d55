import { NotFoundException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { parseShape } from '../validate/shape.js';
import { keepRootReachable, ownedAccessKey } from './access-key-owner.js';
import { accessKeyIdMember, oneOfNames, principalNameMember, statusMember } from './members.js';

const shape = {
  AccessKeyId: accessKeyIdMember(), Status: statusMember(),
  UserName: principalNameMember(), RoleName: principalNameMember(),
};

/**
 * `CofferAdmin.UpdateAccessKey` {AccessKeyId, Status: Active|Inactive, UserName? | RoleName?} -> {}.
 * An inactive key is refused (UnrecognizedClientException) from the next request on this node.
 */
export const updateAccessKey: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  oneOfNames(input, true);
  const record = await ownedAccessKey(service, request, input, 'coffer:UpdateAccessKey');
  if (input.Status === 'Inactive') await keepRootReachable(service, record);
  const updated = await request.audit.commit((event) => service.store.updateAccessKeyStatus(record.accessKeyId, input.Status, event));
  service.accessKeys.forget(record.accessKeyId);
  if (!updated) throw new NotFoundException(`The Access Key with id ${input.AccessKeyId} cannot be found.`);
  return {};
};
