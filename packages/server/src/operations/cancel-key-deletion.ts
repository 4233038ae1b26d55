import { KMSInvalidStateException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import { changeKey } from '../keys/change-key.js';
import { resolveKey } from '../keys/resolve.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';
import { importExpired } from '../keys/import.js';

const shape = { KeyId: keyIdMember() };

/** PendingDeletion -> Disabled, as AWS does: the key is not silently put back into use. */
export const cancelKeyDeletion: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:CancelKeyDeletion', key });
  const arn = keyArn(service.realm, key.keyId);
  await changeKey(service, key, (current) => {
    if (current.state !== 'PendingDeletion') throw new KMSInvalidStateException(`${arn} is not pending deletion.`);
    // A key of imported material without material to use goes back to waiting for it.
    const waiting = current.origin === 'EXTERNAL' && (current.importedMaterial === undefined || importExpired(current, service.now()));
    return { state: waiting ? 'PendingImport' : 'Disabled', deletionDate: undefined, pendingWindowInDays: undefined };
  }, request.audit);
  return { KeyId: arn };
};
