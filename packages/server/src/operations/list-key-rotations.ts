import { INCLUDE_KEY_MATERIAL } from '../keys/enums.js';
import { keyArn } from '../keys/arn.js';
import { epochSeconds } from '../keys/key-metadata.js';
import { resolveKey } from '../keys/resolve.js';
import { decodeMarker, keyIdMember, limitMember, markerMember, pagingFields } from '../validate/members.js';
import { enumeration, parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = {
  KeyId: keyIdMember(),
  IncludeKeyMaterial: enumeration(INCLUDE_KEY_MATERIAL),
  Limit: limitMember(1000),
  Marker: markerMember(),
};

/**
 * The key's materials, oldest first. ROTATIONS_ONLY (the default) lists the materials that
 * rotations added; ALL_KEY_MATERIAL lists the original material too.
 */
export const listKeyRotations: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:ListKeyRotations', key });
  const after = Number(decodeMarker(input.Marker) ?? 0);
  const limit = input.Limit ?? 100;
  const versions = (await service.store.listKeyVersions(key.keyId))
    .filter((v) => input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL' || v.rotationType !== undefined)
    .filter((v) => v.version > after);
  const items = versions.slice(0, limit);
  const arn = keyArn(service.realm, key.keyId);
  return {
    Rotations: items.map((v) => ({
      KeyId: arn,
      KeyMaterialId: v.materialId,
      KeyMaterialState: v.version === key.currentVersion ? 'CURRENT' : 'NON_CURRENT',
      ...(v.rotationType ? { RotationDate: epochSeconds(v.createdAt), RotationType: v.rotationType } : {}),
    })),
    ...pagingFields(versions.length > limit ? String(items[items.length - 1]!.version) : undefined),
  };
};
