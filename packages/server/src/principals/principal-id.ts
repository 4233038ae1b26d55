import { createHash } from 'node:crypto';
import type { Realm } from '../keys/arn.js';
import type { PrincipalKind, PrincipalRecord } from './principal-record.js';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
/** IAM's unique-id prefixes: AIDA for users, AROA for roles (IAM User Guide, "Unique identifiers"). */
const PREFIX: Readonly<Record<PrincipalKind, string>> = { user: 'AIDA', role: 'AROA' };

/** `arn:<partition>:iam::<account>:user/<name>` or `...:role/<name>`. */
export const principalArn = (realm: Realm, kind: PrincipalKind, name: string): string =>
  `arn:${realm.partition}:iam::${realm.accountId}:${kind}/${name}`;

/** The account root, which always exists and is never stored. */
export const accountRootArn = (realm: Realm): string => `arn:${realm.partition}:iam::${realm.accountId}:root`;

/**
 * A principal's unique id in IAM's shape (21 characters, e.g. `AIDA` + 17). Derived from the ARN
 * and the creation time, so it is stable for the principal's life and differs for a principal
 * deleted and created again under the same name, as IAM's ids do.
 */
export function principalId(record: Pick<PrincipalRecord, 'arn' | 'kind' | 'createdAt'>): string {
  const digest = createHash('sha256').update(`coffer:principal-id:v1\n${record.arn}\n${record.createdAt}`).digest();
  return PREFIX[record.kind] + [...digest.subarray(0, 17)].map((b) => BASE32[b & 31]).join('');
}
