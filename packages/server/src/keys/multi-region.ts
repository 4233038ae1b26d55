import { randomBytes, randomUUID } from 'node:crypto';
import { keyArn, type Realm } from './arn.js';

/**
 * Multi-Region keys. AWS marks one by its id alone: `mrk-` and 32 hex digits, chosen at CreateKey
 * and never changed, so the id is the whole record of it here too. One Coffer server is one
 * Region, so every multi-Region key it holds is a primary key without replicas: it works as any
 * key of its spec does, and clients that ask for one (Terraform's `multi_region`, the AWS CLI's
 * `--multi-region`, the Encryption SDK's MRK-aware keyrings) get the id and metadata AWS gives.
 */

const MULTI_REGION_PREFIX = 'mrk-';

export const isMultiRegionKeyId = (keyId: string): boolean => keyId.startsWith(MULTI_REGION_PREFIX);

/** A fresh key id: a UUID, or for a multi-Region key `mrk-` and 128 random bits in hex, as AWS's. */
export function newKeyId(multiRegion: boolean): string {
  return multiRegion ? `${MULTI_REGION_PREFIX}${randomBytes(16).toString('hex')}` : randomUUID();
}

/** KeyMetadata.MultiRegionConfiguration of a multi-Region key held here: a primary, no replicas. */
export function multiRegionConfiguration(realm: Realm, keyId: string): Record<string, unknown> {
  return {
    MultiRegionKeyType: 'PRIMARY',
    PrimaryKey: { Arn: keyArn(realm, keyId), Region: realm.region },
    ReplicaKeys: [],
  };
}
