import { PREDEFINED_ALIASES } from '../keys/aws-managed.js';
import { aliasArn } from '../keys/arn.js';
import { epochSeconds } from '../keys/key-metadata.js';
import { resolveKey } from '../keys/resolve.js';
import { decodeMarker, limitMember, markerMember, optionalKeyIdMember, pagingFields } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: optionalKeyIdMember(), Limit: limitMember(100), Marker: markerMember() };

/**
 * ListAliases, in alias-name order. Without a KeyId it lists, as AWS does, the predefined aliases
 * (`alias/aws/<service>`) whose AWS managed key does not exist yet too, without a TargetKeyId;
 * they take their place among the stored aliases, so a marker is still an alias name.
 */
export const listAliases: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  await service.access.authorizeAccount(request, 'kms:ListAliases');
  const keyId = input.KeyId === undefined ? undefined : (await resolveKey(service, input.KeyId, 'key')).keyId;
  // A marker resumes only the listing that issued it: all aliases, or the aliases of this key.
  const scope = keyId === undefined ? 'ListAliases' : `ListAliases/${keyId}`;
  const after = decodeMarker(scope, input.Marker);
  const limit = input.Limit ?? 50;
  const page = await service.store.listAliases({ ...(keyId !== undefined ? { keyId } : {}), after, limit });
  const stored = page.items.map((a) => ({
    AliasName: a.aliasName,
    AliasArn: aliasArn(service.realm, a.aliasName),
    TargetKeyId: a.targetKeyId,
    CreationDate: epochSeconds(a.createdAt),
    LastUpdatedDate: epochSeconds(a.updatedAt),
  }));
  if (keyId !== undefined) return { Aliases: stored, ...pagingFields(scope, page.next) };
  // The predefined aliases between the marker and the end of this page of stored ones (all the
  // rest, on the last page) that are not stored: those are listed with their key.
  // (The store's next marker is the last stored alias's name.)
  const names = new Set(page.items.map((a) => a.aliasName));
  const predefined = PREDEFINED_ALIASES
    .filter((name) => (after === undefined || name > after) && (page.next === undefined || name <= page.next) && !names.has(name))
    .map((name) => ({ AliasName: name, AliasArn: aliasArn(service.realm, name) }));
  const merged = [...stored, ...predefined].sort((a, b) => (a.AliasName < b.AliasName ? -1 : a.AliasName > b.AliasName ? 1 : 0));
  const shown = merged.slice(0, limit);
  const next = merged.length > limit ? shown[shown.length - 1]!.AliasName : page.next;
  return { Aliases: shown, ...pagingFields(scope, next) };
};
