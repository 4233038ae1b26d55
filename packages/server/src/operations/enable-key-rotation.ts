import { changeKey } from '../keys/change-key.js';
import { resolveKey } from '../keys/resolve.js';
import { DAY_MS } from '../keys/rotation.js';
import { assertEnabled } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { integer, parseShape } from '../validate/shape.js';
import { assertRotatable } from './rotatable.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), RotationPeriodInDays: integer({ min: 90, max: 2560 }) };

/** Turns on automatic rotation; the next rotation is one period from now. */
export const enableKeyRotation: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const periodInDays = input.RotationPeriodInDays ?? 365;
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, {
    action: 'kms:EnableKeyRotation', key,
    // With the default when the request leaves it out: AWS's condition keys for request parameters work then too.
    context: { 'kms:rotationperiodindays': periodInDays },
  });
  await changeKey(service, key, (current) => {
    // AWS's key-state table: a key pending import (imported material) is refused for its origin, not its state.
    if (current.state === 'PendingImport') assertRotatable(service, current, 'EnableKeyRotation');
    assertEnabled(service.realm, current);
    assertRotatable(service, current, 'EnableKeyRotation');
    return { rotation: { periodInDays, nextRotationDate: service.now() + periodInDays * DAY_MS } };
  }, request.audit);
  return {};
};
