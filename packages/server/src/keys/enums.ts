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
