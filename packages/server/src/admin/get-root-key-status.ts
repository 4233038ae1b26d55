import { KMSInternalException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { parseShape } from '../validate/shape.js';
import { keyringView } from './root-key-view.js';

/**
 * GetRootKeyStatus (Coffer admin API): the root keyring as the store holds it now: the current
 * root key, every root key still needed, and a rotation's progress. Never a secret.
 */
export const getRootKeyStatus: Operation = async (service, body, request) => {
  parseShape(body, {});
  await service.access.authorizeAccount(request, 'coffer:GetRootKeyStatus');
  if (!service.rootKeys) throw new KMSInternalException('This server has no root keyring.');
  await service.rootKeys.key.refresh();
  return keyringView(service.rootKeys.key.keyring);
};
