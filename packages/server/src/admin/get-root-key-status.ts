import { KMSInternalException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { readKeyring } from '../root/keyring.js';
import { parseShape } from '../validate/shape.js';
import { keyringView } from './root-key-view.js';

/**
 * GetRootKeyStatus (Coffer admin API): the root keyring as the store holds it now: the current
 * root key, every root key still needed, and a rotation's progress. Never a secret. On a node that
 * cannot open a root key of the keyring (another node rotated to a key file not yet copied here),
 * the keyring as stored still, with `NodeProblem` saying what this node lacks: the very moment an
 * operator asks for the status. A root key this node has but cannot use now (its token is away)
 * is a `NodeProblem` too, as /readyz tells it.
 */
export const getRootKeyStatus: Operation = async (service, body, request) => {
  parseShape(body, {});
  await service.access.authorizeAccount(request, 'coffer:GetRootKeyStatus');
  if (!service.rootKeys) throw new KMSInternalException('This server has no root keyring.');
  try {
    await service.rootKeys.key.refresh();
  } catch (error) {
    const stored = await readKeyring(service.store);
    return {
      ...keyringView(stored?.record ?? service.rootKeys.key.keyring),
      NodeProblem: `This node cannot open a root key of the keyring, so it refuses requests that need the root key: ${error instanceof Error ? error.message : String(error)}`,
    };
  }
  const unusable = await service.rootKeys.health.check();
  return {
    ...keyringView(service.rootKeys.key.keyring),
    ...(unusable !== undefined ? { NodeProblem: `This node cannot use its root key now, so it refuses requests that need the root key: ${unusable}` } : {}),
  };
};
