import { keyArn } from '../keys/arn.js';
import { changeKey } from '../keys/change-key.js';
import { epochSeconds } from '../keys/key-metadata.js';
import { resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion } from '../keys/states.js';
import { ValidationException } from '../errors.js';
import { keyIdMember } from '../validate/members.js';
import { integer, parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const DAY_MS = 86_400_000;
/**
 * AWS's model admits 1..365 days (PendingWindowInDaysType), and KMS itself then allows only 7..30:
 * a value outside the model's range fails as a member does, one inside it but outside 7..30 with
 * KMS's own message.
 */
const shape = { KeyId: keyIdMember(), PendingWindowInDays: integer({ min: 1, max: 365 }) };
const MIN_WINDOW_DAYS = 7;
const MAX_WINDOW_DAYS = 30;

function checkWindow(days: number): void {
  if (days < MIN_WINDOW_DAYS || days > MAX_WINDOW_DAYS) {
    throw new ValidationException(`PendingWindowInDays must be between ${MIN_WINDOW_DAYS} and ${MAX_WINDOW_DAYS}`);
  }
}

/** Any state but PendingDeletion -> PendingDeletion; the scheduler deletes the key when the window ends. */
export const scheduleKeyDeletion: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const window = input.PendingWindowInDays ?? MAX_WINDOW_DAYS;
  checkWindow(window);
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
