/**
 * The keyring interface (framework/keyring-interface.md). Two operations, both asynchronous so
 * that keyrings backed by a remote service (the KMS keyring) fit the same shape.
 *
 * OnEncrypt: when the materials hold no data key, generate one and wrap it; otherwise wrap the
 * existing one. Either way append the resulting EDK(s) and return new materials.
 * OnDecrypt: given materials without a data key, return materials carrying the first data key
 * this keyring can unwrap from `encryptedDataKeys`, or throw (never return half-set materials).
 */
import type { DecryptionMaterials, EncryptedDataKey, EncryptionMaterials } from '../materials.js';

export interface Keyring {
  onEncrypt(materials: EncryptionMaterials): Promise<EncryptionMaterials>;
  onDecrypt(materials: DecryptionMaterials, encryptedDataKeys: readonly EncryptedDataKey[]): Promise<DecryptionMaterials>;
}

/** What an error says, for another error's message: its name and message, bounded. */
export function describeError(error: unknown): string {
  // The AWS SDK for JavaScript fills a message the service did not send with "UnknownError" (AWS
  // KMS sends none with InvalidCiphertextException): that is no message, not an error's name.
  const said = error instanceof Error && error.message !== 'UnknownError' ? error.message : '';
  const text = error instanceof Error ? (said === '' ? error.name : `${error.name}: ${said}`) : String(error);
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * The message of a keyring that tried and failed: `what`, then what the first attempts said, so
 * that a caller sees which keys failed and why without walking the causes (which are kept).
 */
export function triedAndFailed(what: string, errors: readonly unknown[]): string {
  if (errors.length === 0) return what;
  const shown = errors.slice(0, 5).map((e) => (e instanceof Error ? e.message : String(e)).slice(0, 1000));
  return `${what}: ${shown.join('; ')}${errors.length > shown.length ? `; and ${errors.length - shown.length} more` : ''}`;
}

/** Provider IDs beginning with this are reserved for AWS KMS keyrings (framework/keyring-interface.md). */
export const KMS_PROVIDER_PREFIX = 'aws-kms';

/** A keyring constructor's argument is an options object: anything else is misuse, said so rather than met as a property of null. */
export function assertOptions(options: unknown, keyring: string): void {
  if (typeof options !== 'object' || options === null) throw new TypeError(`${keyring} takes an options object`);
}

export function assertRawKeyNamespace(keyNamespace: unknown, keyName: unknown): void {
  if (typeof keyNamespace !== 'string' || typeof keyName !== 'string') {
    throw new TypeError('keyNamespace and keyName must be strings');
  }
  // The format would carry empty ones, but the official SDKs refuse to read an EDK with an empty
  // provider ID or info: every recipient's decryption of such a message would fail there.
  if (keyNamespace === '' || keyName === '') throw new TypeError('keyNamespace and keyName must not be empty');
  // Both are written as UTF-8, which has no form for a lone surrogate (it becomes U+FFFD): the
  // message would name another keyring than the one that wrote it, and this one could not read it.
  if (!isWellFormed(keyNamespace) || !isWellFormed(keyName)) {
    throw new TypeError('keyNamespace and keyName must be well-formed Unicode (no lone surrogates)');
  }
  if (keyNamespace.startsWith(KMS_PROVIDER_PREFIX)) {
    throw new TypeError(`key namespace must not begin with "${KMS_PROVIDER_PREFIX}"`);
  }
}

const isWellFormed = (text: string): boolean => !/\p{Cs}/u.test(text);
