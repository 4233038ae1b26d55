// Kept in the declarations (`preserve`): they name Node's types (`Buffer`, `node:stream`), and
// TypeScript 6 and later load no `@types` package unasked, so a consumer whose tsconfig lists no
// `types` would otherwise find no `Buffer` there.
/// <reference types="node" preserve="true" />
/**
 * @coffer/sdk public surface. Everything a caller may rely on is named here; anything else
 * (serializers, KDF, signature helpers) is internal and may change.
 */
export { encrypt, DEFAULT_FRAME_LENGTH } from './encrypt.js';
export type { EncryptOptions, EncryptResult } from './encrypt.js';
export { decrypt } from './decrypt.js';
export type { DecryptOptions, DecryptResult } from './decrypt.js';
export { encryptStream, decryptStream, encryptWebStream, decryptWebStream, DEFAULT_MAX_BUFFERED_BYTES } from './stream.js';
export type { EncryptStreamOptions, DecryptStreamOptions, MessageTransformStream } from './stream.js';
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
export { AwsKmsKeyring, AwsKmsMrkKeyring } from './keyrings/kms/strict.js';
export type { AwsKmsKeyringOptions } from './keyrings/kms/strict.js';
export { AwsKmsDiscoveryKeyring, AwsKmsMrkDiscoveryKeyring } from './keyrings/kms/discovery.js';
export type { AwsKmsDiscoveryKeyringOptions, AwsKmsMrkDiscoveryKeyringOptions, DiscoveryFilter } from './keyrings/kms/discovery.js';
export { KmsKeyring } from './keyrings/kms/multi.js';
export type { KmsKeyringOptions } from './keyrings/kms/multi.js';
export type { KmsClientLike, KmsClientSupplier } from './keyrings/kms/client.js';
export { KMS_PROVIDER_ID } from './keyrings/kms/calls.js';
export { parseKmsArn, mrkMatchForDecrypt } from './keyrings/kms/arn.js';
export type { KmsArn } from './keyrings/kms/arn.js';

export type { CryptographicMaterialsManager, EncryptionMaterialsRequest, DecryptMaterialsRequest } from './cmm/cmm.js';
export { DefaultCryptographicMaterialsManager } from './cmm/default.js';
export { RequiredEncryptionContextCryptographicMaterialsManager } from './cmm/required-encryption-context.js';
export type { RequiredEncryptionContextCmmOptions } from './cmm/required-encryption-context.js';
export { CachingCryptographicMaterialsManager } from './cmm/caching.js';
export type { CachingCmmOptions } from './cmm/caching.js';
export { LocalMaterialsCache } from './cmm/materials-cache.js';
export type { CryptographicMaterialsCache, EncryptionCacheEntry, DecryptionCacheEntry, CacheUsage, LocalMaterialsCacheOptions } from './cmm/materials-cache.js';
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
