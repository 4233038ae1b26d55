import { randomBytes } from 'node:crypto';

/**
 * The header of a root-wrapped value (docs/root-keys.md, "Wrapped values"):
 *
 *   0x01 || sealed            the legacy file root key (root.key), as written before the keyring
 *   0x02 || id (8 bytes) || sealed     any root key of the keyring, named by its id
 *
 * The header is part of the AAD the provider seals under, so a value cannot be moved to another
 * root key's id.
 */
export const LEGACY_FORMAT = 0x01;
export const KEYRING_FORMAT = 0x02;
export const ROOT_KEY_ID_BYTES = 8;
/** The keyring id of the legacy file root key: it has no id bytes of its own. */
export const LEGACY_ROOT_KEY_ID = 'legacy';

/** A new root-key id: 8 random bytes, written as 16 hex digits. */
export function newRootKeyId(): string {
  return randomBytes(ROOT_KEY_ID_BYTES).toString('hex');
}

export function isRootKeyId(id: string): boolean {
  return id === LEGACY_ROOT_KEY_ID || /^[0-9a-f]{16}$/.test(id);
}

export function keyringHeader(id: string): Buffer {
  if (!/^[0-9a-f]{16}$/.test(id)) throw new TypeError(`not a keyring root-key id: ${id}`);
  return Buffer.concat([Buffer.of(KEYRING_FORMAT), Buffer.from(id, 'hex')]);
}

/** The id of the root key that made `wrapped`, or undefined if the header is not one Coffer writes. */
export function wrappedBy(wrapped: Uint8Array): string | undefined {
  if (wrapped[0] === LEGACY_FORMAT) return LEGACY_ROOT_KEY_ID;
  if (wrapped[0] === KEYRING_FORMAT && wrapped.length > 1 + ROOT_KEY_ID_BYTES) {
    return Buffer.from(wrapped.subarray(1, 1 + ROOT_KEY_ID_BYTES)).toString('hex');
  }
  return undefined;
}
