import { LimitExceededException, NotFoundException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { accountRootArn } from '../principals/principal-id.js';
import { parseShape } from '../validate/shape.js';
import { keyOwnerArn } from './access-key-owner.js';
import { oneOfNames, principalNameMember } from './members.js';
import { ownerFields } from './principals.js';

/** IAM's quota: two access keys per principal, active or inactive. */
export const MAX_ACCESS_KEYS = 2;

const shape = { UserName: principalNameMember(), RoleName: principalNameMember() };

/**
 * `CofferAdmin.CreateAccessKey` {UserName? | RoleName?} -> {AccessKey: {UserName|RoleName,
 * AccessKeyId, Status, SecretAccessKey, CreateDate}}. The only answer that ever holds the secret:
 * the store keeps it wrapped by the root key, and the audit record keeps the request, not this.
 */
export const createAccessKey: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  oneOfNames(input, true);
  const owner = await keyOwnerArn(service, request, input, 'coffer:CreateAccessKey');
  if ((await service.store.listAccessKeys(owner)).length >= MAX_ACCESS_KEYS) {
    throw new LimitExceededException(`Cannot exceed quota for AccessKeysPerUser: ${MAX_ACCESS_KEYS}`);
  }
  const now = service.now();
  const key = await request.audit.commit((event) => service.accessKeys.create(owner, now, event));
  // The owner may have been deleted since it was checked: a key of no principal must not stay.
  if (owner !== accountRootArn(service.realm) && !(await service.store.getPrincipal(owner))) {
    await service.store.deleteAccessKey(key.accessKeyId);
    service.accessKeys.forget(key.accessKeyId);
    throw new NotFoundException(`The principal ${owner} was deleted while its access key was created.`);
  }
  return {
    AccessKey: {
      ...ownerFields(owner),
      AccessKeyId: key.accessKeyId,
      Status: 'Active',
      SecretAccessKey: key.secret.revealSecret(),
      CreateDate: now / 1000,
    },
  };
};
