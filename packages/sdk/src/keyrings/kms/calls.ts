/**
 * The three KMS calls the keyrings make, with the response checks of
 * framework/aws-kms/aws-kms-keyring.md#onencrypt and #ondecrypt. Failures become named SDK
 * errors that keep the KMS error as `cause`, naming the key; what the client said is quoted only
 * where its request held no secret.
 */
import { KeyringError } from '../../errors.js';
import { describeError } from '../keyring.js';
import { withDataKey, withEncryptedDataKey, type DecryptionMaterials, type EncryptedDataKey, type EncryptionMaterials } from '../../materials.js';
import { parseKmsArn } from './arn.js';
import { grantTokensField, loadKms, type KmsClientLike } from './client.js';

/** The key provider ID of every KMS keyring (framework/aws-kms/aws-kms-keyring.md). */
export const KMS_PROVIDER_ID = 'aws-kms';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function bytes(x: unknown): Buffer | null {
  return x instanceof Uint8Array ? Buffer.from(x) : null;
}

/**
 * A response's plaintext data key as a buffer of the SDK's own, and the client's copy zeroed: the
 * response object may live on (a caller's middleware, a log of it), the key in it need not.
 */
function takePlaintext(x: unknown): Buffer | null {
  const copy = bytes(x);
  if (x instanceof Uint8Array) x.fill(0);
  return copy;
}

/**
 * A KMS call that failed, naming the key it was for; the KMS error stays as the cause. Its message
 * is quoted only for calls whose request holds no secret: an Encrypt request holds the data key,
 * and a client (a wrapper that logs, a proxy) may quote its request in its errors.
 */
function callFailed(call: 'GenerateDataKey' | 'Encrypt' | 'Decrypt', keyId: string, cause: unknown): KeyringError {
  const said = call === 'Encrypt' ? (cause instanceof Error ? cause.name : typeof cause) : describeError(cause);
  return new KeyringError(`KMS ${call} with ${keyId} failed: ${said}`, { cause });
}

function keyArnOf(response: { KeyId?: unknown }, what: string): string {
  const arn = parseKmsArn(response.KeyId);
  // The response KeyId MUST be a valid AWS KMS key ARN: it becomes the EDK's provider info.
  if (arn === null || arn.resourceType !== 'key') throw new KeyringError(`KMS ${what} returned a KeyId that is not a key ARN`);
  return response.KeyId as string;
}

/** GenerateDataKey, then set the data key and append the EDK (#onencrypt, no data key yet). */
export async function generateDataKey(
  client: KmsClientLike, keyId: string, m: EncryptionMaterials, grantTokens: readonly string[],
): Promise<EncryptionMaterials> {
  const { GenerateDataKeyCommand } = await loadKms();
  let response: { KeyId?: unknown; Plaintext?: unknown; CiphertextBlob?: unknown };
  try {
    response = await client.send(new GenerateDataKeyCommand({
      KeyId: keyId,
      NumberOfBytes: m.suite.dataKeyLength,
      EncryptionContext: { ...m.encryptionContext },
      ...grantTokensField(grantTokens),
    }));
  } catch (cause) {
    throw callFailed('GenerateDataKey', keyId, cause);
  }
  const plaintext = takePlaintext(response.Plaintext);
  const ciphertext = bytes(response.CiphertextBlob);
  let providerInfo: string;
  try {
    if (plaintext === null || plaintext.length !== m.suite.dataKeyLength) throw new KeyringError('KMS GenerateDataKey returned a data key of the wrong length');
    if (ciphertext === null || ciphertext.length === 0) throw new KeyringError('KMS GenerateDataKey returned no ciphertext');
    providerInfo = keyArnOf(response, 'GenerateDataKey');
  } catch (error) {
    plaintext?.fill(0);
    throw error;
  }
  return withEncryptedDataKey(withDataKey(m, plaintext), { providerId: KMS_PROVIDER_ID, providerInfo: Buffer.from(providerInfo, 'utf8'), ciphertext });
}

/** Encrypt the existing data key and append the EDK (#onencrypt, data key present). */
export async function encryptDataKey(
  client: KmsClientLike, keyId: string, m: EncryptionMaterials, grantTokens: readonly string[],
): Promise<EncryptionMaterials> {
  const { EncryptCommand } = await loadKms();
  let response: { KeyId?: unknown; CiphertextBlob?: unknown };
  try {
    response = await client.send(new EncryptCommand({
      KeyId: keyId,
      Plaintext: m.plaintextDataKey,
      EncryptionContext: { ...m.encryptionContext },
      ...grantTokensField(grantTokens),
    }));
  } catch (cause) {
    throw callFailed('Encrypt', keyId, cause);
  }
  const ciphertext = bytes(response.CiphertextBlob);
  if (ciphertext === null || ciphertext.length === 0) throw new KeyringError('KMS Encrypt returned no ciphertext');
  const providerInfo = keyArnOf(response, 'Encrypt');
  return withEncryptedDataKey(m, { providerId: KMS_PROVIDER_ID, providerInfo: Buffer.from(providerInfo, 'utf8'), ciphertext });
}

/**
 * Decrypt one EDK with `KeyId` set; the response must name exactly `keyId` and carry a data key
 * of the suite's length (#ondecrypt). Returns new materials; throws for the caller to collect.
 */
export async function decryptDataKey(
  client: KmsClientLike, keyId: string, edk: EncryptedDataKey, m: DecryptionMaterials, grantTokens: readonly string[],
): Promise<DecryptionMaterials> {
  const { DecryptCommand } = await loadKms();
  let response: { KeyId?: unknown; Plaintext?: unknown };
  try {
    response = await client.send(new DecryptCommand({
      KeyId: keyId,
      CiphertextBlob: edk.ciphertext,
      EncryptionContext: { ...m.encryptionContext },
      ...grantTokensField(grantTokens),
    }));
  } catch (cause) {
    throw callFailed('Decrypt', keyId, cause);
  }
  const plaintext = takePlaintext(response.Plaintext);
  if (response.KeyId !== keyId) {
    plaintext?.fill(0);
    throw new KeyringError(`KMS Decrypt with ${keyId} answered for a different key`);
  }
  if (plaintext === null || plaintext.length !== m.suite.dataKeyLength) {
    plaintext?.fill(0);
    throw new KeyringError(`KMS Decrypt with ${keyId} returned a data key of the wrong length`);
  }
  return withDataKey(m, plaintext);
}

/**
 * The provider info of an `aws-kms` EDK as a key ARN. "The provider info MUST be a valid AWS KMS
 * ARN with a resource type of key or OnDecrypt MUST fail": null for other providers, throws
 * for an `aws-kms` EDK whose info is not a key ARN.
 */
export function kmsKeyArnOfEdk(edk: EncryptedDataKey): string | null {
  if (edk.providerId !== KMS_PROVIDER_ID) return null;
  let info: string;
  try {
    info = utf8.decode(edk.providerInfo);
  } catch {
    throw new KeyringError('an aws-kms encrypted data key has a provider info that is not UTF-8');
  }
  const arn = parseKmsArn(info);
  if (arn === null || arn.resourceType !== 'key') throw new KeyringError('an aws-kms encrypted data key has a provider info that is not a key ARN');
  return info;
}
