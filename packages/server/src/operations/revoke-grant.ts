import { NotFoundException } from '../errors.js';
import { findGrantOfKey } from '../grants/find-grant.js';
import { grantIdMember } from '../grants/grant-members.js';
import { resolveKey } from '../keys/resolve.js';
import { checkDryRun, dryRunMember, keyIdMember } from '../validate/members.js';
import { parseShape, required } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), GrantId: required(grantIdMember()), DryRun: dryRunMember() };

/**
 * RevokeGrant: deletes a grant; needs kms:RevokeGrant from a policy. The grant stops working at
 * once: access control reads a key's grants from the store on every request that needs one.
 */
export const revokeGrant: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:RevokeGrant', key, context: { 'kms:grantisforawsresource': false } });
  const grant = await findGrantOfKey(service, key, input.GrantId);
  checkDryRun(input.DryRun);
  const deleted = await request.audit.commit((event) => service.store.deleteGrant(grant.grantId, event));
  if (!deleted) throw new NotFoundException(`Grant ID ${grant.grantId} not found`);
  return {};
};
