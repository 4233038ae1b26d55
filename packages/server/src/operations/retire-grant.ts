import type { RequestContext, Service } from '../context.js';
import { NotFoundException, ValidationException } from '../errors.js';
import { findGrantOfKey } from '../grants/find-grant.js';
import { grantIdMember, grantTokenMember } from '../grants/grant-members.js';
import type { GrantRecord } from '../grants/grant-record.js';
import { keyArn } from '../keys/arn.js';
import { resolveKey } from '../keys/resolve.js';
import { checkDryRun, dryRunMember, optionalKeyIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { GrantToken: grantTokenMember(), KeyId: optionalKeyIdMember(), GrantId: grantIdMember(), DryRun: dryRunMember() };

/** RetireGrant: deletes a grant named by its token, or by key and grant id. */
export const retireGrant: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  let grant: GrantRecord;
  if (input.GrantToken !== undefined) {
    const found = await service.access.grantOfToken(input.GrantToken);
    if (!found) throw new NotFoundException('The grant that the grant token names does not exist.');
    grant = found;
  } else if (input.KeyId !== undefined && input.GrantId !== undefined) {
    grant = await findGrantOfKey(service, await resolveKey(service, input.KeyId, 'key'), input.GrantId);
  } else {
    throw new ValidationException('Either GrantToken, or both KeyId and GrantId, must be specified.');
  }
  request.audit.touchKey(keyArn(service.realm, grant.keyId));
  // A token says nothing readable: the record names the grant it named, as CloudTrail's does.
  if (input.GrantToken !== undefined) request.audit.addEventData('grantId', grant.grantId);
  await authorizeRetire(service, request, grant);
  checkDryRun(input.DryRun);
  const deleted = await request.audit.commit((event) => service.store.deleteGrant(grant.grantId, event));
  if (!deleted) throw new NotFoundException(`Grant ID ${grant.grantId} not found`);
  return {};
};

/**
 * Who may retire a grant (API reference, RetireGrant): its retiring principal, its grantee when the
 * grant includes RetireGrant, and the account it was created in (the account root). Others need
 * the permission delegated to them: kms:RetireGrant in their identity policies. A Deny of
 * kms:RetireGrant in the caller's identity policies refuses even the principals the grant names
 * (Developer Guide, "Retiring and revoking grants": "To deny permission to retire a grant, you can
 * use a Deny action with the kms:RetireGrant permission").
 */
async function authorizeRetire(service: Service, request: RequestContext, grant: GrantRecord): Promise<void> {
  const namedByGrant = await service.access.grantNamesRetirer(request.principal, grant);
  await service.access.authorizeAccount(request, 'kms:RetireGrant', keyArn(service.realm, grant.keyId), {}, { denyOnly: namedByGrant });
}
