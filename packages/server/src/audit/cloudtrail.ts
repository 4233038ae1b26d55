import type { Realm } from '../keys/arn.js';
import { userIdentity } from './cloudtrail-identity.js';
import { requestParameters } from './cloudtrail-parameters.js';
import { serviceEventFields } from './cloudtrail-service-event.js';
import type { KnownPrincipals } from './principal-ids.js';
import type { AuditRecord } from './record.js';
import { isSystemEvent } from './system-audit.js';

const ADMIN_PREFIX = 'CofferAdmin.';
const STS_PREFIX = 'sts:';
/** A seed's changes (seed.ts), each one of KMS's operations or of the admin API's. */
const SEED_PREFIX = 'CofferSeed.';
const NO_PRINCIPALS: KnownPrincipals = new Map();

/** The KMS operations that change something (CloudTrail's readOnly false); the rest only read or compute. */
const KMS_CHANGES: ReadonlySet<string> = new Set([
  'CancelKeyDeletion', 'ConnectCustomKeyStore', 'CreateAlias', 'CreateCustomKeyStore', 'CreateGrant', 'CreateKey',
  'DeleteAlias', 'DeleteCustomKeyStore', 'DeleteImportedKeyMaterial', 'DisableKey', 'DisableKeyRotation',
  'DisconnectCustomKeyStore', 'EnableKey', 'EnableKeyRotation', 'ImportKeyMaterial', 'PutKeyPolicy', 'ReplicateKey',
  'RetireGrant', 'RevokeGrant', 'RotateKeyOnDemand', 'ScheduleKeyDeletion', 'TagResource', 'UntagResource',
  'UpdateAlias', 'UpdateCustomKeyStore', 'UpdateKeyDescription', 'UpdatePrimaryRegion',
]);

/** CloudTrail's readOnly: whether the operation only reads (null when the request named none Coffer has). */
function readOnly(eventName: string | null, admin: boolean): boolean | null {
  if (eventName === null) return null;
  if (admin) return /^(?:List|Get|Query|Verify|Describe)/.test(eventName);
  return !KMS_CHANGES.has(eventName);
}

/**
 * The CloudTrail event id of a record: a UUID-shaped value taken from the record's hash, so it is
 * unique, stable across reads and exports, and needs no column of its own.
 */
export function eventId(record: Pick<AuditRecord, 'hash'>): string {
  const h = record.hash;
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

/**
 * CloudTrail's eventTime: ISO 8601 in whole seconds (`2025-05-20T20:46:16Z`), as every KMS log
 * entry shows it. The record keeps milliseconds, and the time filters read those.
 */
function eventTime(time: number): string {
  return new Date(time).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The fields that tell an API call (a request's caller) from the server's own action (a service event). */
export interface CallerFields {
  readonly userIdentity: Record<string, unknown>;
  readonly sourceIPAddress: string | null;
  readonly userAgent: string | null;
  readonly requestParameters: Record<string, unknown> | null;
  /** Absent for a service event: there was no request. */
  readonly requestID?: string;
  readonly readOnly: boolean | null;
  readonly eventType: 'AwsApiCall' | 'AwsServiceEvent';
  readonly serviceEventDetails?: Record<string, unknown>;
}

/**
 * One audit record in the shape of a CloudTrail event (AWS KMS's log entries, as in the KMS
 * developer guide's "Logging with CloudTrail" examples), plus Coffer's chain fields seq, prevHash
 * and hash so that an export can be verified record by record.
 */
export function cloudTrailEvent(realm: Realm, record: AuditRecord, principals: KnownPrincipals = NO_PRINCIPALS): Record<string, unknown> {
  const admin = record.operation?.startsWith(ADMIN_PREFIX) ?? false;
  // STS requests are recorded as `sts:<Action>`; CloudTrail names the action alone, from STS's event source.
  const sts = record.operation?.startsWith(STS_PREFIX) ?? false;
  const eventName = admin ? record.operation!.slice(ADMIN_PREFIX.length) : sts ? record.operation!.slice(STS_PREFIX.length) : (record.operation ?? null);
  // The name stays `CofferSeed.<Operation>` (no request made it), but a seed only ever changes
  // things, and its users, policies and access keys are the admin API's, not KMS's.
  const seeded = record.operation?.startsWith(SEED_PREFIX) ? record.operation.slice(SEED_PREFIX.length) : undefined;
  const eventSource = admin || (seeded !== undefined && !KMS_CHANGES.has(seeded)) ? 'coffer' : sts ? 'sts.amazonaws.com' : 'kms.amazonaws.com';
  const caller: CallerFields = isSystemEvent(record) ? serviceEventFields(realm, record) : {
    userIdentity: userIdentity(realm, record, principals),
    sourceIPAddress: record.sourceIp ?? null,
    userAgent: record.userAgent ?? null,
    requestParameters: requestParameters(record.operation, record.requestParameters),
    requestID: record.requestId,
    readOnly: seeded !== undefined ? false : readOnly(eventName, admin),
    eventType: 'AwsApiCall',
  };
  return {
    eventVersion: '1.11',
    userIdentity: caller.userIdentity,
    eventTime: eventTime(record.time),
    eventSource,
    eventName,
    awsRegion: realm.region,
    sourceIPAddress: caller.sourceIPAddress,
    userAgent: caller.userAgent,
    requestParameters: caller.requestParameters,
    responseElements: null,
    ...(record.additionalEventData !== undefined ? { additionalEventData: record.additionalEventData } : {}),
    ...(record.outcome !== 'success' ? { errorCode: record.outcome, errorMessage: record.errorMessage ?? null } : {}),
    ...(caller.requestID !== undefined ? { requestID: caller.requestID } : {}),
    eventID: eventId(record),
    readOnly: caller.readOnly,
    resources: record.keyArns.map((arn) => ({ accountId: arn.split(':')[4] ?? realm.accountId, type: 'AWS::KMS::Key', ARN: arn })),
    eventType: caller.eventType,
    managementEvent: true,
    eventCategory: 'Management',
    recipientAccountId: realm.accountId,
    ...(caller.serviceEventDetails !== undefined ? { serviceEventDetails: caller.serviceEventDetails } : {}),
    seq: record.seq,
    prevHash: record.prevHash,
    hash: record.hash,
  };
}
