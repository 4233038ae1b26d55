import type { Operation } from './operations/operation.js';
import { createAccessKey } from './admin/create-access-key.js';
import { createRole } from './admin/create-role.js';
import { createUser } from './admin/create-user.js';
import { deleteAccessKey } from './admin/delete-access-key.js';
import { deletePrincipalPolicy } from './admin/delete-principal-policy.js';
import { deleteRole } from './admin/delete-role.js';
import { deleteUser } from './admin/delete-user.js';
import { getPrincipalPolicy } from './admin/get-principal-policy.js';
import { listAccessKeys } from './admin/list-access-keys.js';
import { listPrincipalPolicies } from './admin/list-principal-policies.js';
import { listRoles } from './admin/list-roles.js';
import { listUsers } from './admin/list-users.js';
import { putPrincipalPolicy } from './admin/put-principal-policy.js';
import { updateAccessKey } from './admin/update-access-key.js';
import { cancelKeyDeletion } from './operations/cancel-key-deletion.js';
import { createAlias } from './operations/create-alias.js';
import { createKey } from './operations/create-key.js';
import { decrypt } from './operations/decrypt.js';
import { deleteAlias } from './operations/delete-alias.js';
import { describeKey } from './operations/describe-key.js';
import { disableKey } from './operations/disable-key.js';
import { disableKeyRotation } from './operations/disable-key-rotation.js';
import { enableKey } from './operations/enable-key.js';
import { enableKeyRotation } from './operations/enable-key-rotation.js';
import { encrypt } from './operations/encrypt.js';
import { generateDataKeyWithPlaintext, generateDataKeyWithoutPlaintext } from './operations/generate-data-key.js';
import { generateRandom } from './operations/generate-random.js';
import { getKeyRotationStatus } from './operations/get-key-rotation-status.js';
import { listAliases } from './operations/list-aliases.js';
import { listKeyRotations } from './operations/list-key-rotations.js';
import { listKeys } from './operations/list-keys.js';
import { listResourceTags } from './operations/list-resource-tags.js';
import { reEncrypt } from './operations/re-encrypt.js';
import { rotateKeyOnDemand } from './operations/rotate-key-on-demand.js';
import { scheduleKeyDeletion } from './operations/schedule-key-deletion.js';
import { tagResource } from './operations/tag-resource.js';
import { untagResource } from './operations/untag-resource.js';
import { updateAlias } from './operations/update-alias.js';
import { updateKeyDescription } from './operations/update-key-description.js';
import { getKeyPolicy } from './operations/get-key-policy.js';
import { listKeyPolicies } from './operations/list-key-policies.js';
import { putKeyPolicy } from './operations/put-key-policy.js';
import { createGrant } from './operations/create-grant.js';
import { listGrants } from './operations/list-grants.js';
import { listRetirableGrants } from './operations/list-retirable-grants.js';
import { retireGrant } from './operations/retire-grant.js';
import { revokeGrant } from './operations/revoke-grant.js';
import { getKeyLastUsage } from './operations/get-key-last-usage.js';
import { queryAuditRecords } from './admin/query-audit-records.js';
import { verifyAuditChain } from './admin/verify-audit-chain.js';
import { getRootKeyStatus } from './admin/get-root-key-status.js';
import { rotateRootKey } from './admin/rotate-root-key.js';
import { getRequestMetrics } from './admin/get-request-metrics.js';
import { sign } from './operations/sign.js';
import { verify } from './operations/verify.js';
import { getPublicKey } from './operations/get-public-key.js';
import { generateMac } from './operations/generate-mac.js';
import { verifyMac } from './operations/verify-mac.js';
import { generateDataKeyPairWithPlaintext, generateDataKeyPairWithoutPlaintext } from './operations/generate-data-key-pair.js';
import { deriveSharedSecret } from './operations/derive-shared-secret.js';
import { decapsulate, encapsulate } from './operations/encapsulate.js';
import { getParametersForImport } from './operations/get-parameters-for-import.js';
import { importKeyMaterial } from './operations/import-key-material.js';
import { deleteImportedKeyMaterial } from './operations/delete-imported-key-material.js';
import {
  connectCustomKeyStore, createCustomKeyStore, deleteCustomKeyStore, describeCustomKeyStores, disconnectCustomKeyStore, updateCustomKeyStore,
} from './operations/custom-key-stores.js';
import { replicateKey, updatePrimaryRegion } from './operations/multi-region.js';

/** The one table: `X-Amz-Target: TrentService.<name>` -> the operation that answers it. */
export const KMS_OPERATIONS: ReadonlyMap<string, Operation> = new Map<string, Operation>([
  ['CreateKey', createKey],
  ['DescribeKey', describeKey],
  ['ListKeys', listKeys],
  ['UpdateKeyDescription', updateKeyDescription],
  ['EnableKey', enableKey],
  ['DisableKey', disableKey],
  ['ScheduleKeyDeletion', scheduleKeyDeletion],
  ['CancelKeyDeletion', cancelKeyDeletion],
  ['CreateAlias', createAlias],
  ['UpdateAlias', updateAlias],
  ['DeleteAlias', deleteAlias],
  ['ListAliases', listAliases],
  ['TagResource', tagResource],
  ['UntagResource', untagResource],
  ['ListResourceTags', listResourceTags],
  ['Encrypt', encrypt],
  ['Decrypt', decrypt],
  ['ReEncrypt', reEncrypt],
  ['GenerateDataKey', generateDataKeyWithPlaintext],
  ['GenerateDataKeyWithoutPlaintext', generateDataKeyWithoutPlaintext],
  ['GenerateRandom', generateRandom],
  ['EnableKeyRotation', enableKeyRotation],
  ['DisableKeyRotation', disableKeyRotation],
  ['GetKeyRotationStatus', getKeyRotationStatus],
  ['RotateKeyOnDemand', rotateKeyOnDemand],
  ['ListKeyRotations', listKeyRotations],
  ['GetKeyPolicy', getKeyPolicy],
  ['ListKeyPolicies', listKeyPolicies],
  ['PutKeyPolicy', putKeyPolicy],
  ['CreateGrant', createGrant],
  ['ListGrants', listGrants],
  ['ListRetirableGrants', listRetirableGrants],
  ['RetireGrant', retireGrant],
  ['RevokeGrant', revokeGrant],
  ['GetKeyLastUsage', getKeyLastUsage],
  ['Sign', sign],
  ['Verify', verify],
  ['GetPublicKey', getPublicKey],
  ['GenerateMac', generateMac],
  ['VerifyMac', verifyMac],
  ['GenerateDataKeyPair', generateDataKeyPairWithPlaintext],
  ['GenerateDataKeyPairWithoutPlaintext', generateDataKeyPairWithoutPlaintext],
  ['DeriveSharedSecret', deriveSharedSecret],
  ['Encapsulate', encapsulate],
  ['Decapsulate', decapsulate],
  ['GetParametersForImport', getParametersForImport],
  ['ImportKeyMaterial', importKeyMaterial],
  ['DeleteImportedKeyMaterial', deleteImportedKeyMaterial],
  ['ReplicateKey', replicateKey],
  ['UpdatePrimaryRegion', updatePrimaryRegion],
  ['DescribeCustomKeyStores', describeCustomKeyStores],
  ['CreateCustomKeyStore', createCustomKeyStore],
  ['ConnectCustomKeyStore', connectCustomKeyStore],
  ['DisconnectCustomKeyStore', disconnectCustomKeyStore],
  ['DeleteCustomKeyStore', deleteCustomKeyStore],
  ['UpdateCustomKeyStore', updateCustomKeyStore],
]);

/**
 * Changes to principals, access keys and identity policies take turns, on every node
 * (Store.serialize): each checks what it is about to change (the root's last active key, two keys
 * per principal, names unique without regard to case, the principal it attaches to) and two at
 * once could each pass the check the other breaks.
 */
const inTurn = (operation: Operation): Operation => (service, body, request) =>
  service.store.serialize('principals', () => operation(service, body, request));

/** Coffer's own administration API: `X-Amz-Target: CofferAdmin.<name>`, signed and audited like KMS calls. */
export const ADMIN_OPERATIONS: ReadonlyMap<string, Operation> = new Map<string, Operation>([
  ['CreateUser', inTurn(createUser)],
  ['DeleteUser', inTurn(deleteUser)],
  ['ListUsers', listUsers],
  ['CreateRole', inTurn(createRole)],
  ['DeleteRole', inTurn(deleteRole)],
  ['ListRoles', listRoles],
  ['CreateAccessKey', inTurn(createAccessKey)],
  ['ListAccessKeys', listAccessKeys],
  ['UpdateAccessKey', inTurn(updateAccessKey)],
  ['DeleteAccessKey', inTurn(deleteAccessKey)],
  ['PutPrincipalPolicy', inTurn(putPrincipalPolicy)],
  ['GetPrincipalPolicy', getPrincipalPolicy],
  ['ListPrincipalPolicies', listPrincipalPolicies],
  ['DeletePrincipalPolicy', inTurn(deletePrincipalPolicy)],
  ['QueryAuditRecords', queryAuditRecords],
  ['VerifyAuditChain', verifyAuditChain],
  ['RotateRootKey', rotateRootKey],
  ['GetRootKeyStatus', getRootKeyStatus],
  ['GetRequestMetrics', getRequestMetrics],
]);

/** `X-Amz-Target` prefixes and the operations under each. */
export const TARGETS: ReadonlyMap<string, ReadonlyMap<string, Operation>> = new Map([
  ['TrentService', KMS_OPERATIONS],
  ['CofferAdmin', ADMIN_OPERATIONS],
]);
