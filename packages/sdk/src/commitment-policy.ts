/**
 * Commitment policies (framework/commitment-policy.md, client-apis/client.md#commitment-policy).
 * The client default is REQUIRE_ENCRYPT_REQUIRE_DECRYPT: only key-committing messages are
 * written or read unless the caller names a weaker policy.
 */
import { PolicyViolationError } from './errors.js';
import { AlgorithmSuiteId, getSuite, type AlgorithmSuite } from './suites.js';

export const CommitmentPolicy = Object.freeze({
  FORBID_ENCRYPT_ALLOW_DECRYPT: 'FORBID_ENCRYPT_ALLOW_DECRYPT',
  REQUIRE_ENCRYPT_ALLOW_DECRYPT: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT',
  REQUIRE_ENCRYPT_REQUIRE_DECRYPT: 'REQUIRE_ENCRYPT_REQUIRE_DECRYPT',
} as const);
export type CommitmentPolicy = (typeof CommitmentPolicy)[keyof typeof CommitmentPolicy];

export const DEFAULT_COMMITMENT_POLICY: CommitmentPolicy = CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT;

export function assertCommitmentPolicy(policy: unknown): asserts policy is CommitmentPolicy {
  if (!Object.values(CommitmentPolicy).includes(policy as CommitmentPolicy)) {
    throw new TypeError('unknown commitment policy');
  }
}

/**
 * The suite used when the caller names none. Forbidding commitment falls back to the spec's
 * pre-commitment default 0x0378 (signed, HKDF-SHA384); otherwise 0x0578.
 */
export function defaultSuiteFor(policy: CommitmentPolicy): AlgorithmSuite {
  return getSuite(
    policy === CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT
      ? AlgorithmSuiteId.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384
      : AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
  );
}

/** Whether `policy` lets a message be written with `suite`. */
export function encryptAllowed(policy: CommitmentPolicy, suite: AlgorithmSuite): boolean {
  return suite.commitment === (policy !== CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT);
}

export function assertEncryptAllowed(policy: CommitmentPolicy, suite: AlgorithmSuite): void {
  if (!encryptAllowed(policy, suite)) {
    throw new PolicyViolationError(`commitment policy ${policy} does not allow encrypting with suite ${hex(suite.id)}`);
  }
}

export function assertDecryptAllowed(policy: CommitmentPolicy, suite: AlgorithmSuite): void {
  if (policy === CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT && !suite.commitment) {
    throw new PolicyViolationError(`commitment policy ${policy} does not allow decrypting suite ${hex(suite.id)}`);
  }
}

function hex(id: number): string {
  return `0x${id.toString(16).padStart(4, '0')}`;
}
