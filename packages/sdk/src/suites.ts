/**
 * The ESDK algorithm suites (framework/algorithm-suites.md#supported-algorithm-suites).
 * Every suite is AES-GCM with a 12-byte IV and a 16-byte tag; they differ in key length,
 * key derivation, signature and key commitment. The S3EC and DBE suites of the same table
 * are deliberately absent: they are not valid in ESDK messages.
 */

export const AlgorithmSuiteId = Object.freeze({
  AES_128_GCM_IV12_TAG16_NO_KDF: 0x0014,
  AES_192_GCM_IV12_TAG16_NO_KDF: 0x0046,
  AES_256_GCM_IV12_TAG16_NO_KDF: 0x0078,
  AES_128_GCM_IV12_TAG16_HKDF_SHA256: 0x0114,
  AES_192_GCM_IV12_TAG16_HKDF_SHA256: 0x0146,
  AES_256_GCM_IV12_TAG16_HKDF_SHA256: 0x0178,
  AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256: 0x0214,
  AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384: 0x0346,
  AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384: 0x0378,
  AES_256_GCM_HKDF_SHA512_COMMIT_KEY: 0x0478,
  AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384: 0x0578,
} as const);
export type AlgorithmSuiteId = (typeof AlgorithmSuiteId)[keyof typeof AlgorithmSuiteId];

export type KdfHash = 'sha256' | 'sha384' | 'sha512';

export interface SignatureAlgorithm {
  readonly curve: 'P-256' | 'P-384';
  readonly hash: 'sha256' | 'sha384';
}

export interface AlgorithmSuite {
  readonly id: AlgorithmSuiteId;
  /** Message format version the suite is written in: 1 for legacy suites, 2 for committing ones. */
  readonly messageFormatVersion: 1 | 2;
  /** Length of the plaintext data key a keyring must produce (KDF input length), in bytes. */
  readonly dataKeyLength: 16 | 24 | 32;
  /** Length of the AES-GCM key that encrypts the content, in bytes. */
  readonly encryptionKeyLength: 16 | 24 | 32;
  /** null = identity KDF: the data key is the content key. */
  readonly kdfHash: KdfHash | null;
  readonly signature: SignatureAlgorithm | null;
  readonly commitment: boolean;
  /** Bytes of "algorithm suite data" in the v2 header: the commit key. */
  readonly suiteDataLength: 0 | 32;
  readonly ivLength: 12;
  readonly tagLength: 16;
}

const P256: SignatureAlgorithm = Object.freeze({ curve: 'P-256', hash: 'sha256' });
const P384: SignatureAlgorithm = Object.freeze({ curve: 'P-384', hash: 'sha384' });

function suite(
  id: AlgorithmSuiteId,
  keyLength: 16 | 24 | 32,
  kdfHash: KdfHash | null,
  signature: SignatureAlgorithm | null,
  commitment: boolean,
): AlgorithmSuite {
  return Object.freeze({
    id,
    messageFormatVersion: commitment ? 2 : 1,
    dataKeyLength: keyLength,
    encryptionKeyLength: keyLength,
    kdfHash,
    signature,
    commitment,
    suiteDataLength: commitment ? 32 : 0,
    ivLength: 12,
    tagLength: 16,
  });
}

const S = AlgorithmSuiteId;
const SUITES: ReadonlyMap<number, AlgorithmSuite> = new Map(
  [
    suite(S.AES_128_GCM_IV12_TAG16_NO_KDF, 16, null, null, false),
    suite(S.AES_192_GCM_IV12_TAG16_NO_KDF, 24, null, null, false),
    suite(S.AES_256_GCM_IV12_TAG16_NO_KDF, 32, null, null, false),
    suite(S.AES_128_GCM_IV12_TAG16_HKDF_SHA256, 16, 'sha256', null, false),
    suite(S.AES_192_GCM_IV12_TAG16_HKDF_SHA256, 24, 'sha256', null, false),
    suite(S.AES_256_GCM_IV12_TAG16_HKDF_SHA256, 32, 'sha256', null, false),
    suite(S.AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256, 16, 'sha256', P256, false),
    suite(S.AES_192_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384, 24, 'sha384', P384, false),
    suite(S.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384, 32, 'sha384', P384, false),
    suite(S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, 32, 'sha512', null, true),
    suite(S.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, 32, 'sha512', P384, true),
  ].map((s) => [s.id, s]),
);

/** Every supported suite, in table order. */
export const ALGORITHM_SUITES: readonly AlgorithmSuite[] = Object.freeze([...SUITES.values()]);

/** The suite for an id read from a message, or undefined when the id is not an ESDK suite. */
export function findSuite(id: number): AlgorithmSuite | undefined {
  return SUITES.get(id);
}

/** The suite for an id a caller chose; an unknown id is a programming error. */
export function getSuite(id: number): AlgorithmSuite {
  const found = SUITES.get(id);
  if (found === undefined) {
    // A caller from JavaScript may pass the id as a string ('0x0578') or a suite's name: quoted as
    // given, and told the id is a number.
    if (typeof id !== 'number') {
      throw new TypeError(`unknown algorithm suite id ${typeof id === 'string' ? JSON.stringify(id) : String(id)}: `
        + 'suiteId is a number, such as AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 (0x0578)');
    }
    throw new TypeError(`unknown algorithm suite id ${Number.isInteger(id) && id >= 0 ? `0x${id.toString(16).padStart(4, '0')}` : String(id)}`);
  }
  return found;
}
