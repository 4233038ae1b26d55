import { keyArn } from '../keys/arn.js';
import { changeKey } from '../keys/change-key.js';
import { epochSeconds } from '../keys/key-metadata.js';
import { resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { integer, parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const DAY_MS = 86_400_000;
const shape = { KeyId: keyIdMember(), PendingWindowInDays: integer({ min: 7, max: 30 }) };

/** Any state but PendingDeletion -> PendingDeletion; the scheduler deletes the key when the window ends. */
export const scheduleKeyDeletion: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const window = input.PendingWindowInDays ?? 30;
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, {
    action: 'kms:ScheduleKeyDeletion', key, context: { 'kms:schedulekeydeletionpendingwindowindays': window },
  });
  const deletionDate = service.now() + window * DAY_MS;
  await changeKey(service, key, (current) => {
    assertNotPendingDeletion(service.realm, current);
    return { state: 'PendingDeletion', deletionDate, pendingWindowInDays: window };
  }, request.audit);
  return {
    KeyId: keyArn(service.realm, key.keyId),
    DeletionDate: epochSeconds(deletionDate),
    KeyState: 'PendingDeletion',
    PendingWindowInDays: window,
  };
};
