import { randomBytes } from 'node:crypto';
import type { Service } from '../context.js';
import { InvalidArnException, SerializationException, ValidationException } from '../errors.js';
import type { Member, Violations } from '../validate/shape.js';
import { required, string, stringList } from '../validate/shape.js';
import { GRANT_OPERATIONS, type GrantConstraints, type GrantOperation } from './grant-record.js';

/** Request members of the grant operations, with the limits of the KMS API reference. */
export const principalMember = () => string({ min: 1, max: 256, pattern: '^[\\w+=,.@:/-]+$' });
export const grantNameMember = () => string({ min: 1, max: 256, pattern: '^[a-zA-Z0-9:/_-]+$' });
export const grantIdMember = () => string({ min: 1, max: 128 });
export const grantTokenMember = () => string({ min: 1, max: 8192, sensitive: true });

/** `Operations`: one or more of GRANT_OPERATIONS. */
export function operationsMember(): Member<GrantOperation[]> {
  const list = required(stringList({}));
  return {
    parse(value, path, violations) {
      const items = list.parse(value, path, violations);
      if (items === undefined) return [];
      if (items.length === 0) violations.add(path, '[]', 'Member must have length greater than or equal to 1');
      // AWS reports an enum list as a whole: `Value '[Fly]' at 'operations' failed to satisfy
      // constraint: Member must satisfy constraint: [Member must satisfy enum value set: [...]]`.
      if (items.some((item) => !(GRANT_OPERATIONS as readonly string[]).includes(item))) {
        violations.add(path, `[${items.join(', ')}]`, `Member must satisfy constraint: [Member must satisfy enum value set: [${GRANT_OPERATIONS.join(', ')}]]`);
      }
      return items as GrantOperation[];
    },
  };
}

/** Each constraint holds at most 8 pairs; AWS: "Each constraint value can include up to 8 encryption context pairs." */
const MAX_CONSTRAINT_PAIRS = 8;
/** AWS: "The encryption context value in each constraint cannot exceed 384 characters." */
const MAX_CONSTRAINT_CHARS = 384;

/** `Constraints.SourceArn`: a resource's ARN, up to 2048 characters as AWS's ARNs. */
const sourceArnMember = () => string({ min: 1, max: 2048 });

/**
 * `Constraints`: EncryptionContextSubset or EncryptionContextEquals (CreateGrant refuses both), and
 * SourceArn. An empty map counts as absent, as IAM Access Analyzer's model of KMS grant constraints
 * says ("An empty map is treated as not specified"): an empty Equals does not mean "no context".
 */
export function constraintsMember(): Member<GrantConstraints | undefined> {
  return {
    parse(value, path, violations) {
      if (value === undefined) return undefined;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new SerializationException(`Expected an object for member '${path}'`);
      const input = value as Record<string, unknown>;
      const out: { EncryptionContextSubset?: Record<string, string>; EncryptionContextEquals?: Record<string, string>; SourceArn?: string } = {};
      for (const name of ['EncryptionContextSubset', 'EncryptionContextEquals'] as const) {
        const map = constraintMap(input[name], `${path}.${name.charAt(0).toLowerCase()}${name.slice(1)}`, violations);
        if (map !== undefined && Object.keys(map).length > 0) out[name] = map;
      }
      const sourceArn = sourceArnMember().parse(input.SourceArn ?? undefined, `${path}.sourceArn`, violations);
      if (sourceArn !== undefined) out.SourceArn = sourceArn;
      return out.EncryptionContextSubset || out.EncryptionContextEquals || out.SourceArn !== undefined ? out : undefined;
    },
  };
}

function constraintMap(value: unknown, path: string, violations: Violations): Record<string, string> | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw new SerializationException(`Expected a map of strings for member '${path}'`);
  const map = value as Record<string, unknown>;
  const keys = Object.keys(map);
  for (const key of keys) {
    if (typeof map[key] !== 'string') throw new SerializationException(`Expected a string for member '${path}.${key}'`);
  }
  const pairs = map as Record<string, string>;
  // As in an encryption context (keys/encryption-context.ts): a lone surrogate is no Unicode text,
  // so no request's context can hold it, and a constraint with one would match nothing.
  if (keys.some((k) => /\p{Cs}/u.test(k) || /\p{Cs}/u.test(pairs[k]!))) {
    throw new ValidationException('Encryption context keys and values in a grant constraint must be valid Unicode; one contains an unpaired surrogate.');
  }
  if (keys.length > MAX_CONSTRAINT_PAIRS) {
    violations.add(path, undefined, `Map must have length less than or equal to ${MAX_CONSTRAINT_PAIRS}`);
  }
  const chars = keys.reduce((sum, k) => sum + k.length + pairs[k]!.length, 0);
  if (chars > MAX_CONSTRAINT_CHARS) {
    violations.add(path, undefined, `Encryption context in a constraint must have at most ${MAX_CONSTRAINT_CHARS} characters`);
  }
  return pairs;
}

/** Grant ids look like AWS's: 64 lowercase hex characters. */
export function newGrantId(): string {
  return randomBytes(32).toString('hex');
}

const PRINCIPAL_ARN = /^arn:[a-z][a-z0-9-]*:(?:iam::\d{12}:(?:root|user\/[\w+=,.@/-]+|role\/[\w+=,.@/-]+)|sts::\d{12}:(?:assumed-role\/[\w+=,.@-]+\/[\w+=,.@-]+|federated-user\/[\w+=,.@-]+))$/;
const SERVICE_PRINCIPAL = /^[a-z0-9][a-z0-9.-]*\.amazonaws\.com(?:\.cn)?$/;

/** Whether a grant could name `value` as its grantee or retiring principal (checkPrincipalForm). */
export const isPrincipalForm = (value: string): boolean => PRINCIPAL_ARN.test(value) || SERVICE_PRINCIPAL.test(value);

/** Whether `value` is a service principal's name, as GranteeServicePrincipal and RetiringServicePrincipal take. */
export const isServicePrincipal = (value: string): boolean => SERVICE_PRINCIPAL.test(value);

/**
 * A principal named to grants must be an IAM ARN or a service principal. API reference, CreateGrant:
 * "Valid principals include Amazon Web Services accounts, IAM users, IAM roles, federated users,
 * and assumed role users" (`arn:<partition>:sts::<account>:federated-user/<name>`).
 */
export function checkPrincipalForm(value: string): void {
  if (!isPrincipalForm(value)) {
    throw new InvalidArnException(`${value} is not a valid principal ARN.`);
  }
}

/** GranteeServicePrincipal and RetiringServicePrincipal: a service principal's name, `<service>.amazonaws.com`. */
export function checkServicePrincipalForm(member: string, value: string): void {
  if (!isServicePrincipal(value)) throw new ValidationException(`${member} '${value}' is not an AWS service principal, such as s3.amazonaws.com.`);
}

/**
 * A grantee or retiring principal must name an AWS principal (checkPrincipalForm), and a user or
 * role of this server's account must exist. AWS answers InvalidArnException otherwise. Returns
 * that user's or role's creation time: the grant is for it, not for a later one of its name.
 */
export async function checkGrantPrincipal(service: Service, value: string): Promise<number | undefined> {
  checkPrincipalForm(value);
  // A service principal (`kms.amazonaws.com`) has no partition or account to check.
  if (SERVICE_PRINCIPAL.test(value)) return undefined;
  const [, partition, iam, , account, resource] = value.split(':');
  // As in a key policy: AWS has no permissions across partitions, so such a principal is none this key can serve.
  if (partition !== service.realm.partition) {
    throw new InvalidArnException(`${value} is not a valid principal ARN: a principal of partition ${partition} cannot be named on this server, whose partition is ${service.realm.partition}.`);
  }
  const local = iam === 'iam' && account === service.realm.accountId;
  if (!local || resource === 'root') return undefined;
  const principal = await service.store.getPrincipal(value);
  if (!principal) throw new InvalidArnException(`${value} is not a valid principal ARN: no such principal exists in account ${account}.`);
  return principal.createdAt;
}
