import { eventId } from '../audit/cloudtrail.js';
import { keyArn } from '../keys/arn.js';
import { epochSeconds } from '../keys/key-metadata.js';
import { resolveKey } from '../keys/resolve.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

/**
 * The cryptographic operations whose success counts as a use of the key: AWS's
 * KeyLastUsageTrackingOperation values. ReEncrypt counts for both its source and destination key,
 * as in AWS: its audit record names both.
 */
export const KEY_USAGE_OPERATIONS = Object.freeze([
  'Decapsulate', 'Decrypt', 'DeriveSharedSecret', 'Encapsulate', 'Encrypt', 'GenerateDataKey',
  'GenerateDataKeyPair', 'GenerateDataKeyPairWithoutPlaintext', 'GenerateDataKeyWithoutPlaintext',
  'GenerateMac', 'ReEncrypt', 'Sign', 'Verify', 'VerifyMac',
] as const);

const shape = { KeyId: keyIdMember() };

/**
 * GetKeyLastUsage (AWS KMS API Reference): the key's last successful cryptographic use, read from
 * the audit trail. KeyId takes a key id or key ARN only, and the answer's KeyId is the key id (the
 * reference calls it "the globally unique identifier", as DescribeKey's KeyMetadata.KeyId).
 * KeyLastUsage is an empty object for a key that was never used.
 */
export const getKeyLastUsage: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:GetKeyLastUsage', key });
  const [use, first] = await Promise.all([
    service.store.lastKeyUse(keyArn(service.realm, key.keyId), KEY_USAGE_OPERATIONS),
    // A first record that cannot be read is the verifier's business, not this answer's.
    service.store.readAudit({ limit: 1 }).catch(() => []),
  ]);
  // Tracking starts with the trail, or with the key when the key is younger.
  const trackingStart = Math.max(key.createdAt, first[0]?.time ?? key.createdAt);
  return {
    KeyId: key.keyId,
    KeyLastUsage: use === undefined ? {} : {
      Operation: use.operation,
      Timestamp: epochSeconds(use.time),
      CloudTrailEventId: eventId(use),
      KmsRequestId: use.requestId,
    },
    TrackingStartDate: epochSeconds(trackingStart),
    KeyCreationDate: epochSeconds(key.createdAt),
  };
};
