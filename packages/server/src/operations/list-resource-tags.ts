import { resolveKey } from '../keys/resolve.js';
import { decodeMarker, keyIdMember, limitMember, markerMember, pagingFields } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), Limit: limitMember(50), Marker: markerMember() };

/** Tags sorted by key, paged by the last key returned. */
export const listResourceTags: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:ListResourceTags', key });
  // A marker resumes only this listing of this key.
  const scope = `ListResourceTags/${key.keyId}`;
  const after = decodeMarker(scope, input.Marker);
  const limit = input.Limit ?? 50;
  const sorted = [...key.tags].sort((a, b) => (a.TagKey < b.TagKey ? -1 : a.TagKey > b.TagKey ? 1 : 0));
  const rest = after === undefined ? sorted : sorted.filter((t) => t.TagKey > after);
  const items = rest.slice(0, limit);
  return {
    Tags: items,
    ...pagingFields(scope, rest.length > limit ? items[items.length - 1]!.TagKey : undefined),
  };
};
