import { changeKey } from '../keys/change-key.js';
import { resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion, assertNotPendingImport } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember() };

/** Enabled -> Disabled and Disabled -> Disabled; a key pending deletion stays so. */
export const disableKey: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:DisableKey', key });
  await changeKey(service, key, (current) => {
    assertNotPendingDeletion(service.realm, current);
    assertNotPendingImport(service.realm, current);
    return { state: 'Disabled' };
  }, request.audit);
  return {};
};
