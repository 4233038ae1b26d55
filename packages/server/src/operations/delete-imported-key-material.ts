import { UnsupportedOperationException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import { changeKey } from '../keys/change-key.js';
import { resolveKey } from '../keys/resolve.js';
import { assertNotPendingDeletion } from '../keys/states.js';
import { keyIdMember } from '../validate/members.js';
import { parseShape, string } from '../validate/shape.js';
import type { Operation } from './operation.js';

const shape = { KeyId: keyIdMember(), KeyMaterialId: string({ min: 64, max: 64 }) };

/**
 * DeleteImportedKeyMaterial: the key becomes PendingImport and its ciphertexts stop decrypting
 * until the same material is imported again. Coffer keeps the material's version wrapped by the
 * root key, unusable, so that it can refuse different material (AWS keeps its id for the same end).
 */
export const deleteImportedKeyMaterial: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  const key = await resolveKey(service, input.KeyId, 'key');
  await service.access.authorizeKey(request, { action: 'kms:DeleteImportedKeyMaterial', key });
  const arn = keyArn(service.realm, key.keyId);
  if (key.origin !== 'EXTERNAL') throw new UnsupportedOperationException(`${arn} origin is ${key.origin} which is not valid for this operation.`);
  // Naming the material pending rotation deletes only it; the key keeps its current material.
  if (input.KeyMaterialId !== undefined && input.KeyMaterialId === key.pendingMaterial?.materialId) {
    await changeKey(service, key, (current) => {
      assertNotPendingDeletion(service.realm, current);
      return { pendingMaterial: undefined };
    }, request.audit);
    return { KeyId: arn, KeyMaterialId: input.KeyMaterialId };
  }
  await changeKey(service, key, (current) => {
    assertNotPendingDeletion(service.realm, current);
    return { state: 'PendingImport', importedMaterial: undefined };
  }, request.audit);
  const current = await service.store.getKeyVersion(key.keyId, key.currentVersion);
  return { KeyId: arn, ...(current ? { KeyMaterialId: current.materialId } : {}) };
};
