/**
 * AWS KMS enumerations, closed and frozen. The order of each list is the order AWS prints in its
 * "Member must satisfy enum value set" messages, so those messages read as AWS's do.
 */
export const KEY_SPECS = Object.freeze([
  'RSA_2048', 'ECC_NIST_P384', 'ECC_NIST_P256', 'ECC_NIST_P521', 'HMAC_384', 'RSA_3072',
  'ECC_SECG_P256K1', 'RSA_4096', 'SYMMETRIC_DEFAULT', 'HMAC_256', 'HMAC_224', 'HMAC_512',
  'ML_DSA_44', 'ML_DSA_65', 'ML_DSA_87', 'ECC_NIST_EDWARDS25519', 'SM2',
  'ML_KEM_512', 'ML_KEM_768', 'ML_KEM_1024',
] as const);
export type KeySpec = (typeof KEY_SPECS)[number];
/** CreateKey's deprecated CustomerMasterKeySpec: AWS's enum stopped growing before ML-DSA, Ed25519 and ML-KEM. */
export const CUSTOMER_MASTER_KEY_SPECS = Object.freeze(KEY_SPECS.filter((spec) => !/^(?:ML_DSA_|ML_KEM_|ECC_NIST_EDWARDS)/.test(spec)));

export const KEY_USAGES = Object.freeze([
  'ENCRYPT_DECRYPT', 'SIGN_VERIFY', 'GENERATE_VERIFY_MAC', 'KEY_AGREEMENT', 'ENCAPSULATE_DECAPSULATE',
] as const);
export type KeyUsage = (typeof KEY_USAGES)[number];

export const ORIGINS = Object.freeze(['AWS_KMS', 'EXTERNAL', 'AWS_CLOUDHSM', 'EXTERNAL_KEY_STORE'] as const);
export type Origin = (typeof ORIGINS)[number];

export const KEY_STATES = Object.freeze([
  'Creating', 'Enabled', 'Disabled', 'PendingDeletion', 'PendingImport',
  'PendingReplicaDeletion', 'Unavailable', 'Updating',
] as const);
export type KeyState = (typeof KEY_STATES)[number];

export const ENCRYPTION_ALGORITHMS = Object.freeze([
  'SYMMETRIC_DEFAULT', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'SM2PKE',
] as const);
export type EncryptionAlgorithm = (typeof ENCRYPTION_ALGORITHMS)[number];

export const DATA_KEY_SPECS = Object.freeze(['AES_256', 'AES_128'] as const);
export type DataKeySpec = (typeof DATA_KEY_SPECS)[number];

export const INCLUDE_KEY_MATERIAL = Object.freeze(['ALL_KEY_MATERIAL', 'ROTATIONS_ONLY'] as const);
export type IncludeKeyMaterial = (typeof INCLUDE_KEY_MATERIAL)[number];

export const ROTATION_TYPES = Object.freeze(['AUTOMATIC', 'ON_DEMAND'] as const);
export type RotationType = (typeof ROTATION_TYPES)[number];

export const SIGNING_ALGORITHMS = Object.freeze([
  'RSASSA_PSS_SHA_256', 'RSASSA_PSS_SHA_384', 'RSASSA_PSS_SHA_512', 'RSASSA_PKCS1_V1_5_SHA_256',
  'RSASSA_PKCS1_V1_5_SHA_384', 'RSASSA_PKCS1_V1_5_SHA_512', 'ECDSA_SHA_256', 'ECDSA_SHA_384',
  'ECDSA_SHA_512', 'SM2DSA', 'ML_DSA_SHAKE_256', 'ED25519_SHA_512', 'ED25519_PH_SHA_512',
] as const);
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export const MESSAGE_TYPES = Object.freeze(['RAW', 'DIGEST', 'EXTERNAL_MU'] as const);
export type MessageType = (typeof MESSAGE_TYPES)[number];

export const MAC_ALGORITHMS = Object.freeze(['HMAC_SHA_384', 'HMAC_SHA_256', 'HMAC_SHA_224', 'HMAC_SHA_512'] as const);
export type MacAlgorithm = (typeof MAC_ALGORITHMS)[number];

export const KEY_AGREEMENT_ALGORITHMS = Object.freeze(['ECDH'] as const);
export type KeyAgreementAlgorithm = (typeof KEY_AGREEMENT_ALGORITHMS)[number];

export const ENCAPSULATION_ALGORITHMS = Object.freeze(['ML_KEM'] as const);
export type EncapsulationAlgorithm = (typeof ENCAPSULATION_ALGORITHMS)[number];

export const DATA_KEY_PAIR_SPECS = Object.freeze([
  'RSA_2048', 'RSA_3072', 'RSA_4096', 'ECC_NIST_P256', 'ECC_NIST_P384', 'ECC_NIST_P521',
  'ECC_SECG_P256K1', 'SM2', 'ECC_NIST_EDWARDS25519', 'ML_KEM_512', 'ML_KEM_768', 'ML_KEM_1024',
] as const);
export type DataKeyPairSpec = (typeof DATA_KEY_PAIR_SPECS)[number];

export const WRAPPING_ALGORITHMS = Object.freeze([
  'RSAES_PKCS1_V1_5', 'RSAES_OAEP_SHA_1', 'RSAES_OAEP_SHA_256', 'RSA_AES_KEY_WRAP_SHA_1', 'RSA_AES_KEY_WRAP_SHA_256', 'SM2PKE',
] as const);
export type WrappingAlgorithm = (typeof WRAPPING_ALGORITHMS)[number];

export const WRAPPING_KEY_SPECS = Object.freeze(['RSA_2048', 'RSA_3072', 'RSA_4096', 'SM2'] as const);
export type WrappingKeySpec = (typeof WRAPPING_KEY_SPECS)[number];

export const EXPIRATION_MODELS = Object.freeze(['KEY_MATERIAL_EXPIRES', 'KEY_MATERIAL_DOES_NOT_EXPIRE'] as const);
export type ExpirationModel = (typeof EXPIRATION_MODELS)[number];

export const IMPORT_TYPES = Object.freeze(['NEW_KEY_MATERIAL', 'EXISTING_KEY_MATERIAL'] as const);
export type ImportType = (typeof IMPORT_TYPES)[number];
