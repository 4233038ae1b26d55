import type { Service } from '../context.js';
import { NotFoundException } from '../errors.js';
import { principalArn, principalId } from '../principals/principal-id.js';
import type { PrincipalKind, PrincipalRecord } from '../principals/principal-record.js';

/** How each kind of principal is named on the wire, as IAM names them. */
export const WIRE = {
  user: { name: 'UserName', id: 'UserId', list: 'Users', one: 'User', title: 'user' },
  role: { name: 'RoleName', id: 'RoleId', list: 'Roles', one: 'Role', title: 'role' },
} as const;

/** A user or role as the request names it. */
export interface NamedPrincipal {
  readonly kind: PrincipalKind;
  readonly name: string;
  readonly arn: string;
}

/** The principal a request names by UserName or RoleName (oneOfNames has checked there is one at most). */
export function namedPrincipal(service: Service, input: { UserName?: string | undefined; RoleName?: string | undefined }): NamedPrincipal | undefined {
  if (input.UserName !== undefined) return { kind: 'user', name: input.UserName, arn: principalArn(service.realm, 'user', input.UserName) };
  if (input.RoleName !== undefined) return { kind: 'role', name: input.RoleName, arn: principalArn(service.realm, 'role', input.RoleName) };
  return undefined;
}

/** The stored principal, or IAM's NoSuchEntity message as a NotFoundException. */
export async function requirePrincipal(service: Service, named: NamedPrincipal): Promise<PrincipalRecord> {
  const record = await service.store.getPrincipal(named.arn);
  if (!record) throw new NotFoundException(`The ${WIRE[named.kind].title} with name ${named.name} cannot be found.`);
  return record;
}

/** A user as IAM shows one (`User`), or a role (`Role`). CreateDate in epoch seconds, as KMS dates. */
export function principalView(record: PrincipalRecord): Record<string, unknown> {
  const wire = WIRE[record.kind];
  return { [wire.name]: record.name, [wire.id]: principalId(record), Arn: record.arn, CreateDate: record.createdAt / 1000 };
}

/** `{UserName}` or `{RoleName}` of the principal an ARN names; nothing for the account root. */
export function ownerFields(arn: string): Record<string, string> {
  const resource = arn.split(':').slice(5).join(':');
  const slash = resource.indexOf('/');
  const kind = resource.slice(0, slash);
  if (slash < 0 || (kind !== 'user' && kind !== 'role')) return {};
  return { [WIRE[kind].name]: resource.slice(slash + 1) };
}
