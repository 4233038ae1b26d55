import { grantMeans } from '../access/access-control.js';
import { ValidationException } from '../errors.js';
import { checkPrincipalForm, checkServicePrincipalForm, principalMember } from '../grants/grant-members.js';
import { grantListEntry } from '../grants/grant-list-entry.js';
import { decodeMarker, limitMember, markerMember, pagingFields } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { RetiringPrincipal: principalMember(), RetiringServicePrincipal: principalMember(), Limit: limitMember(100), Marker: markerMember() };

/**
 * ListRetirableGrants: the grants, over all keys, that name this retiring principal (an IAM
 * principal, or a service principal: name and kind both matched). Allowed by identity policies only.
 */
export const listRetirableGrants: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  if ((input.RetiringPrincipal === undefined) === (input.RetiringServicePrincipal === undefined)) {
    throw new ValidationException('You must specify either RetiringPrincipal or RetiringServicePrincipal, but not both.');
  }
  await service.access.authorizeAccount(request, 'kms:ListRetirableGrants');
  const isService = input.RetiringServicePrincipal !== undefined;
  const retiring = (input.RetiringPrincipal ?? input.RetiringServicePrincipal)!;
  // The retiring principal is the request's only ARN, and AWS names InvalidArnException among this operation's errors.
  if (isService) checkServicePrincipalForm('RetiringServicePrincipal', retiring);
  else checkPrincipalForm(retiring);
  const scope = `ListRetirableGrants/${isService ? 'service/' : ''}${retiring}`;
  const after = decodeMarker(scope, input.Marker);
  const page = await service.store.listRetirableGrants({ retiringPrincipal: retiring, ...(after !== undefined ? { after } : {}), limit: input.Limit ?? 50 });
  // The store matched the name; the kind is matched here (a page may come out shorter, its marker
  // still right), and so is the principal: a grant made for a user or role deleted since, and
  // created again under the name, names the earlier one, which this one cannot retire it as.
  const createdAt = isService ? undefined : (await service.store.getPrincipal(retiring))?.createdAt;
  const grants = page.items.filter((g) => (g.retiringIsService === true) === isService && grantMeans(g, g.retiringCreatedAt, createdAt));
  return { Grants: grants.map((g) => grantListEntry(service.realm, g)), ...pagingFields(scope, page.next) };
};
