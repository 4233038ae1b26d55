import { changeKey } from '../keys/change-key.js';
import { resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion } from '../keys/states.js';
import { checkRequestTags, mergeTags, requestTagContext } from '../keys/tags.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape, required, tags } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), Tags: required(tags()) };

export const tagResource: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  checkRequestTags(input.Tags);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:TagResource', key, context: requestTagContext(input.Tags) });
  await changeKey(service, key, (current) => {
    assertNotPendingDeletion(service.realm, current);
    return { tags: mergeTags(current.tags, input.Tags) };
  }, request.audit);
  return {};
};
