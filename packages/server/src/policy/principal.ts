/**
 * Principals: who is calling, and the `Principal` / `NotPrincipal` element that names callers in a
 * key policy (IAM User Guide, "AWS JSON policy elements: Principal").
 *
 * A caller is evaluated as a chain: its account, then itself. That is how AWS describes the
 * account in a policy ("Depending on the service ... AWS might validate the account first and then
 * the user"), and it gives the account entry its two meanings:
 *
 * - in a Deny, naming the account denies every principal of the account;
 * - in an Allow, naming the account (`arn:aws:iam::111122223333:root` or `111122223333`) allows the
 *   account root itself, and delegates to the account's IAM policies (see authorize.ts), but does
 *   not by itself allow the account's users and roles.
 */
export const CALLER_KINDS = Object.freeze(['root', 'user', 'role'] as const);
export type CallerKind = (typeof CALLER_KINDS)[number];

export interface Principal {
  /** `arn:<partition>:iam::<account>:root`, `...:user/<path/name>` or `...:role/<path/name>` */
  readonly arn: string;
  readonly accountId: string;
  readonly kind: CallerKind;
  /**
   * False when the policy was written before this principal was created: its ARN there named an
   * earlier principal of the same name, deleted since. AWS binds a policy's principals to their
   * unique ids, so a principal created again under the name does not inherit what they were given.
   */
  readonly arnNamesIt?: boolean;
}

/** The principals one Principal or NotPrincipal element names. Never mutated after compile. */
export interface PrincipalSet {
  /** `"*"` or `{"AWS": "*"}`: everyone. */
  readonly everyone: boolean;
  /** Account ids named by `<account>` or `arn:<partition>:iam::<account>:root`. */
  readonly accounts: ReadonlySet<string>;
  /** Exact user, role, assumed-role and federated-user ARNs. */
  readonly arns: ReadonlySet<string>;
  /** The partitions of the ARNs named (`aws`, `aws-cn`, ...), for the check that they are the server's. */
  readonly partitions: ReadonlySet<string>;
}

const ACCOUNT_ID = /^\d{12}$/;
const ROOT_ARN = /^arn:[a-z][a-z0-9-]*:iam::(\d{12}):root$/;
/**
 * IAM user or role names with an optional path (`user/division/alice`), STS role sessions and STS
 * federated users (IAM User Guide, "AWS STS federated user principals"; grants take them too).
 */
const IDENTITY_ARN = /^arn:[a-z][a-z0-9-]*:(?:iam::\d{12}:(?:user|role)\/[\w+=,.@/-]+|sts::\d{12}:(?:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+|federated-user\/[\w+=,.@-]+))$/;
/** `kms.amazonaws.com`, `logs.us-east-1.amazonaws.com`: accepted, as AWS does, and never a caller here. */
const SERVICE = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?$/;

/** AWS's message for any principal it cannot accept (KMS CreateKey / PutKeyPolicy). */
export const INVALID_PRINCIPALS = 'Policy contains a statement with one or more invalid principals.';

/** Parses a Principal or NotPrincipal element; returns a reason when it is not one. */
export function parsePrincipalElement(value: unknown): PrincipalSet | string {
  if (value === '*') return { everyone: true, accounts: new Set(), arns: new Set(), partitions: new Set() };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return 'must be "*" or an object such as {"AWS": [...]}';
  }
  const accounts = new Set<string>();
  const arns = new Set<string>();
  const partitions = new Set<string>();
  let everyone = false;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return 'names no principal';
  for (const [type, raw] of entries) {
    const list = typeof raw === 'string' ? [raw] : raw;
    if (!Array.isArray(list) || list.length === 0 || !list.every((v) => typeof v === 'string')) {
      return `"${type}" must be a string or a non-empty list of strings`;
    }
    for (const item of list as string[]) {
      if (type === 'AWS') {
        const root = ROOT_ARN.exec(item);
        if (item === '*') everyone = true;
        else if (ACCOUNT_ID.test(item)) accounts.add(item);
        else if (root) accounts.add(root[1]!);
        else if (IDENTITY_ARN.test(item)) arns.add(item);
        else return `"AWS" value "${item}" is not "*", an account id or the ARN of an account, user, role, role session or federated user`;
        if (item.startsWith('arn:')) partitions.add(item.split(':')[1]!);
      } else if (type === 'Service') {
        if (!SERVICE.test(item)) return `"Service" value "${item}" is not a service principal`;
      } else {
        return `principal type "${type}" is not supported (use "AWS" or "Service")`;
      }
    }
  }
  return { everyone, accounts, arns, partitions };
}

const namesAccount = (set: PrincipalSet, p: Principal): boolean => set.everyone || set.accounts.has(p.accountId);
/** The caller itself: its exact ARN, or the account entry when the caller is the account root. */
const namesSelf = (set: PrincipalSet, p: Principal): boolean =>
  set.everyone || (p.kind === 'root' ? set.accounts.has(p.accountId) : p.arnNamesIt !== false && set.arns.has(p.arn));

/** Whether an Allow statement's principal element reaches the caller. */
export function allowReaches(set: PrincipalSet, negated: boolean, p: Principal): boolean {
  // NotPrincipal in an Allow: applies only when neither the caller nor its account is excluded.
  return negated ? !namesAccount(set, p) && !namesSelf(set, p) : namesSelf(set, p);
}

/** Whether a Deny statement's principal element reaches the caller. */
export function denyReaches(set: PrincipalSet, negated: boolean, p: Principal): boolean {
  // A Deny reaches a caller when it reaches any link of the chain; a NotPrincipal Deny spares the
  // caller only when every link (the account and the caller) is excluded, as AWS advises.
  if (negated) return !namesAccount(set, p) || !namesSelf(set, p);
  return namesAccount(set, p) || namesSelf(set, p);
}

/** The account root of the caller's account, in the caller's partition. */
export function accountRootOf(p: Principal): Principal {
  if (p.kind === 'root') return p;
  const partition = p.arn.split(':')[1] ?? 'aws';
  return { arn: `arn:${partition}:iam::${p.accountId}:root`, accountId: p.accountId, kind: 'root' };
}
