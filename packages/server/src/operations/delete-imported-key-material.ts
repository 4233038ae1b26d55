import { KMSInvalidStateException, NotFoundException, UnsupportedOperationException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import { changeKey } from '../keys/change-key.js';
import { resolveKey } from '../keys/resolve.js';
import { keyIdMember, keyMaterialIdMember } from '../validate/members.js';
import { parseShape } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), KeyMaterialId: keyMaterialIdMember() };

/**
 * DeleteImportedKeyMaterial: the key becomes PendingImport and its ciphertexts stop decrypting
 * until the same material is imported again. Coffer keeps the material's version wrapped by the
 * root key, unusable, so that it can refuse different material (AWS keeps its id for the same end).
 * A key pending deletion stays so (AWS: "this operation does not change the KMS key's state"), and
 * CancelKeyDeletion then makes it PendingImport.
 *
 * KeyMaterialId chooses the material: the current one (also when it is absent) or the one pending
 * rotation. Deleting one of the key's earlier materials on its own, which AWS allows, is refused:
 * Coffer keeps one import state per key, for its current material.
 */
export const deleteImportedKeyMaterial: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:DeleteImportedKeyMaterial', key });
  const arn = keyArn(service.realm, key.keyId);
  if (key.origin !== 'EXTERNAL') throw new UnsupportedOperationException(`${arn} origin is ${key.origin} which is not valid for this operation.`);
  if (input.KeyMaterialId !== undefined && input.KeyMaterialId === key.pendingMaterial?.materialId) {
    await changeKey(service, key, () => ({ pendingMaterial: undefined }), request.audit);
    return { KeyId: arn, KeyMaterialId: input.KeyMaterialId };
  }
  const current = await service.store.getKeyVersion(key.keyId, key.currentVersion);
  if (input.KeyMaterialId !== undefined && input.KeyMaterialId !== current?.materialId) {
    const versions = await service.store.listKeyVersions(key.keyId);
    if (versions.some((version) => version.materialId === input.KeyMaterialId)) {
      throw new UnsupportedOperationException(`Key material ${input.KeyMaterialId} of ${arn} is not the current key material; this server deletes only the current key material or the one pending rotation.`);
    }
    throw new NotFoundException(`Key material ${input.KeyMaterialId} does not exist in ${arn}.`);
  }
  await changeKey(service, key, (latest) => {
    if (latest.currentVersion !== key.currentVersion) throw new KMSInvalidStateException(`${arn} changed during the request; retry.`);
    return { importedMaterial: undefined, ...(latest.state === 'PendingDeletion' ? {} : { state: 'PendingImport' as const }) };
  }, request.audit);
  return { KeyId: arn, ...(current ? { KeyMaterialId: current.materialId } : {}) };
};
