import type { Realm } from '../keys/arn.js';
import type { CallerFields } from './cloudtrail.js';
import { requestParameters } from './cloudtrail-parameters.js';
import type { AuditRecord } from './record.js';

/** What CloudTrail writes for who acted, from where and with what, when KMS acted on its own. */
const AWS_INTERNAL = 'AWS Internal';

/**
 * What each of the server's own actions (system-audit.ts) shows as serviceEventDetails: RotateKey
 * as ct-rotatekey's automatic rotation does (`{rotationType, keyId}`; the scheduler rotates only
 * automatically); DeleteKey none, as ct-delete-key shows none. The making of an AWS managed key and
 * its alias (keys/aws-managed.ts), which KMS has no example of, shows what was made, in the
 * request members' CloudTrail names: the view keeps what the record keeps.
 */
const DETAILS: Readonly<Record<string, (kept: Readonly<Record<string, unknown>>) => Record<string, unknown> | null>> = {
  RotateKey: (kept) => ({ rotationType: 'AUTOMATIC', keyId: kept.KeyId }),
  DeleteKey: () => null,
  CreateKey: (kept) => requestParameters(undefined, kept),
  CreateAlias: (kept) => requestParameters(undefined, kept),
};

/**
 * The caller-side fields of an action the server took on its own, as CloudTrail shows KMS's own
 * events ("AWS service events", eventType AwsServiceEvent): the account as the only identity,
 * invoked by "AWS Internal", from and with "AWS Internal", no request parameters and no request id
 * (there was no request), never read-only, and what was done in serviceEventDetails.
 */
export function serviceEventFields(realm: Realm, record: AuditRecord): CallerFields {
  const details = record.operation !== undefined && Object.hasOwn(DETAILS, record.operation) ? DETAILS[record.operation]!(record.requestParameters) : null;
  return {
    userIdentity: { accountId: realm.accountId, invokedBy: AWS_INTERNAL },
    sourceIPAddress: AWS_INTERNAL,
    userAgent: AWS_INTERNAL,
    requestParameters: null,
    readOnly: false,
    eventType: 'AwsServiceEvent',
    ...(details !== null ? { serviceEventDetails: details } : {}),
  };
}
