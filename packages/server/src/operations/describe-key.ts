import { keyMetadata } from '../keys/key-metadata.js';
import { resolveKey } from '../keys/resolve.js';
import { grantTokensMember, keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), GrantTokens: grantTokensMember() };

export const describeKey: Operation = async (service, body) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key-or-alias');
  const current = await service.store.getKeyVersion(key.keyId, key.currentVersion);
  return { KeyMetadata: keyMetadata(service.realm, key, current?.materialId) };
};
