import type { RequestAudit } from '../audit/request-audit.js';
import type { Service } from '../context.js';
import { KMSInternalException } from '../errors.js';
import { changeKey } from './change-key.js';
import type { RotationType } from './enums.js';
import type { KeyRecord } from './key-record.js';

export const DAY_MS = 86_400_000;
/** AWS's quota of on-demand rotations per key. */
export const MAX_ON_DEMAND_ROTATIONS = 25;

/**
 * Adds a backing-key version and makes it current: new ciphertexts use it, older versions stay
 * for decryption. The version is fresh material, or the key's pending imported material. `refuse` runs against the freshest record so its checks hold at the write.
 */
export async function rotateKey(
  service: Service,
  key: KeyRecord,
  type: RotationType,
  refuse: (current: KeyRecord) => void = () => {},
  audit?: RequestAudit,
): Promise<KeyRecord> {
  return changeKey(service, key, async (current) => {
    refuse(current);
    const version = current.currentVersion + 1;
    const pending = current.pendingMaterial;
    if (pending) {
      // Imported material rotates only to the material imported for it, never to generated material.
      if (pending.version !== version) throw new KMSInternalException(`The pending key material of ${current.keyId} is for version ${pending.version}, not ${version}.`);
      return {
        currentVersion: version,
        newVersion: {
          keyId: current.keyId, version, materialId: pending.materialId,
          wrappedMaterial: Buffer.from(pending.wrappedMaterial, 'base64'), createdAt: service.now(), rotationType: type,
        },
        importedMaterial: { expirationModel: pending.expirationModel, ...(pending.validTo !== undefined ? { validTo: pending.validTo } : {}) },
        currentMaterialDescription: pending.description,
        // The material that stops being current still binds the key: it is kept, with its expiry and description.
        earlierMaterials: [...(current.earlierMaterials ?? []), {
          version: current.currentVersion,
          ...(current.importedMaterial?.validTo !== undefined ? { validTo: current.importedMaterial.validTo } : {}),
          ...(current.currentMaterialDescription !== undefined ? { description: current.currentMaterialDescription } : {}),
        }],
        pendingMaterial: undefined,
        ...(type === 'ON_DEMAND' ? { onDemandRotations: current.onDemandRotations + 1 } : {}),
      };
    }
    const newVersion = await service.backingKeys.create(current.keyId, version, service.now(), type);
    return {
      currentVersion: version,
      newVersion,
      ...(type === 'ON_DEMAND' ? { onDemandRotations: current.onDemandRotations + 1 } : {}),
      ...(type === 'AUTOMATIC' && current.rotation
        ? { rotation: { ...current.rotation, nextRotationDate: nextRotationAfter(current.rotation, service.now()) } }
        : {}),
    };
  }, audit);
}

/**
 * The date after an automatic rotation made `now`. One made on time (the scheduler passes every
 * minute) keeps the schedule: its date plus the period. One made a day or more after its date (the
 * key was disabled or pending deletion then, or the server was down) starts the schedule again
 * from now, as AWS does for a key enabled after its date: "KMS rotates it immediately, and every
 * year thereafter" (GetKeyRotationStatus). Stepping from the missed date instead made a second
 * rotation follow the first within days.
 */
function nextRotationAfter(rotation: NonNullable<KeyRecord['rotation']>, now: number): number {
  const step = rotation.periodInDays * DAY_MS;
  return now - rotation.nextRotationDate < DAY_MS ? rotation.nextRotationDate + step : now + step;
}
