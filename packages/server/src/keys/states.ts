import { DisabledException, KMSInvalidStateException } from '../errors.js';
import type { Realm } from './arn.js';
import { keyArn } from './arn.js';
import type { KeyRecord } from './key-record.js';

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
