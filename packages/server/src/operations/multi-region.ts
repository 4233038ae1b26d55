import { keyArn } from '../keys/arn.js';
import { resolveKey } from '../keys/resolve.js';
import { UnsupportedOperationException } from '../errors.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape, required, string } from '../validate/shape.js';
import type { Operation } from './operation.js';

/**
 * ReplicateKey and UpdatePrimaryRegion. One Coffer server is one Region and makes no multi-Region
 * keys (CreateKey refuses MultiRegion), so every key is single-Region and AWS's answer for such a
 * key is the answer: UnsupportedOperationException naming the key, once the caller may act on it.
 */

const region = () => required(string({ min: 1, max: 32, pattern: '^([a-z]+-){2,3}\\d+$' }));

function multiRegionOnly(operation: 'ReplicateKey' | 'UpdatePrimaryRegion', regionMember: 'ReplicaRegion' | 'PrimaryRegion'): Operation {
  const shape = { KeyId: keyIdMember(), [regionMember]: region() };
  return async (service, body, request) => {
    const input = parseShape(body, shape);
    const key = await resolveKey(service, input.KeyId, 'key');
    await service.access.authorizeKey(request, { action: `kms:${operation}`, key });
    throw new UnsupportedOperationException(`${keyArn(service.realm, key.keyId)} is not a multi-region primary key.`);
  };
}

export const replicateKey = multiRegionOnly('ReplicateKey', 'ReplicaRegion');
export const updatePrimaryRegion = multiRegionOnly('UpdatePrimaryRegion', 'PrimaryRegion');
