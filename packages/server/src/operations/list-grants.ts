import { checkGrantIdForm } from '../grants/find-grant.js';
import { grantIdMember, principalMember } from '../grants/grant-members.js';
import { grantListEntry } from '../grants/grant-list-entry.js';
import type { GrantRecord } from '../grants/grant-record.js';
import { resolveKey } from '../keys/resolve.js';
import type { Page } from '../store/store.js';
import { decodeMarker, keyIdMember, limitMember, markerMember, pagingFields } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = {
  KeyId: keyIdMember(),
  Limit: limitMember(100),
  Marker: markerMember(),
  GrantId: grantIdMember(),
  GranteePrincipal: principalMember(),
};

/** ListGrants: a key's grants in grant-id order, optionally only one grant id or one grantee. */
export const listGrants: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:ListGrants', key, context: { 'kms:grantisforawsresource': false } });
  // The GrantId filter is the request's only grant id, and AWS names InvalidGrantIdException among this operation's errors.
  if (input.GrantId !== undefined) checkGrantIdForm(input.GrantId);
  // A marker resumes only this listing of this key.
  const scope = `ListGrants/${key.keyId}`;
  const after = decodeMarker(scope, input.Marker);
  const limit = input.Limit ?? 50;
  let page: Page<GrantRecord>;
  if (input.GrantId === undefined && input.GranteePrincipal === undefined) {
    page = await service.store.listGrants({ keyId: key.keyId, ...(after !== undefined ? { after } : {}), limit });
  } else {
    // Filtered lists are short (one grant, or one grantee's): filter, then page in memory.
    const candidates = input.GranteePrincipal !== undefined
      ? await service.store.listGrantsForGrantee(key.keyId, input.GranteePrincipal)
      : [await service.store.getGrant(input.GrantId!)].filter((g): g is GrantRecord => g !== undefined && g.keyId === key.keyId);
    const matching = candidates
      .filter((g) => input.GrantId === undefined || g.grantId === input.GrantId)
      .filter((g) => after === undefined || g.grantId > after)
      .sort((a, b) => (a.grantId < b.grantId ? -1 : 1));
    const items = matching.slice(0, limit);
    page = matching.length > limit ? { items, next: items[items.length - 1]!.grantId } : { items };
  }
  return { Grants: page.items.map((g) => grantListEntry(service.realm, g)), ...pagingFields(scope, page.next) };
};
