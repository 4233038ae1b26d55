import type { GrantOperation } from '../grants/grant-record.js';
import type { ContextValue } from '../policy/context.js';
import type { RequestContext, Service } from '../context.js';
import { InvalidKeyUsageException, ValidationException } from '../errors.js';
import { keyArn } from './arn.js';
import type { EncryptionAlgorithm, KeyUsage, MessageType, SigningAlgorithm } from './enums.js';
import type { KeyRecord } from './key-record.js';
import { resolveKeyReference } from './resolve.js';
import { algorithmsOf, digestLength, rsaBits, specInfo, type KeyFamily } from './specs/index.js';
import { oaepMaxPlaintext } from './specs/rsa.js';
import { assertEnabled } from './states.js';

/** A key ready for a family operation: authorized, of the right usage, Enabled, its material unwrapped. */
export interface UsableKey {
  readonly key: KeyRecord;
  readonly arn: string;
  readonly family: KeyFamily;
  readonly material: Buffer;
}

export interface UseOptions {
  readonly keyId: string;
  /** The operation's name, for AWS's usage message. */
  readonly operation: string;
  readonly action: string;
  readonly grantOperation?: GrantOperation;
  readonly usage: KeyUsage;
  /** The algorithm the caller asked for; it must be one the key's spec offers. */
  readonly algorithm?: string;
  readonly grantTokens?: readonly string[];
  readonly context?: Readonly<Record<string, ContextValue>>;
}

/**
 * The shared steps of Sign, Verify, GetPublicKey, the MAC operations and DeriveSharedSecret:
 * resolve, authorize, then AWS's usage check (`<arn> key usage is X which is not valid for Op.`),
 * the algorithm check (`Algorithm A is incompatible with key spec S.`) and the state check.
 */
export async function useKey(service: Service, request: RequestContext, opts: UseOptions): Promise<UsableKey> {
  const { key, alias } = await resolveKeyReference(service, opts.keyId, 'key-or-alias');
  await service.access.authorizeKey(request, {
    action: opts.action, key, requestAlias: alias, grantTokens: opts.grantTokens,
    ...(opts.grantOperation ? { grantOperation: opts.grantOperation } : {}),
    ...(opts.context ? { context: opts.context } : {}),
  });
  const arn = keyArn(service.realm, key.keyId);
  assertUsage(arn, key, opts.usage, opts.operation);
  if (opts.algorithm !== undefined && !algorithmsOf(key.keySpec, key.keyUsage).includes(opts.algorithm)) {
    throw new InvalidKeyUsageException(`Algorithm ${opts.algorithm} is incompatible with key spec ${key.keySpec}.`);
  }
  assertEnabled(service.realm, key);
  return { key, arn, family: specInfo(key.keySpec).family, material: await currentMaterial(service, key) };
}

export function assertUsage(arn: string, key: KeyRecord, usage: KeyUsage, operation: string): void {
  if (key.keyUsage !== usage) {
    throw new InvalidKeyUsageException(`${arn} key usage is ${key.keyUsage} which is not valid for ${operation}.`);
  }
}

/** The unwrapped material of the key's current version. */
export async function currentMaterial(service: Service, key: KeyRecord): Promise<Buffer> {
  const version = await service.backingKeys.version(key.keyId, key.currentVersion);
  if (!version) throw new Error(`key ${key.keyId} has no version ${key.currentVersion}`);
  return version.material;
}

/** FIPS 204's mu, the message representative ML-DSA signs. */
const EXTERNAL_MU_BYTES = 64;

/**
 * Sign and Verify messages: RAW up to 4096 bytes (the shape checks it); DIGEST exactly as long as
 * the algorithm's digest. ED25519_SHA_512 signs the raw message only; ML-DSA the raw message, or
 * its mu made by the caller (EXTERNAL_MU, exactly 64 bytes); ED25519_PH_SHA_512 a 64-byte DIGEST
 * only (AWS: it "requires MessageType:DIGEST").
 */
export function checkMessage(algorithm: SigningAlgorithm, messageType: MessageType, message: Buffer): void {
  if (messageType === 'EXTERNAL_MU') {
    // FIPS 204's external mu: the 64-byte message representative, made by the caller from the
    // public key and the message; only ML-DSA takes it.
    if (algorithm !== 'ML_DSA_SHAKE_256') throw new ValidationException(`MessageType EXTERNAL_MU is not valid for algorithm ${algorithm}.`);
    if (message.length !== EXTERNAL_MU_BYTES) throw new ValidationException(`Message of MessageType EXTERNAL_MU must be ${EXTERNAL_MU_BYTES} bytes for algorithm ${algorithm}.`);
    return;
  }
  if (messageType !== 'DIGEST') {
    if (algorithm === 'ED25519_PH_SHA_512') throw new ValidationException(`MessageType ${messageType} is not valid for algorithm ${algorithm}.`);
    return;
  }
  const length = algorithm === 'ED25519_SHA_512' || algorithm === 'ML_DSA_SHAKE_256' ? undefined : digestLength(algorithm);
  if (length === undefined) throw new ValidationException(`MessageType DIGEST is not valid for algorithm ${algorithm}.`);
  if (message.length !== length) throw new ValidationException(`Digest is invalid length for algorithm ${algorithm}.`);
}

/**
 * RSAES-OAEP with an asymmetric ENCRYPT_DECRYPT key: the algorithm must be one of the key's
 * (`Algorithm A is incompatible with key spec S.`), the plaintext within the OAEP limit of the key
 * size, and no encryption context (it cannot be bound into a raw RSA ciphertext).
 */
export function checkAsymmetricEncryption(
  key: KeyRecord, algorithm: EncryptionAlgorithm | undefined, context: Readonly<Record<string, string>> | undefined,
): EncryptionAlgorithm {
  const chosen = algorithm ?? 'SYMMETRIC_DEFAULT';
  if (!algorithmsOf(key.keySpec, key.keyUsage).includes(chosen)) {
    throw new InvalidKeyUsageException(`Algorithm ${chosen} is incompatible with key spec ${key.keySpec}.`);
  }
  if (context !== undefined && Object.keys(context).length > 0) {
    throw new ValidationException('EncryptionContext is not supported with asymmetric KMS keys.');
  }
  return chosen;
}

export function checkOaepPlaintext(key: KeyRecord, algorithm: EncryptionAlgorithm, plaintext: Buffer): void {
  const max = oaepMaxPlaintext(rsaBits(key.keySpec), algorithm);
  if (plaintext.length > max) {
    throw new ValidationException(`Algorithm ${algorithm} and key spec ${key.keySpec} cannot encrypt data larger than ${max} bytes.`);
  }
}

/** An asymmetric key that encrypts: RSA with ENCRYPT_DECRYPT, whose ciphertexts are raw RSAES-OAEP. */
export function isRsaEncryptionKey(key: KeyRecord): boolean {
  return key.keySpec !== 'SYMMETRIC_DEFAULT' && key.keyUsage === 'ENCRYPT_DECRYPT';
}

/**
 * Encrypt and ReEncrypt to an RSA key: the algorithm, context and plaintext length checked, then
 * raw RSAES-OAEP under the key's material, the CiphertextBlob AWS returns.
 */
export async function sealWithRsaKey(
  service: Service, key: KeyRecord, algorithm: EncryptionAlgorithm | undefined,
  context: Readonly<Record<string, string>> | undefined, plaintext: Buffer,
): Promise<{ ciphertext: Buffer; algorithm: EncryptionAlgorithm }> {
  const chosen = checkAsymmetricEncryption(key, algorithm, context);
  checkOaepPlaintext(key, chosen, plaintext);
  assertEnabled(service.realm, key);
  return { ciphertext: specInfo(key.keySpec).family.encrypt!(await currentMaterial(service, key), chosen, plaintext), algorithm: chosen };
}
