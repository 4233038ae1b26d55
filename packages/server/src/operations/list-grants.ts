import { checkGrantIdForm } from '../grants/find-grant.js';
import { grantIdMember, principalMember } from '../grants/grant-members.js';
import { grantListEntry } from '../grants/grant-list-entry.js';
import type { GrantRecord } from '../grants/grant-record.js';
import { resolveKey } from '../keys/resolve.js';
import type { Page } from '../store/store.js';
import { decodeMarker, keyIdMember, limitMember, markerMember, pagingFields } from '../validate/members.js';
import { ValidationException } from '../errors.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = {
  KeyId: keyIdMember(),
  Limit: limitMember(100),
  Marker: markerMember(),
  GrantId: grantIdMember(),
  GranteePrincipal: principalMember(),
  GranteeServicePrincipal: principalMember(),
};

/**
 * ListGrants: a key's grants in grant-id order, optionally only one grant id or one grantee (an
 * IAM principal, or a service principal: a grantee's name and kind are both matched).
 */
export const listGrants: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  if (input.GranteePrincipal !== undefined && input.GranteeServicePrincipal !== undefined) {
    throw new ValidationException('You can specify either GranteePrincipal or GranteeServicePrincipal, but not both.');
  }
  const grantee = input.GranteePrincipal ?? input.GranteeServicePrincipal;
  const granteeIsService = input.GranteeServicePrincipal !== undefined;
  const isGrantee = (g: GrantRecord) => grantee === undefined || (g.granteePrincipal === grantee && (g.granteeIsService === true) === granteeIsService);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:ListGrants', key, context: { 'kms:grantisforawsresource': false } });
  // The GrantId filter is the request's only grant id, and AWS names InvalidGrantIdException among this operation's errors.
  if (input.GrantId !== undefined) checkGrantIdForm(input.GrantId);
  // A marker resumes only this listing of this key.
  const scope = `ListGrants/${key.keyId}`;
  const after = decodeMarker(scope, input.Marker);
  const limit = input.Limit ?? 50;
  let page: Page<GrantRecord>;
  if (input.GrantId === undefined) {
    // One grantee's grants are paged by the store too: a grantee may hold thousands of a key's grants.
    page = await service.store.listGrants({
      keyId: key.keyId,
      ...(grantee !== undefined ? { granteePrincipal: grantee } : {}),
      ...(after !== undefined ? { after } : {}),
      limit,
    });
  } else {
    // One grant id is one grant at most, and always fits a page (Limit is at least 1).
    const grant = await service.store.getGrant(input.GrantId);
    const matches = grant !== undefined && grant.keyId === key.keyId && isGrantee(grant)
      && (after === undefined || grant.grantId > after);
    page = { items: matches ? [grant] : [] };
  }
  // The store matched the grantee's name; its kind is matched here (a page may come out shorter, its marker still right).
  return { Grants: page.items.filter(isGrantee).map((g) => grantListEntry(service.realm, g)), ...pagingFields(scope, page.next) };
};
