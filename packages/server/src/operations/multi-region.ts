import { MAX_DESCRIPTION_LENGTH } from '../keys/key-record.js';
import { keyArn } from '../keys/arn.js';
import { isMultiRegionKeyId } from '../keys/multi-region.js';
import { resolveKey } from '../keys/resolve.js';
import { UnsupportedOperationException } from '../errors.js';
import { keyIdMember, keyPolicyMember } from '../validate/members.js';
import { boolean, parseShape, required, string, tags } from '../validate/shape.js';
import type { Operation } from './operation.js';

/**
 * ReplicateKey and UpdatePrimaryRegion. One Coffer server is one Region: its multi-Region keys are
 * primaries without replicas (keys/multi-region.ts). So a single-Region key gets AWS's answer for
 * one, UnsupportedOperationException naming the key, and a multi-Region key the same exception
 * saying why, each once the caller may act on the key: no replica is made and no primary moves.
 */

const region = () => required(string({ min: 1, max: 32, pattern: '^([a-z]+-){2,3}\\d+$' }));

/** ReplicateKey's members beyond the key and the Region, checked as CreateKey checks them though no replica is made. */
const replicaMembers = {
  Policy: keyPolicyMember(),
  Description: string({ min: 0, max: MAX_DESCRIPTION_LENGTH }),
  BypassPolicyLockoutSafetyCheck: boolean(),
  Tags: tags(),
};

function multiRegionOnly(operation: 'ReplicateKey' | 'UpdatePrimaryRegion', regionMember: 'ReplicaRegion' | 'PrimaryRegion'): Operation {
  const shape = { KeyId: keyIdMember(), [regionMember]: region(), ...(operation === 'ReplicateKey' ? replicaMembers : {}) };
  return async (service, body, request) => {
    const input = parseShape(body, shape);
    const key = await resolveKey(service, input.KeyId, 'key');
    await service.access.authorizeKey(request, { action: `kms:${operation}`, key });
    const arn = keyArn(service.realm, key.keyId);
    if (!isMultiRegionKeyId(key.keyId)) throw new UnsupportedOperationException(`${arn} is not a multi-region primary key.`);
    const asked = (input as Record<string, unknown>)[regionMember] as string;
    // A replica in the primary's own Region is no replica anywhere: say so, not that this server lacks others.
    if (operation === 'ReplicateKey' && asked === service.realm.region) {
      throw new UnsupportedOperationException(`${arn} cannot be replicated to ${asked}: a replica must be in a Region other than its primary key's, and this key is in ${asked}.`);
    }
    throw new UnsupportedOperationException(operation === 'ReplicateKey'
      ? `${arn} cannot be replicated to ${asked}: this server serves the one Region ${service.realm.region} and holds no replica keys.`
      : `${arn} has no replica in ${asked} to become its primary key: this server serves the one Region ${service.realm.region} and holds no replica keys.`);
  };
}

export const replicateKey = multiRegionOnly('ReplicateKey', 'ReplicaRegion');
export const updatePrimaryRegion = multiRegionOnly('UpdatePrimaryRegion', 'PrimaryRegion');
