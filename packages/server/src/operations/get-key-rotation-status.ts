import { keyArn } from '../keys/arn.js';
import { epochSeconds } from '../keys/key-metadata.js';
import { resolveKey } from '../keys/resolve.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember() };

/** On-demand rotations complete within the request, so OnDemandRotationStartDate never shows. */
export const getKeyRotationStatus: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:GetKeyRotationStatus', key });
  return {
    KeyRotationEnabled: key.rotation !== undefined,
    KeyId: keyArn(service.realm, key.keyId),
    ...(key.rotation
      ? { RotationPeriodInDays: key.rotation.periodInDays, NextRotationDate: epochSeconds(key.rotation.nextRotationDate) }
      : {}),
  };
};
