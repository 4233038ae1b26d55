import { changeKey } from '../keys/change-key.js';
import { resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape, required, stringList } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), TagKeys: required(stringList({ itemMin: 1, itemMax: 128 })) };

export const untagResource: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:UntagResource', key, context: { 'aws:tagkeys': input.TagKeys } });
  const removed = new Set(input.TagKeys);
  await changeKey(service, key, (current) => {
    assertNotPendingDeletion(service.realm, current);
    return { tags: current.tags.filter((t) => !removed.has(t.TagKey)) };
  }, request.audit);
  return {};
};
