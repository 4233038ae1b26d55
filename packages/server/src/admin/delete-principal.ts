import { NotFoundException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { principalArn } from '../principals/principal-id.js';
import type { PrincipalKind } from '../principals/principal-record.js';
import { parseShape, required } from '../validate/shape.js';
import { principalNameMember } from './members.js';
import { WIRE } from './principals.js';

/**
 * DeleteUser and DeleteRole: the principal goes with its access keys and identity policies in one
 * transaction (IAM would refuse while they exist; here deleting is the administrator's whole
 * intent). Its keys stop working on this node at once.
 */
export function deletePrincipal(kind: PrincipalKind): Operation {
  const wire = WIRE[kind];
  const shape = { [wire.name]: required(principalNameMember()) };
  return async (service, body, request) => {
    const name = parseShape(body, shape)[wire.name]!;
    const arn = principalArn(service.realm, kind, name);
    await service.access.authorizeAccount(request, `coffer:Delete${kind === 'user' ? 'User' : 'Role'}`, arn);
    const keys = await service.store.listAccessKeys(arn);
    const deleted = await request.audit.commit((event) => service.store.deletePrincipal(arn, event));
    if (!deleted) throw new NotFoundException(`The ${wire.title} with name ${name} cannot be found.`);
    for (const key of keys) service.accessKeys.forget(key.accessKeyId);
    service.access.forgetPrincipal(arn);
    return {};
  };
}
