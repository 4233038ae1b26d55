import { LimitExceededException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import { resolveKey } from '../keys/resolve.js';
import { MAX_ON_DEMAND_ROTATIONS, rotateKey } from '../keys/rotation.js';
import { assertEnabled } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import { assertRotatable } from './rotatable.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember() };

/** Rotates at once (AWS finishes within minutes; Coffer before it answers). */
export const rotateKeyOnDemand: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:RotateKeyOnDemand', key });
  const arn = keyArn(service.realm, key.keyId);
  await rotateKey(service, key, 'ON_DEMAND', (current) => {
    assertEnabled(service.realm, current);
    assertRotatable(service, current, 'RotateKeyOnDemand');
    if (current.onDemandRotations >= MAX_ON_DEMAND_ROTATIONS) {
      throw new LimitExceededException(`The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${arn}`);
    }
  }, request.audit);
  return { KeyId: arn };
};
