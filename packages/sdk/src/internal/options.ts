/** Validation of the options shared by encrypt and decrypt; misuse is a TypeError/RangeError. */
import { isCryptographicMaterialsManager, type CryptographicMaterialsManager } from '../cmm/cmm.js';
import { DefaultCryptographicMaterialsManager } from '../cmm/default.js';
import { assertCommitmentPolicy, DEFAULT_COMMITMENT_POLICY, type CommitmentPolicy } from '../commitment-policy.js';
import type { Keyring } from '../keyrings/keyring.js';
import { UINT16_MAX } from './bytes.js';

/** A keyring is wrapped in the default materials manager (client-apis/encrypt.md#input). */
export function resolveMaterialsManager(keyringOrCmm: Keyring | CryptographicMaterialsManager): CryptographicMaterialsManager {
  return isCryptographicMaterialsManager(keyringOrCmm) ? keyringOrCmm : new DefaultCryptographicMaterialsManager(keyringOrCmm);
}

export function resolveCommitmentPolicy(policy: unknown): CommitmentPolicy {
  if (policy === undefined) return DEFAULT_COMMITMENT_POLICY;
  assertCommitmentPolicy(policy);
  return policy;
}

/** Optional cap on EDKs (client-apis/client.md#maximum-number-of-encrypted-data-keys); default: the format's own limit. */
export function resolveMaxEncryptedDataKeys(max: unknown): number {
  if (max === undefined) return UINT16_MAX;
  if (typeof max !== 'number' || !Number.isInteger(max) || max < 1) {
    throw new RangeError('maxEncryptedDataKeys must be a positive integer');
  }
  return max;
}

export function assertBytes(x: unknown, what: string): asserts x is Uint8Array {
  if (!(x instanceof Uint8Array)) throw new TypeError(`${what} must be a Buffer or Uint8Array`);
}
