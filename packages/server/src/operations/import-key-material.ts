import { timingSafeEqual } from 'node:crypto';
import { IncorrectKeyMaterialException, KMSInvalidStateException, SerializationException, UnsupportedOperationException, ValidationException, type KmsError } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import { importedMaterialId } from '../keys/backing-keys.js';
import { changeKey } from '../keys/change-key.js';
import type { RequestAudit } from '../audit/request-audit.js';
import type { Service } from '../context.js';
import { EXPIRATION_MODELS, IMPORT_TYPES, type ExpirationModel, type KeySpec } from '../keys/enums.js';
import type { KeyRecord } from '../keys/key-record.js';
import { earlierMaterial, openImportedMaterial, pendingExpired } from '../keys/import.js';
import { resolveKey } from '../keys/resolve.js';
import { specInfo } from '../keys/specs/index.js';
import { DAY_MS } from '../keys/rotation.js';
import { keyIdMember, keyMaterialIdMember } from '../validate/members.js';
import { blob, enumeration, parseShape, required, string, type Member } from '../validate/shape.js';
import type { Operation } from './operation.js';

/** A timestamp on the JSON wire: epoch seconds, possibly fractional; kept as epoch ms. */
const timestamp = (): Member<number | undefined> => ({
  parse(value, path) {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new SerializationException(`Expected a timestamp for member '${path}'`);
    return Math.round(value * 1000);
  },
});

const shape = {
  KeyId: keyIdMember(),
  ImportToken: required(blob({ min: 1, max: 6144 })),
  EncryptedKeyMaterial: required(blob({ min: 1, max: 6144 })),
  ValidTo: timestamp(),
  ExpirationModel: enumeration(EXPIRATION_MODELS),
  ImportType: enumeration(IMPORT_TYPES),
  KeyMaterialDescription: string({ min: 0, max: 256, pattern: '^[a-zA-Z0-9:/_\\s.-]+$' }),
  KeyMaterialId: keyMaterialIdMember(),
};

/** AWS's words for a re-import of other bytes than the material it names (or the current one). */
const NOT_THE_IMPORTED_MATERIAL = 'The key material is not the key material that was previously imported into this KMS key.';

/** The latest ValidTo AWS takes: 365 days from now. */
const MAX_VALID_TO_DAYS = 365;

/**
 * ImportKeyMaterial: the first import makes the key Enabled; a later one (after expiry or
 * DeleteImportedKeyMaterial) must bring the same material, which is then usable again with every
 * ciphertext made under it. Different material is IncorrectKeyMaterialException, as in AWS.
 * On a symmetric key that has material, ImportType NEW_KEY_MATERIAL imports material to rotate to:
 * it waits, PENDING_ROTATION, until RotateKeyOnDemand makes it current.
 * Every material keeps its KeyMaterialDescription: AWS "retains the value you specified when you
 * last imported the same key material" when a re-import gives none.
 */
export const importKeyMaterial: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const expirationModel = input.ExpirationModel ?? 'KEY_MATERIAL_EXPIRES';
  if (expirationModel === 'KEY_MATERIAL_EXPIRES' && input.ValidTo === undefined) {
    throw new ValidationException('A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES');
  }
  if (expirationModel === 'KEY_MATERIAL_DOES_NOT_EXPIRE' && input.ValidTo !== undefined) {
    throw new ValidationException('A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE');
  }
  if (input.ImportType === 'NEW_KEY_MATERIAL' && input.KeyMaterialId !== undefined) {
    throw new ValidationException('A KeyMaterialId must not be set if the ImportType is NEW_KEY_MATERIAL');
  }
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, {
    action: 'kms:ImportKeyMaterial', key,
    // Only the parameters given: the KMS guide's kms:ExpirationModel example allows an import "only
    // when the request does not have an ExpirationModel parameter" with Null true.
    context: {
      ...(input.ExpirationModel !== undefined ? { 'kms:expirationmodel': input.ExpirationModel } : {}),
      ...(input.ValidTo !== undefined ? { 'kms:validto': Math.floor(input.ValidTo / 1000) } : {}),
    },
  });
  const arn = keyArn(service.realm, key.keyId);
  if (key.origin !== 'EXTERNAL') throw new UnsupportedOperationException(`${arn} origin is ${key.origin} which is not valid for this operation.`);
  // An asymmetric or HMAC key has one key material for life: nothing to tell new from existing, or to name.
  const symmetricOnly = (['ImportType', 'KeyMaterialId', 'KeyMaterialDescription'] as const).find((member) => input[member] !== undefined);
  if (key.keySpec !== 'SYMMETRIC_DEFAULT' && symmetricOnly !== undefined) {
    throw new UnsupportedOperationException(`${arn} key spec ${key.keySpec} is not valid for ${symmetricOnly}: only symmetric encryption keys have more than one key material.`);
  }
  const now = service.now();
  if (input.ValidTo !== undefined && (input.ValidTo <= now || input.ValidTo > now + MAX_VALID_TO_DAYS * DAY_MS)) {
    throw new ValidationException(`ValidTo must be in the future and at most ${MAX_VALID_TO_DAYS} days from now.`);
  }
  const opened = await openImportedMaterial(service, key.keyId, input.ImportToken, input.EncryptedKeyMaterial);
  let material: Buffer | undefined;
  try {
    material = key.keySpec === 'SYMMETRIC_DEFAULT'
      ? (opened.length === 32 ? opened : undefined)
      : specInfo(key.keySpec).family.importable(opened);
    if (!material) throw new IncorrectKeyMaterialException(`The key material is not a ${key.keySpec} key.`);
    const options: ImportOptions = { expirationModel, ...(input.ValidTo !== undefined ? { validTo: input.ValidTo } : {}), description: input.KeyMaterialDescription };
    // Imports into one key at once: the one that loses the compare-and-set is judged again against
    // what the winner made (the same material is then a re-import, other material refused), as a
    // client sending it a moment later would be.
    for (let target = key, attempt = 1; ; attempt++) {
      try {
        return await importInto(service, target, material, options, input, request.audit);
      } catch (error) {
        if (!(error instanceof KeyChanged)) throw error;
        if (attempt === MAX_ATTEMPTS) throw new KMSInvalidStateException(`${arn} kept changing during the import; retry.`);
        target = error.current;
      }
    }
  } finally {
    opened.fill(0);
    material?.fill(0);
  }
};

/** What an import sets on the material it brings, whichever material that is. */
interface ImportOptions {
  readonly expirationModel: ExpirationModel;
  readonly validTo?: number;
  /** Absent: the material keeps the description it had. */
  readonly description?: string | undefined;
}

/** The expiry fields of a material's entry, as `options` give them. */
const expiryOf = (options: ImportOptions) => ({ expirationModel: options.expirationModel, ...(options.validTo !== undefined ? { validTo: options.validTo } : {}) });

/** A material's description after a re-import: the one given, else the one it had. */
function descriptionOf(options: ImportOptions, before: string | undefined): { description?: string } {
  const description = options.description ?? before;
  return description !== undefined ? { description } : {};
}

/** How many times an import is judged again after losing a race with another change to the key. */
const MAX_ATTEMPTS = 5;

/** The key's material changed (another import or a rotation) between reading the key and writing it. */
class KeyChanged extends Error {
  constructor(readonly current: KeyRecord) {
    super('the key changed during the import');
  }
}

/** One attempt at the import into `key` as read; throws KeyChanged if the key's versions moved meanwhile. */
async function importInto(
  service: Service, key: KeyRecord, material: Buffer, options: ImportOptions,
  input: { ImportType?: string | undefined; KeyMaterialId?: string | undefined },
  audit: RequestAudit | undefined,
): Promise<Record<string, unknown>> {
  const arn = keyArn(service.realm, key.keyId);
  // The first import makes the key's material whatever ImportType says; later, NEW_KEY_MATERIAL adds material to rotate to.
  if (input.ImportType === 'NEW_KEY_MATERIAL' && key.currentVersion > 0) return importNewMaterial(service, key, material, options, audit);
  // Wrapped before the compare-and-set, which must not await the root key on every retry.
  const firstVersion = key.currentVersion === 0 ? await service.backingKeys.create(key.keyId, 1, service.now(), undefined, material) : undefined;
  const previous = key.currentVersion === 0 ? undefined : await service.backingKeys.version(key.keyId, key.currentVersion);
  // Re-importing names, if anything, the material it brings back: the current one, the one pending
  // rotation (to change its expiry or description), or an earlier one that expired.
  if (input.KeyMaterialId !== undefined && input.KeyMaterialId !== previous?.materialId) {
    if (input.KeyMaterialId === key.pendingMaterial?.materialId) return reimportPending(service, key, material, options, audit);
    return reimportEarlier(service, key, material, input.KeyMaterialId, options, audit);
  }
  if (previous && !sameKey(key.keySpec, previous.material, material)) {
    // No id named, other bytes than the current material's: AWS derives the id from the bytes
    // (ImportKeyMaterial, KeyMaterialId), so bytes of the key's pending or an earlier material
    // bring that one back, as naming its id does. Only symmetric material has such an id.
    const derived = key.keySpec === 'SYMMETRIC_DEFAULT' && input.KeyMaterialId === undefined ? importedMaterialId(key.keyId, material) : undefined;
    if (derived !== undefined && derived === key.pendingMaterial?.materialId) return reimportPending(service, key, material, options, audit);
    if (derived !== undefined && (await service.store.listKeyVersions(key.keyId)).some((v) => v.materialId === derived && v.version < key.currentVersion)) {
      return reimportEarlier(service, key, material, derived, options, audit);
    }
    throw new IncorrectKeyMaterialException(NOT_THE_IMPORTED_MATERIAL);
  }
  await changeKey(service, key, (current) => {
    refusePendingDeletion(current, arn);
    if (current.currentVersion !== key.currentVersion) throw new KeyChanged(current);
    return {
      importedMaterial: expiryOf(options),
      currentMaterialDescription: options.description ?? current.currentMaterialDescription,
      ...(current.state === 'PendingImport' ? { state: 'Enabled' as const } : {}),
      ...(firstVersion ? { currentVersion: 1, newVersion: firstVersion } : {}),
    };
  }, audit);
  const materialId = firstVersion?.materialId ?? previous?.materialId;
  return { KeyId: arn, ...(materialId ? { KeyMaterialId: materialId } : {}) };
}

/**
 * Re-imports an earlier (NON_CURRENT) material named by its KeyMaterialId: it must be that
 * material, and its new expiry replaces the old one, so a key made PendingImport by that
 * material's expiry can be used again. The key's state is otherwise left as it is.
 */
async function reimportEarlier(
  service: Service, key: KeyRecord, material: Buffer, materialId: string, options: ImportOptions,
  audit: RequestAudit | undefined,
): Promise<Record<string, unknown>> {
  const arn = keyArn(service.realm, key.keyId);
  const earlier = (await service.store.listKeyVersions(key.keyId)).find((v) => v.materialId === materialId && v.version < key.currentVersion);
  if (!earlier) throw new IncorrectKeyMaterialException(`Key material ${materialId} is not a key material of ${arn}.`);
  const stored = await service.backingKeys.version(key.keyId, earlier.version);
  if (!stored || !sameKey(key.keySpec, stored.material, material)) {
    throw new IncorrectKeyMaterialException(NOT_THE_IMPORTED_MATERIAL);
  }
  await changeKey(service, key, (current) => {
    refusePendingDeletion(current, arn);
    const others = (current.earlierMaterials ?? []).filter((e) => e.version !== earlier.version);
    const before = earlierMaterial(current, earlier.version)?.description;
    return { earlierMaterials: [...others, { version: earlier.version, ...(options.validTo !== undefined ? { validTo: options.validTo } : {}), ...descriptionOf(options, before) }] };
  }, audit);
  return { KeyId: arn, KeyMaterialId: materialId };
}

/**
 * Re-imports the material pending rotation, named by its KeyMaterialId: AWS lets material be
 * "reimported to change the expiration model or expiration date", and the pending material is one
 * of the key's (ListKeyRotations lists it). It must be that material (its id comes from the key
 * and the bytes); its expiry and description are replaced and it stays pending, also when it had
 * expired (which brings it back to be rotated to).
 */
async function reimportPending(
  service: Service, key: KeyRecord, material: Buffer, options: ImportOptions,
  audit: RequestAudit | undefined,
): Promise<Record<string, unknown>> {
  const arn = keyArn(service.realm, key.keyId);
  const materialId = key.pendingMaterial!.materialId;
  if (importedMaterialId(key.keyId, material) !== materialId) {
    throw new IncorrectKeyMaterialException(NOT_THE_IMPORTED_MATERIAL);
  }
  await changeKey(service, key, (current) => {
    refusePendingDeletion(current, arn);
    // Rotated to meanwhile, it is the current material now: judged again as such.
    if (current.currentVersion !== key.currentVersion) throw new KeyChanged(current);
    const pending = current.pendingMaterial;
    if (pending?.materialId !== materialId) throw new IncorrectKeyMaterialException(`Key material ${materialId} is not a key material of ${arn}.`);
    // Its old ValidTo goes even when the new expiry has none (KEY_MATERIAL_DOES_NOT_EXPIRE).
    const { validTo: _replaced, description, ...kept } = pending;
    return { pendingMaterial: { ...kept, ...expiryOf(options), ...descriptionOf(options, description) } };
  }, audit);
  return { KeyId: arn, KeyMaterialId: materialId };
}

/**
 * NEW_KEY_MATERIAL on a key that has material: the material is wrapped for the next version and
 * kept in the key record as pending until RotateKeyOnDemand. One pending material at a time, as in
 * AWS; the refused material's id is the one it would have had.
 */
async function importNewMaterial(
  service: Service, key: KeyRecord, material: Buffer, options: ImportOptions,
  audit: RequestAudit | undefined,
): Promise<Record<string, unknown>> {
  const arn = keyArn(service.realm, key.keyId);
  // New material must be new: the same bytes would make a rotation that changes nothing, under a second id.
  const known = await knownMaterialId(service, key, material);
  if (known !== undefined) throw alreadyKeyMaterial(known, arn);
  const version = key.currentVersion + 1;
  const wrapped = await service.backingKeys.create(key.keyId, version, service.now(), 'ON_DEMAND', material);
  await changeKey(service, key, (current) => {
    refusePendingDeletion(current, arn);
    // Expired pending material is gone (keys/import.ts, pendingExpired): new material takes its place.
    if (current.pendingMaterial && !pendingExpired(current, service.now())) {
      // The same bytes imported at once by another request: answered as they are one after the other.
      if (current.pendingMaterial.materialId === wrapped.materialId) throw alreadyKeyMaterial(wrapped.materialId, arn);
      throw new KMSInvalidStateException(`New key material (id: ${wrapped.materialId}) cannot be imported into KMS key ${arn}, because another key material (id: ${current.pendingMaterial.materialId}) is pending rotation.`);
    }
    if (current.currentVersion !== key.currentVersion) throw new KeyChanged(current);
    // The same material again after it expired keeps its description unless given another.
    const before = current.pendingMaterial?.materialId === wrapped.materialId ? current.pendingMaterial.description : undefined;
    return {
      pendingMaterial: {
        version, materialId: wrapped.materialId, wrappedMaterial: Buffer.from(wrapped.wrappedMaterial).toString('base64'),
        importedAt: wrapped.createdAt, ...expiryOf(options), ...descriptionOf(options, before),
      },
    };
  }, audit);
  return { KeyId: arn, KeyMaterialId: wrapped.materialId };
}

/** Every import's write refuses a key scheduled for deletion meanwhile (checked again inside the compare-and-set). */
function refusePendingDeletion(current: KeyRecord, arn: string): void {
  if (current.state === 'PendingDeletion') throw new KMSInvalidStateException(`${arn} is pending deletion.`);
}

function alreadyKeyMaterial(materialId: string, arn: string): KmsError {
  return new IncorrectKeyMaterialException(`The key material is already key material ${materialId} of ${arn}; new key material must differ from every key material of the KMS key, the one pending rotation included.`);
}

const sameBytes = (a: Buffer, b: Buffer): boolean => a.length === b.length && timingSafeEqual(a, b);

/**
 * Whether imported `material` (in the stored form) is the key `stored` holds. A private key is
 * stored in one canonical form (keys/specs/pkcs8.ts), so the same key compares equal however it
 * was encoded; material stored before that form was canonical is put in it first.
 */
/**
 * The id of the key material of `key` (any version) that `material` is, if any. Compared by bytes:
 * material imported before ids came from the material (keys/backing-keys.ts) has an id of its own.
 */
async function knownMaterialId(service: Service, key: KeyRecord, material: Buffer): Promise<string | undefined> {
  for (const { version, materialId } of await service.store.listKeyVersions(key.keyId)) {
    const stored = await service.backingKeys.version(key.keyId, version);
    if (stored && sameBytes(stored.material, material)) return materialId;
  }
  // The material pending rotation, while it is (expired, it is gone, and the same bytes may come again).
  const pending = key.pendingMaterial;
  if (pending && !pendingExpired(key, service.now()) && pending.materialId === importedMaterialId(key.keyId, material)) return pending.materialId;
  return undefined;
}

function sameKey(spec: KeySpec, stored: Buffer, material: Buffer): boolean {
  if (sameBytes(stored, material)) return true;
  if (spec === 'SYMMETRIC_DEFAULT') return false;
  const canonical = specInfo(spec).family.importable(stored);
  try {
    return canonical !== undefined && sameBytes(canonical, material);
  } finally {
    canonical?.fill(0);
  }
}
