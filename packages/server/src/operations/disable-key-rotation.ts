import { changeKey } from '../keys/change-key.js';
import { resolveKey } from '../keys/resolve.js';
import { assertEnabled } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import { assertRotatable } from './rotatable.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember() };

export const disableKeyRotation: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:DisableKeyRotation', key });
  await changeKey(service, key, (current) => {
    // AWS's key-state table: a key pending import (imported material) is refused for its origin, not its state.
    if (current.state === 'PendingImport') assertRotatable(service, current, 'DisableKeyRotation');
    assertEnabled(service.realm, current);
    assertRotatable(service, current, 'DisableKeyRotation');
    return { rotation: undefined };
  }, request.audit);
  return {};
};
