import { createHash } from 'node:crypto';
import { cloudTrailEvent } from '../audit/cloudtrail.js';
import { knownPrincipals, type KnownPrincipals } from '../audit/principal-ids.js';
import { isUnreadable, type AuditRecord, type UnreadableAuditRecord } from '../audit/record.js';
import { InvalidMarkerException, SerializationException, ValidationException } from '../errors.js';
import { keyArn, parseArn, type Realm } from '../keys/arn.js';
import { KEY_ID } from '../keys/resolve.js';
import type { Operation } from '../operations/operation.js';
import type { AuditQuery, Store } from '../store/store.js';
import { decodeMarker, encodeMarker, limitMember, markerMember } from '../validate/members.js';
import { parseShape, string, type Member } from '../validate/shape.js';

const ADMIN_PREFIX = 'CofferAdmin.';
/**
 * The STS actions Coffer answers (http/sts.ts). Recorded as `sts:GetCallerIdentity`, shown as
 * CloudTrail does, eventName `GetCallerIdentity` from sts.amazonaws.com: either name finds them.
 * No KMS or admin operation has the name, so the bare one needs no other query.
 */
const STS_ACTIONS: ReadonlySet<string> = new Set(['GetCallerIdentity']);

/** The last second of the year 9999: later times are not times a store keeps (PostgreSQL's bigint milliseconds included). */
const LAST_SECOND = 253_402_300_799;

/** A timestamp in epoch seconds, as AWS's JSON protocol sends one (fractions allowed), from 1970 to 9999. */
function epochSecondsMember(): Member<number | undefined> {
  return {
    parse(value, path, violations) {
      if (value === undefined) return undefined;
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw new SerializationException(`Expected a timestamp in epoch seconds for member '${path}'`);
      }
      if (value < 0 || value > LAST_SECOND) violations.add(path, String(value), `Member must be a time from 0 to ${LAST_SECOND} (epoch seconds)`);
      return value;
    },
  };
}

/** Text without control characters: a filter never holds one, and PostgreSQL's text cannot hold NUL. */
const FILTER_TEXT = '^[^\\u0000-\\u001f]+$';

const shape = {
  StartTime: epochSecondsMember(),
  EndTime: epochSecondsMember(),
  PrincipalArn: string({ min: 1, max: 2048, pattern: FILTER_TEXT }),
  KeyId: string({ min: 1, max: 2048, pattern: FILTER_TEXT }),
  // `Encrypt`, `CreateUser` (or `CofferAdmin.CreateUser`), `GetCallerIdentity` (or `sts:GetCallerIdentity`).
  Operation: string({ min: 1, max: 128, pattern: '^[A-Za-z][A-Za-z0-9]*[.:]?[A-Za-z0-9]*$' }),
  Outcome: string({ min: 1, max: 128, pattern: '^[A-Za-z][A-Za-z0-9]*$' }),
  Limit: limitMember(1000),
  NextToken: markerMember(),
};

/**
 * QueryAuditRecords (Coffer admin API): the audit records that match every given filter, newest
 * first, as CloudTrail-like events. StartTime is inclusive and EndTime exclusive (epoch seconds);
 * Outcome is `success`, `failure` (any error) or one error name; KeyId is a key id or key ARN and
 * matches records of keys that no longer exist too. NextToken pages towards older records.
 */
export const queryAuditRecords: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  await service.access.authorizeAccount(request, 'coffer:QueryAuditRecords');
  if (input.StartTime !== undefined && input.EndTime !== undefined && input.StartTime > input.EndTime) {
    throw new ValidationException('StartTime must not be later than EndTime.');
  }
  const limit = input.Limit ?? 100;
  const keyArnFilter = input.KeyId !== undefined ? keyArnOf(service.realm, input.KeyId) : undefined;
  // A token pages on the listing it came from: the same filters (a key by id or ARN alike), any Limit.
  const filters = [input.StartTime, input.EndTime, input.PrincipalArn, keyArnFilter, input.Operation, input.Outcome];
  const scope = `QueryAuditRecords ${createHash('sha256').update(JSON.stringify(filters)).digest('hex').slice(0, 16)}`;
  const after = decodeMarker(scope, input.NextToken);
  const beforeSeq = after === undefined ? undefined : Number(after);
  if (beforeSeq !== undefined && !(Number.isSafeInteger(beforeSeq) && beforeSeq > 0)) {
    throw new InvalidMarkerException('The NextToken is not one this server issued.');
  }
  const query: Omit<AuditQuery, 'operation'> = {
    ...(input.StartTime !== undefined ? { from: Math.ceil(input.StartTime * 1000) } : {}),
    ...(input.EndTime !== undefined ? { to: Math.ceil(input.EndTime * 1000) } : {}),
    ...(input.PrincipalArn !== undefined ? { principalArn: input.PrincipalArn } : {}),
    ...(keyArnFilter !== undefined ? { keyArn: keyArnFilter } : {}),
    ...(input.Outcome !== undefined ? { outcome: input.Outcome } : {}),
    ...(beforeSeq !== undefined ? { beforeSeq } : {}),
    // One more than asked, to know whether another page follows.
    limit: limit + 1,
  };
  const found = await queryOperation(service.store, query, input.Operation);
  const records = found.slice(0, limit);
  const principals = await knownPrincipals(service.store, records.filter((r): r is AuditRecord => !isUnreadable(r)));
  return {
    Records: records.map((r) => eventOf(service.realm, r, principals)),
    ...(found.length > limit ? { NextToken: encodeMarker(scope, String(records[records.length - 1]!.seq)) } : {}),
  };
};

/**
 * A record as its CloudTrail-like event; a record that does not read as one (changed behind the
 * server's back) as `{ seq, unreadable }` in its place, so the rest of the page still shows.
 */
function eventOf(realm: Realm, record: AuditRecord | UnreadableAuditRecord, principals: KnownPrincipals): Record<string, unknown> {
  if (isUnreadable(record)) return unreadableEvent(record.seq, record.unreadable);
  try {
    return cloudTrailEvent(realm, record, principals);
  } catch {
    // JSON, but members of the wrong types: what a server never wrote.
    return unreadableEvent(record.seq, 'it is not an audit record');
  }
}

function unreadableEvent(seq: number, why: string): Record<string, unknown> {
  return { seq, unreadable: `Audit record ${seq} cannot be read (${why}); VerifyAuditChain checks the whole trail.` };
}

/**
 * Admin operations are recorded as `CofferAdmin.<Op>` and shown with eventName `<Op>`: a bare name
 * matches either form, so `--operation CreateUser` finds what the listing shows as CreateUser;
 * `GetCallerIdentity` finds the STS records the same way.
 */
async function queryOperation(
  store: Store, query: Omit<AuditQuery, 'operation'>, operation: string | undefined,
): Promise<(AuditRecord | UnreadableAuditRecord)[]> {
  if (operation === undefined) return store.queryAudit(query);
  if (operation.includes('.') || operation.includes(':')) return store.queryAudit({ ...query, operation });
  if (STS_ACTIONS.has(operation)) return store.queryAudit({ ...query, operation: `sts:${operation}` });
  const [kms, admin] = await Promise.all([
    store.queryAudit({ ...query, operation }),
    store.queryAudit({ ...query, operation: `${ADMIN_PREFIX}${operation}` }),
  ]);
  return [...kms, ...admin].sort((a, b) => b.seq - a.seq).slice(0, query.limit);
}

/** A key id or key ARN as the key ARN the records name. The key need not exist any more. */
function keyArnOf(realm: Realm, keyId: string): string {
  if (keyId.startsWith('arn:')) {
    const arn = parseArn(keyId);
    if (arn && arn.service === 'kms' && arn.resource.startsWith('key/') && KEY_ID.test(arn.resource.slice('key/'.length))) return keyId;
  } else if (KEY_ID.test(keyId)) {
    return keyArn(realm, keyId);
  }
  throw new ValidationException(`KeyId '${keyId}' must be a key id or a key ARN.`);
}
