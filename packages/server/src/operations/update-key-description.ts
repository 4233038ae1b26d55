import { MAX_DESCRIPTION_LENGTH } from '../keys/key-record.js';
import { changeKey } from '../keys/change-key.js';
import { resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape, required, string } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), Description: required(string({ min: 0, max: MAX_DESCRIPTION_LENGTH })) };

export const updateKeyDescription: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:UpdateKeyDescription', key });
  await changeKey(service, key, (current) => {
    assertNotPendingDeletion(service.realm, current);
    return { description: input.Description };
  }, request.audit);
  return {};
};
