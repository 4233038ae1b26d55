/**
 * Checks on what a keyring or materials manager returned. Both may be the caller's own code, so
 * the value may be anything; the SDK's checks then name what was wrong (a KeyringError) instead
 * of failing later on a property of `undefined`, or in node:crypto on a key that is not bytes.
 */
import { KeyringError } from '../errors.js';
import type { DecryptionMaterials, EncryptedDataKey, EncryptionMaterials } from '../materials.js';
import type { AlgorithmSuite } from '../suites.js';

/** `m` is an object (materials, still to be checked field by field); `who` names what returned it. */
export function assertMaterials<M extends EncryptionMaterials | DecryptionMaterials>(m: M, who: string): M {
  if (typeof m !== 'object' || m === null) throw new KeyringError(`the ${who} returned no materials (${m === null ? 'null' : typeof m})`);
  return m;
}

/** Whether the materials carry a data key of the suite's length, as bytes. */
export function holdsDataKey<M extends EncryptionMaterials | DecryptionMaterials>(m: M, suite: AlgorithmSuite): m is M & { readonly plaintextDataKey: Uint8Array } {
  return m.plaintextDataKey instanceof Uint8Array && m.plaintextDataKey.byteLength === suite.dataKeyLength;
}

/**
 * Whether `edk` has the shape the header serializer writes (data-format/message-header.md#encrypted-data-key-entries),
 * with no field empty: the format could carry an empty one, but the official JavaScript SDK refuses
 * to read such an entry ("Malformed encrypted data key"), so every recipient using it would fail on it.
 */
export function isEncryptedDataKey(edk: EncryptedDataKey): boolean {
  return typeof edk === 'object' && edk !== null && typeof edk.providerId === 'string' && edk.providerId !== '' &&
    edk.providerInfo instanceof Uint8Array && edk.providerInfo.byteLength > 0 &&
    edk.ciphertext instanceof Uint8Array && edk.ciphertext.byteLength > 0;
}
