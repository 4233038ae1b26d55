import { aliasArn } from '../keys/arn.js';
import { epochSeconds } from '../keys/key-metadata.js';
import { resolveKey } from '../keys/resolve.js';
import { decodeMarker, limitMember, markerMember, optionalKeyIdMember, pagingFields } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: optionalKeyIdMember(), Limit: limitMember(100), Marker: markerMember() };

export const listAliases: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  await service.access.authorizeAccount(request, 'kms:ListAliases');
  const keyId = input.KeyId === undefined ? undefined : (await resolveKey(service, input.KeyId, 'key')).keyId;
  // A marker resumes only the listing that issued it: all aliases, or the aliases of this key.
  const scope = keyId === undefined ? 'ListAliases' : `ListAliases/${keyId}`;
  const page = await service.store.listAliases({
    ...(keyId !== undefined ? { keyId } : {}),
    after: decodeMarker(scope, input.Marker),
    limit: input.Limit ?? 50,
  });
  return {
    Aliases: page.items.map((a) => ({
      AliasName: a.aliasName,
      AliasArn: aliasArn(service.realm, a.aliasName),
      TargetKeyId: a.targetKeyId,
      CreationDate: epochSeconds(a.createdAt),
      LastUpdatedDate: epochSeconds(a.updatedAt),
    })),
    ...pagingFields(scope, page.next),
  };
};
