import type { RequestContext, Service } from '../context.js';
import { InvalidCiphertextException } from '../errors.js';
import { keyArn } from '../keys/arn.js';
import { assertUsage, checkAsymmetricEncryption, currentMaterial } from '../keys/asymmetric.js';
import type { EncryptionAlgorithm } from '../keys/enums.js';
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
 * Decrypt with an RSA key: a raw RSAES-OAEP ciphertext names no key, so, as in AWS, the caller
 * gives both KeyId and the EncryptionAlgorithm (without a KeyId, decrypt.ts reads a symmetric blob). A ciphertext that does not open is the usual
 * InvalidCiphertextException without a message.
 */
export async function decryptAsymmetric(service: Service, input: AsymmetricDecryptInput, request: RequestContext): Promise<object> {
  const { key, alias } = await resolveKeyReference(service, input.KeyId, 'key-or-alias');
  await service.access.authorizeKey(request, {
    action: 'kms:Decrypt', key, grantOperation: 'Decrypt', requestAlias: alias,
    encryptionContext: input.EncryptionContext, grantTokens: input.GrantTokens,
    context: { 'kms:encryptionalgorithm': input.EncryptionAlgorithm! },
  });
  const arn = keyArn(service.realm, key.keyId);
  assertUsage(arn, key, 'ENCRYPT_DECRYPT', 'Decrypt');
  const algorithm = checkAsymmetricEncryption(key, input.EncryptionAlgorithm, input.EncryptionContext);
  assertEnabled(service.realm, key);
  const plaintext = specInfo(key.keySpec).family.decrypt!(await currentMaterial(service, key), algorithm, input.CiphertextBlob);
  if (!plaintext) throw new InvalidCiphertextException();
  checkDryRun(input.DryRun);
  try {
    return { KeyId: arn, Plaintext: plaintext.toString('base64'), EncryptionAlgorithm: algorithm };
  } finally {
    plaintext.fill(0);
  }
}
