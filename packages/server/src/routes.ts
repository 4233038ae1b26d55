import type { Operation } from './operations/operation.js';
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
]);

/** Coffer's own administration API: `X-Amz-Target: CofferAdmin.<name>`, signed and audited like KMS calls. */
export const ADMIN_OPERATIONS: ReadonlyMap<string, Operation> = new Map<string, Operation>([
]);

/** `X-Amz-Target` prefixes and the operations under each. */
export const TARGETS: ReadonlyMap<string, ReadonlyMap<string, Operation>> = new Map([
  ['TrentService', KMS_OPERATIONS],
  ['CofferAdmin', ADMIN_OPERATIONS],
]);
