/**
 * Cryptographic materials manager interface (framework/cmm-interface.md): the layer between
 * encrypt/decrypt and the keyrings that picks the suite, adds the signing key and enforces
 * context rules.
 */
import type { CommitmentPolicy } from '../commitment-policy.js';
import type { EncryptionContext } from '../encryption-context.js';
import type { DecryptionMaterials, EncryptedDataKey, EncryptionMaterials } from '../materials.js';
import type { AlgorithmSuite, AlgorithmSuiteId } from '../suites.js';

export interface EncryptionMaterialsRequest {
  readonly encryptionContext: EncryptionContext;
  readonly commitmentPolicy: CommitmentPolicy;
  readonly suiteId?: AlgorithmSuiteId;
  /** Known plaintext length (one-shot API). */
  readonly maxPlaintextLength?: number;
  /** Keys of the context to authenticate without storing them in the message. */
  readonly requiredEncryptionContextKeys?: readonly string[];
}

export interface DecryptMaterialsRequest {
  readonly suite: AlgorithmSuite;
  readonly commitmentPolicy: CommitmentPolicy;
  readonly encryptedDataKeys: readonly EncryptedDataKey[];
  /** The context stored in the message header. */
  readonly encryptionContext: EncryptionContext;
  /** The context the caller supplies to decrypt (client-apis/decrypt.md#encryption-context). */
  readonly reproducedEncryptionContext?: EncryptionContext;
}

export interface CryptographicMaterialsManager {
  getEncryptionMaterials(request: EncryptionMaterialsRequest): Promise<EncryptionMaterials>;
  decryptMaterials(request: DecryptMaterialsRequest): Promise<DecryptionMaterials>;
}

export function isCryptographicMaterialsManager(x: unknown): x is CryptographicMaterialsManager {
  return (
    typeof x === 'object' && x !== null &&
    typeof (x as CryptographicMaterialsManager).getEncryptionMaterials === 'function' &&
    typeof (x as CryptographicMaterialsManager).decryptMaterials === 'function'
  );
}
