import { DisabledException, KMSInvalidStateException } from '../errors.js';
import type { Realm } from './arn.js';
import { keyArn } from './arn.js';
import type { KeyRecord } from './key-record.js';
import { KeyConditionFailedError, type KeyCondition } from '../store/store.js';

/** Why a key in this state refuses an operation that needs it enabled. */
function stateError(realm: Realm, key: KeyRecord): Error {
  const arn = keyArn(realm, key.keyId);
  switch (key.state) {
    case 'Disabled': return new DisabledException(`${arn} is disabled.`);
    case 'PendingDeletion': return new KMSInvalidStateException(`${arn} is pending deletion.`);
    case 'PendingImport': return new KMSInvalidStateException(`${arn} is pending import.`);
    default: return new KMSInvalidStateException(`${arn} is ${key.state}.`);
  }
}

/** Cryptographic operations and rotation need an Enabled key. */
export function assertEnabled(realm: Realm, key: KeyRecord): void {
  if (key.state !== 'Enabled') throw stateError(realm, key);
}

/** Management operations (tags, description, aliases, EnableKey) are refused only while pending deletion. */
export function assertNotPendingDeletion(realm: Realm, key: KeyRecord): void {
  if (key.state === 'PendingDeletion') throw stateError(realm, key);
}

/** EnableKey and DisableKey need material: a key pending import is refused. */
export function assertNotPendingImport(realm: Realm, key: KeyRecord): void {
  if (key.state === 'PendingImport') throw stateError(realm, key);
}

/** assertEnabled as the store checks it when a change commits (a grant). */
export const stillEnabled = (keyId: string): KeyCondition => ({ keyId, holds: (key) => key.state === 'Enabled' });

/** assertNotPendingDeletion as the store checks it when a change commits (an alias). */
export const stillNotPendingDeletion = (keyId: string): KeyCondition => ({ keyId, holds: (key) => key.state !== 'PendingDeletion' });

/** Attempts of a change whose key keeps changing under it; past them, the request fails (500). */
const KEY_CONDITION_ATTEMPTS = 5;

/**
 * Runs `attempt` (a key's state checked, then a change written on a KeyCondition that repeats the
 * check) again when the key changed between the two: the next attempt reads the key anew, so a key
 * scheduled for deletion or disabled meanwhile, on any node, is refused in its state's words.
 */
export async function retryingWhileKeyChanges<T>(attempt: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await attempt();
    } catch (error) {
      if (!(error instanceof KeyConditionFailedError) || tries === KEY_CONDITION_ATTEMPTS) throw error;
    }
  }
}
