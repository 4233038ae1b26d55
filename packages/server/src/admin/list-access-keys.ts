import type { Operation } from '../operations/operation.js';
import { parseShape } from '../validate/shape.js';
import { keyOwnerArn } from './access-key-owner.js';
import { oneOfNames, principalNameMember } from './members.js';
import { ownerFields } from './principals.js';

const shape = { UserName: principalNameMember(), RoleName: principalNameMember() };

/**
 * `CofferAdmin.ListAccessKeys` {UserName? | RoleName?} -> {AccessKeyMetadata: [{UserName|RoleName,
 * AccessKeyId, Status, CreateDate}], IsTruncated}. Never a secret. Without a name, the caller's keys.
 */
export const listAccessKeys: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  oneOfNames(input, true);
  const owner = await keyOwnerArn(service, request, input, 'coffer:ListAccessKeys');
  const keys = await service.store.listAccessKeys(owner);
  return {
    AccessKeyMetadata: keys.map((k) => ({
      ...ownerFields(owner), AccessKeyId: k.accessKeyId, Status: k.status, CreateDate: k.createdAt / 1000,
    })),
    IsTruncated: false,
  };
};
