import { AlreadyExistsException, LimitExceededException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { principalArn } from '../principals/principal-id.js';
import type { PrincipalKind } from '../principals/principal-record.js';
import { parseShape, required } from '../validate/shape.js';
import { principalNameMember } from './members.js';
import { principalView, WIRE } from './principals.js';

/** IAM's quotas (IAM User Guide, "IAM object quotas"). */
export const MAX_PRINCIPALS: Readonly<Record<PrincipalKind, number>> = { user: 5000, role: 1000 };
const QUOTA_NAME: Readonly<Record<PrincipalKind, string>> = { user: 'UsersPerAccount', role: 'RolesPerAccount' };

/**
 * CreateUser and CreateRole. Names are unique without regard to case, as in IAM ("you cannot
 * create users named both 'JOHN' and 'john'"); the listing that checks this also counts the quota.
 */
export function createPrincipal(kind: PrincipalKind): Operation {
  const wire = WIRE[kind];
  const shape = { [wire.name]: required(principalNameMember()) };
  return async (service, body, request) => {
    const name = parseShape(body, shape)[wire.name]!;
    const arn = principalArn(service.realm, kind, name);
    await service.access.authorizeAccount(request, `coffer:Create${kind === 'user' ? 'User' : 'Role'}`, arn);
    const existing = await service.store.listPrincipals({ kind, limit: MAX_PRINCIPALS[kind] });
    const lower = name.toLowerCase();
    if (existing.items.some((p) => p.name.toLowerCase() === lower)) {
      throw new AlreadyExistsException(`${kind === 'user' ? 'User' : 'Role'} with name ${name} already exists.`);
    }
    if (existing.next !== undefined || existing.items.length >= MAX_PRINCIPALS[kind]) {
      throw new LimitExceededException(`Cannot exceed quota for ${QUOTA_NAME[kind]}: ${MAX_PRINCIPALS[kind]}`);
    }
    const record = { arn, kind, name, createdAt: service.now() };
    const created = await request.audit.commit((event) => service.store.createPrincipal(record, event));
    if (!created) throw new AlreadyExistsException(`${kind === 'user' ? 'User' : 'Role'} with name ${name} already exists.`);
    // A principal of this ARN may have been deleted with a policy cached on this node.
    service.access.forgetPrincipal(arn);
    return { [wire.one]: principalView(record) };
  };
}
