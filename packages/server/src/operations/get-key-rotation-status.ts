import { keyArn } from '../keys/arn.js';
import { epochSeconds } from '../keys/key-metadata.js';
import { resolveKey } from '../keys/resolve.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember() };

/**
 * On-demand rotations complete within the request, so OnDemandRotationStartDate never shows. A key
 * pending deletion reports rotation off, as AWS does; its setting is kept, and shows again if the
 * deletion is cancelled.
 */
export const getKeyRotationStatus: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:GetKeyRotationStatus', key });
  const rotation = key.state === 'PendingDeletion' ? undefined : key.rotation;
  return {
    KeyRotationEnabled: rotation !== undefined,
    KeyId: keyArn(service.realm, key.keyId),
    ...(rotation ? { RotationPeriodInDays: rotation.periodInDays, NextRotationDate: epochSeconds(rotation.nextRotationDate) } : {}),
  };
};
