import { InvalidMarkerException, UnsupportedOperationException } from '../errors.js';
import { INCLUDE_KEY_MATERIAL, type ExpirationModel } from '../keys/enums.js';
import { keyArn } from '../keys/arn.js';
import { earlierMaterial, pendingExpired } from '../keys/import.js';
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
 * rotations added; ALL_KEY_MATERIAL lists the original material too, and imported material
 * pending rotation.
 */
export const listKeyRotations: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:ListKeyRotations', key });
  // A marker resumes only this listing of this key.
  const scope = `ListKeyRotations/${key.keyId}`;
  const after = rotationPosition(decodeMarker(scope, input.Marker));
  const limit = input.Limit ?? 100;
  const all = input.IncludeKeyMaterial === 'ALL_KEY_MATERIAL';
  const arn = keyArn(service.realm, key.keyId);
  // AWS: IncludeKeyMaterial "can only be used with KMS keys that support automatic or on-demand key rotation".
  if (input.IncludeKeyMaterial !== undefined && key.keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new UnsupportedOperationException(`${arn} key spec ${key.keySpec} is not valid for IncludeKeyMaterial, which only keys that rotate take.`);
  }
  const imported = (model: ExpirationModel, validTo: number | undefined, state = 'IMPORTED') => ({
    ImportState: state, ExpirationModel: model, ...(validTo !== undefined ? { ValidTo: epochSeconds(validTo) } : {}),
  });
  // AWS: KeyMaterialDescription "is only present for symmetric encryption KMS keys with EXTERNAL
  // origin", and only such a key's materials have one; each entry shows the one its material has.
  const described = (description: string | undefined) => (description !== undefined ? { KeyMaterialDescription: description } : {});
  // AWS: ImportState tells whether the material is imported now. The current material of a key
  // pending import (deleted, or past its ValidTo) is PENDING_IMPORT, also while pending deletion.
  const current = key.importedMaterial;
  const currentImport = key.origin !== 'EXTERNAL' ? {}
    : !current ? { ImportState: 'PENDING_IMPORT' }
    : imported(current.expirationModel, current.validTo, current.validTo !== undefined && current.validTo <= service.now() ? 'PENDING_IMPORT' : 'IMPORTED');
  const currentDescription = key.origin === 'EXTERNAL' ? described(key.currentMaterialDescription) : {};
  // An earlier material is imported unless it expired (it cannot be deleted on its own here). One
  // that became earlier before Coffer kept them has no known expiry: nothing is said of it.
  const earlierImport = (version: number) => {
    const earlier = earlierMaterial(key, version);
    if (earlier === undefined) return {};
    const { validTo } = earlier;
    return {
      ...described(earlier.description),
      ...(validTo === undefined ? imported('KEY_MATERIAL_DOES_NOT_EXPIRE', undefined)
        : imported('KEY_MATERIAL_EXPIRES', validTo, validTo <= service.now() ? 'PENDING_IMPORT' : 'IMPORTED')),
    };
  };
  const entries: { version: number; entry: Record<string, unknown> }[] = (await service.store.listKeyVersions(key.keyId))
    .filter((v) => all || v.rotationType !== undefined)
    .map((v) => ({
      version: v.version,
      entry: {
        KeyId: arn,
        KeyMaterialId: v.materialId,
        KeyMaterialState: v.version === key.currentVersion ? 'CURRENT' : 'NON_CURRENT',
        ...(v.version === key.currentVersion ? { ...currentDescription, ...currentImport } : key.origin === 'EXTERNAL' ? earlierImport(v.version) : {}),
        ...(v.rotationType ? { RotationDate: epochSeconds(v.createdAt), RotationType: v.rotationType } : {}),
      },
    }));
  // Material imported to rotate to is not a rotation yet: listed with all material, without a rotation date.
  const pending = key.pendingMaterial;
  if (pending && all) {
    entries.push({
      version: pending.version,
      entry: {
        KeyId: arn, KeyMaterialId: pending.materialId, KeyMaterialState: 'PENDING_ROTATION',
        ...described(pending.description),
        ...imported(pending.expirationModel, pending.validTo, pendingExpired(key, service.now()) ? 'PENDING_IMPORT' : 'IMPORTED'),
      },
    });
  }
  const listed = entries.filter((e) => e.version > after);
  const items = listed.slice(0, limit);
  return {
    Rotations: items.map((e) => e.entry),
    ...pagingFields(scope, listed.length > limit ? String(items[items.length - 1]!.version) : undefined),
  };
};

/** The key version a ListKeyRotations marker resumes after (0: from the start). */
function rotationPosition(after: string | undefined): number {
  if (after === undefined) return 0;
  const version = Number(after);
  if (!/^(?:0|[1-9][0-9]*)$/.test(after) || !Number.isSafeInteger(version)) throw new InvalidMarkerException('The marker is not one this server issued.');
  return version;
}
