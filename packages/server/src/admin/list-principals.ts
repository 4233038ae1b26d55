import type { Operation } from '../operations/operation.js';
import type { PrincipalKind } from '../principals/principal-record.js';
import { decodeMarker, encodeMarker } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import { iamMarkerMember, maxItemsMember } from './members.js';
import { principalView, WIRE } from './principals.js';

const shape = { Marker: iamMarkerMember(), MaxItems: maxItemsMember() };

/** ListUsers and ListRoles, in name order, paged as IAM pages: MaxItems (default 100), Marker, IsTruncated. */
export function listPrincipals(kind: PrincipalKind): Operation {
  const wire = WIRE[kind];
  const operation = kind === 'user' ? 'ListUsers' : 'ListRoles';
  return async (service, body, request) => {
    const input = parseShape(body, shape);
    await service.access.authorizeAccount(request, `coffer:${operation}`);
    const page = await service.store.listPrincipals({ kind, after: decodeMarker(operation, input.Marker), limit: input.MaxItems ?? 100 });
    return {
      [wire.list]: page.items.map(principalView),
      IsTruncated: page.next !== undefined,
      ...(page.next !== undefined ? { Marker: encodeMarker(operation, page.next) } : {}),
    };
  };
}
