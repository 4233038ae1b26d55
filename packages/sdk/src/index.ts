/**
 * @coffer/sdk public surface. Everything a caller may rely on is named here; anything else
 * (serializers, KDF, signature helpers) is internal and may change.
 */
export { encrypt, DEFAULT_FRAME_LENGTH } from './encrypt.js';
export type { EncryptOptions, EncryptResult } from './encrypt.js';
export { decrypt } from './decrypt.js';
export type { DecryptOptions, DecryptResult } from './decrypt.js';
export type { MessageHeaderInfo, EncryptedDataKeyInfo } from './header-info.js';

export { AlgorithmSuiteId, ALGORITHM_SUITES, getSuite } from './suites.js';
export type { AlgorithmSuite, SignatureAlgorithm, KdfHash } from './suites.js';
export { CommitmentPolicy, DEFAULT_COMMITMENT_POLICY } from './commitment-policy.js';
export type { EncryptionContext } from './encryption-context.js';

export type { Keyring } from './keyrings/keyring.js';
export { RawAesKeyring } from './keyrings/raw-aes.js';
export type { RawAesKeyringOptions } from './keyrings/raw-aes.js';
export { RawRsaKeyring, RsaPadding } from './keyrings/raw-rsa.js';
export type { RawRsaKeyringOptions } from './keyrings/raw-rsa.js';
export { MultiKeyring } from './keyrings/multi.js';
export type { MultiKeyringOptions } from './keyrings/multi.js';

export type { CryptographicMaterialsManager, EncryptionMaterialsRequest, DecryptMaterialsRequest } from './cmm/cmm.js';
export { DefaultCryptographicMaterialsManager } from './cmm/default.js';
export { RequiredEncryptionContextCryptographicMaterialsManager } from './cmm/required-encryption-context.js';
export type { RequiredEncryptionContextCmmOptions } from './cmm/required-encryption-context.js';
export { withDataKey, withEncryptedDataKey } from './materials.js';
export type { EncryptionMaterials, DecryptionMaterials, EncryptedDataKey } from './materials.js';

export {
  ErrorCode,
  EncryptionSdkError,
  MalformedMessageError,
  AuthenticationError,
  NoDecryptionKeyError,
  PolicyViolationError,
  KeyringError,
} from './errors.js';
