import { checkPrincipalForm, principalMember } from '../grants/grant-members.js';
import { grantListEntry } from '../grants/grant-list-entry.js';
import { decodeMarker, limitMember, markerMember, pagingFields } from '../validate/members.js';
import { parseShape, required } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { RetiringPrincipal: required(principalMember()), Limit: limitMember(100), Marker: markerMember() };

/** ListRetirableGrants: the grants, over all keys, that name this retiring principal. Allowed by identity policies only. */
export const listRetirableGrants: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  await service.access.authorizeAccount(request, 'kms:ListRetirableGrants');
  // The retiring principal is the request's only ARN, and AWS names InvalidArnException among this operation's errors.
  checkPrincipalForm(input.RetiringPrincipal);
  const scope = `ListRetirableGrants/${input.RetiringPrincipal}`;
  const after = decodeMarker(scope, input.Marker);
  const page = await service.store.listRetirableGrants({
    retiringPrincipal: input.RetiringPrincipal, ...(after !== undefined ? { after } : {}), limit: input.Limit ?? 50,
  });
  return { Grants: page.items.map((g) => grantListEntry(service.realm, g)), ...pagingFields(scope, page.next) };
};
