import type { KeyUse } from '../access/access-control.js';
import type { RequestContext, Service } from '../context.js';
import { InvalidCiphertextException } from '../errors.js';
import type { GrantOperation } from '../grants/grant-record.js';
import { keyArn } from '../keys/arn.js';
import { assertUsage, checkAsymmetricEncryption, currentMaterial } from '../keys/asymmetric.js';
import type { EncryptionAlgorithm } from '../keys/enums.js';
import type { KeyRecord } from '../keys/key-record.js';
import { resolveKeyReference } from '../keys/resolve.js';
import { specInfo } from '../keys/specs/index.js';
import { assertEnabled } from '../keys/states.js';
import { checkDryRun } from '../validate/members.js';

export interface AsymmetricDecryptInput {
  readonly CiphertextBlob: Buffer;
  readonly EncryptionContext: Record<string, string> | undefined;
  readonly GrantTokens: string[] | undefined;
  readonly KeyId: string;
  readonly EncryptionAlgorithm: EncryptionAlgorithm | undefined;
  readonly DryRun: boolean | undefined;
}

/**
 * Whether a Decrypt or ReEncrypt source is a raw RSA ciphertext: it names no key, so, as in AWS,
 * the request gives both the key and an RSA algorithm. Anything else is read as a symmetric blob.
 */
export function namesRsaCiphertext(keyId: string | undefined, algorithm: EncryptionAlgorithm | undefined): keyId is string {
  return keyId !== undefined && algorithm !== undefined && algorithm.startsWith('RSAES_');
}

/**
 * Decrypt with an RSA key: a raw RSAES-OAEP ciphertext names no key, so, as in AWS, the caller
 * gives both KeyId and the EncryptionAlgorithm (without a KeyId, decrypt.ts reads a symmetric blob). A ciphertext that does not open is the usual
 * InvalidCiphertextException without a message.
 */
export async function decryptAsymmetric(service: Service, input: AsymmetricDecryptInput, request: RequestContext): Promise<object> {
  const opened = await openAsymmetric(service, request, input, { action: 'kms:Decrypt', grantOperation: 'Decrypt', operation: 'Decrypt' });
  try {
    checkDryRun(input.DryRun);
    return { KeyId: keyArn(service.realm, opened.key.keyId), Plaintext: opened.plaintext.toString('base64'), EncryptionAlgorithm: opened.algorithm };
  } finally {
    opened.plaintext.fill(0);
  }
}

export interface OpenedAsymmetric {
  readonly key: KeyRecord;
  /** The caller zeroes it when done. */
  readonly plaintext: Buffer;
  readonly algorithm: EncryptionAlgorithm;
}

/**
 * Opens a raw RSAES-OAEP ciphertext with the named RSA key, for Decrypt and for ReEncrypt's
 * source, once the caller may use the key for `action`.
 */
export async function openAsymmetric(
  service: Service, request: RequestContext, input: Omit<AsymmetricDecryptInput, 'DryRun'>,
  as: { readonly action: string; readonly grantOperation: GrantOperation; readonly operation: string; readonly context?: KeyUse['context'] },
): Promise<OpenedAsymmetric> {
  const { key, alias } = await resolveKeyReference(service, input.KeyId, 'key-or-alias');
  await service.access.authorizeKey(request, {
    action: as.action, key, grantOperation: as.grantOperation, requestAlias: alias,
    encryptionContext: input.EncryptionContext, grantTokens: input.GrantTokens,
    context: { 'kms:encryptionalgorithm': input.EncryptionAlgorithm!, ...as.context },
  });
  assertUsage(keyArn(service.realm, key.keyId), key, 'ENCRYPT_DECRYPT', as.operation);
  const algorithm = checkAsymmetricEncryption(key, input.EncryptionAlgorithm, input.EncryptionContext);
  assertEnabled(service.realm, key);
  const plaintext = specInfo(key.keySpec).family.decrypt!(await currentMaterial(service, key), algorithm, input.CiphertextBlob);
  if (!plaintext) throw new InvalidCiphertextException();
  return { key, plaintext, algorithm };
}
