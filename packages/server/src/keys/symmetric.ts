import { AccessDeniedException, IncorrectKeyException, InvalidCiphertextException, InvalidKeyUsageException } from '../errors.js';
import type { Service } from '../context.js';
import { keyArn } from './arn.js';
import { openBlob, parseBlob, sealBlob } from './ciphertext-blob.js';
import { canonicalEncryptionContext, type EncryptionContext } from './encryption-context.js';
import type { EncryptionAlgorithm } from './enums.js';
import { effectiveKey } from './import.js';
import { KEY_ID, type KeyRecord } from './key-record.js';
import { resolveKeyReference } from './resolve.js';
import { assertEnabled } from './states.js';

/** Encryption with a symmetric key: its usage and algorithm checked, its newest version used. */
export interface Sealed {
  readonly ciphertext: Buffer;
  readonly materialId: string;
}

export function assertSymmetricEncryption(service: Service, key: KeyRecord, operation: string, algorithm?: EncryptionAlgorithm): void {
  assertEncryptionUsage(service, key, operation);
  // An RSA key here was named without an RSA algorithm: as AWS, the algorithm is what is refused.
  if ((algorithm !== undefined && algorithm !== 'SYMMETRIC_DEFAULT') || key.keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new InvalidKeyUsageException(`Algorithm ${algorithm ?? 'SYMMETRIC_DEFAULT'} is incompatible with key spec ${key.keySpec}.`);
  }
}

/**
 * The key of a GenerateDataKey or GenerateDataKeyPair call (with or without plaintext): only a
 * symmetric encryption key wraps data keys.
 */
export function assertDataKeyWrapping(service: Service, key: KeyRecord, operation: string): void {
  assertEncryptionUsage(service, key, operation);
  if (key.keySpec !== 'SYMMETRIC_DEFAULT') {
    throw new InvalidKeyUsageException(`${keyArn(service.realm, key.keyId)} key KeySpec is ${key.keySpec} which is not valid for ${operation}.`);
  }
}

function assertEncryptionUsage(service: Service, key: KeyRecord, operation: string): void {
  if (key.keyUsage !== 'ENCRYPT_DECRYPT') {
    throw new InvalidKeyUsageException(`${keyArn(service.realm, key.keyId)} key usage is ${key.keyUsage} which is not valid for ${operation}.`);
  }
}

/** Seals `plaintext` under the key's current version. The key must already be checked Enabled. */
export async function sealWithKey(service: Service, key: KeyRecord, plaintext: Uint8Array, context: EncryptionContext | undefined): Promise<Sealed> {
  const aad = canonicalEncryptionContext(context);
  const version = await service.backingKeys.version(key.keyId, key.currentVersion);
  if (!version) throw new Error(`key ${key.keyId} has no version ${key.currentVersion}`);
  return { ciphertext: sealBlob(version.material, { keyId: key.keyId, version: key.currentVersion }, plaintext, aad), materialId: version.materialId };
}

export interface Opened {
  readonly key: KeyRecord;
  readonly plaintext: Buffer;
  readonly materialId: string;
}

/**
 * The stored key a blob's header names. A name that is a key id as this server makes them, of a
 * key it does not have (never made here, made by another server, or deleted), is answered as AWS
 * KMS answers a ciphertext of a key that does not exist: AccessDeniedException in AWS's words
 * (which leave open whether the key is missing or refused). Any other name is a damaged blob:
 * InvalidCiphertextException, as every blob that does not open.
 */
export async function storedKeyOfBlob(service: Service, blob: { readonly keyId: string }): Promise<KeyRecord> {
  const stored = await service.store.getKey(blob.keyId);
  if (stored) return stored;
  if (!KEY_ID.test(blob.keyId)) throw new InvalidCiphertextException();
  throw noSuchCiphertextKey();
}

const noSuchCiphertextKey = () => new AccessDeniedException(
  'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.');

/**
 * Opens a ciphertext blob. A blob that is malformed, names a version its key does not have, or
 * fails its tag (tampering, wrong context) is always the same InvalidCiphertextException with no
 * message: the caller learns nothing about which check failed. One that names a key this server
 * does not have is `storedKeyOfBlob`'s AccessDeniedException, as in AWS. A KeyId given by the
 * caller that is not the blob's key is IncorrectKeyException, as in AWS.
 */
export async function openWithKey(
  service: Service,
  blob: Uint8Array,
  context: EncryptionContext | undefined,
  opts: {
    keyId?: string;
    operation: string;
    algorithm?: EncryptionAlgorithm;
    /** Refuses the caller the key, once it is known and before its state is looked at. */
    authorize: (key: KeyRecord, requestAlias: string | undefined) => Promise<void>;
    /** Told the key the caller's KeyId names, before it is compared with the blob's (the audit record names it either way). */
    named?: (key: KeyRecord) => void;
  },
): Promise<Opened> {
  const aad = canonicalEncryptionContext(context);
  const parsed = parseBlob(blob);
  const expected = opts.keyId === undefined ? undefined : await resolveKeyReference(service, opts.keyId, 'key-or-alias');
  if (expected) opts.named?.(expected.key);
  if (!parsed) throw new InvalidCiphertextException();
  if (expected && expected.key.keyId !== parsed.keyId) {
    throw new IncorrectKeyException('The key ID in the request does not identify a CMK that can perform this operation.');
  }
  const stored = expected?.key ?? (await storedKeyOfBlob(service, parsed));
  // A symmetric ciphertext never names a key of another kind: a blob that does is forged, and is
  // answered as a blob naming a key that does not exist (docs/ciphertext-blob.md), not with that
  // key's usage and ARN, nor otherwise than a missing key, either of which told a caller that a key
  // id exists and what it is. A KeyId the caller named themselves is theirs to be told about.
  if (expected === undefined && !(stored.keySpec === 'SYMMETRIC_DEFAULT' && stored.keyUsage === 'ENCRYPT_DECRYPT')) {
    throw noSuchCiphertextKey();
  }
  const key = effectiveKey(stored, service.now());
  await opts.authorize(key, expected?.alias);
  assertSymmetricEncryption(service, key, opts.operation, opts.algorithm);
  assertEnabled(service.realm, key);
  const version = await service.backingKeys.version(key.keyId, parsed.version);
  const plaintext = version && openBlob(version.material, parsed, aad);
  if (!version || !plaintext) throw new InvalidCiphertextException();
  return { key, plaintext, materialId: version.materialId };
}
