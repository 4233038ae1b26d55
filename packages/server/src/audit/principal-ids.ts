import { principalId } from '../principals/principal-id.js';
import type { Store } from '../store/store.js';
import type { AuditRecord } from './record.js';

/** A user or role as it exists now: its unique id (GetCallerIdentity's UserId), and since when. */
export interface KnownPrincipal {
  readonly id: string;
  /** Epoch ms. A principal deleted and made again under its name is another, with another id. */
  readonly createdAt: number;
}

/** The users and roles a page of records names, by ARN. */
export type KnownPrincipals = ReadonlyMap<string, KnownPrincipal>;

/**
 * The users and roles that `records` name and that still exist, each looked up once: a record
 * keeps the caller's ARN, not its unique id, so the CloudTrail view looks the id up per page. The
 * root is never stored (its id is the account id); a principal deleted since is left out.
 */
export async function knownPrincipals(store: Store, records: readonly AuditRecord[]): Promise<KnownPrincipals> {
  // A record changed behind the server's back may hold anything there: it is shown as unreadable, not looked up.
  const arns = new Set(records.flatMap((r) => (typeof r.principalArn === 'string' && !r.principalArn.endsWith(':root') ? [r.principalArn] : [])));
  const known = new Map<string, KnownPrincipal>();
  for (const arn of arns) {
    const principal = await store.getPrincipal(arn);
    if (principal) known.set(arn, { id: principalId(principal), createdAt: principal.createdAt });
  }
  return known;
}
