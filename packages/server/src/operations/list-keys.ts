import { keyArn } from '../keys/arn.js';
import { decodeMarker, limitMember, markerMember, pagingFields } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { Limit: limitMember(1000), Marker: markerMember() };

export const listKeys: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  await service.access.authorizeAccount(request, 'kms:ListKeys');
  // Ids only: the records are not read (Store.listKeyIds).
  const page = await service.store.listKeyIds({ after: decodeMarker('ListKeys', input.Marker), limit: input.Limit ?? 100 });
  return {
    Keys: page.items.map((keyId) => ({ KeyId: keyId, KeyArn: keyArn(service.realm, keyId) })),
    ...pagingFields('ListKeys', page.next),
  };
};
