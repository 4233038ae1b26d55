import { InvalidMarkerException } from '../errors.js';
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
  const after = tagKeyAt(decodeMarker(scope, input.Marker));
  const limit = input.Limit ?? 50;
  const sorted = [...key.tags].sort((a, b) => (a.TagKey < b.TagKey ? -1 : a.TagKey > b.TagKey ? 1 : 0));
  const rest = after === undefined ? sorted : sorted.filter((t) => t.TagKey > after);
  const items = rest.slice(0, limit);
  return {
    Tags: items,
    ...pagingFields(scope, rest.length > limit ? tagPosition(items[items.length - 1]!.TagKey) : undefined),
  };
};

/**
 * A tag key as a marker's position: its UTF-16 code units in hex. A tag key may be any text, a NUL
 * or a lone surrogate included, which the marker's UTF-8 does not carry back (a lone surrogate
 * returned as U+FFFD, a position past the tags after it; a NUL made the marker refused).
 */
const tagPosition = (tagKey: string): string => Buffer.from(tagKey, 'utf16le').toString('hex');

/** The tag key a ListResourceTags marker resumes after. */
function tagKeyAt(position: string | undefined): string | undefined {
  if (position === undefined) return undefined;
  if (!/^(?:[0-9a-f]{4})+$/.test(position)) throw new InvalidMarkerException('The marker is not one this server issued.');
  return Buffer.from(position, 'hex').toString('utf16le');
}
