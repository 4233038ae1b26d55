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

/** Options are optional, but when given they must be an object: `null` is a mistake, not "none". */
export function assertOptions(options: unknown): asserts options is object {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
}

/**
 * A switch: true, false or absent. Anything else ('true', 1) is refused rather than read as off,
 * which would quietly choose the other mode.
 */
export function resolveSwitch(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false`);
  return value;
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
  assertAttached(x, what);
}

/**
 * A view whose ArrayBuffer was transferred away reads as empty, and the first use of it throws
 * V8's "Cannot perform Construct on a detached ArrayBuffer": refused before any keyring (or
 * KMS) is called, in words that say what happened.
 */
export function assertAttached(view: Uint8Array, what: string): void {
  if (view.byteLength !== 0 || view.buffer.byteLength !== 0) return;
  try {
    view.subarray(0, 0);
  } catch {
    throw new TypeError(`${what} is a view of a detached ArrayBuffer (it was transferred): it has no bytes to read`);
  }
}

/**
 * `bytes` as a view of exactly `length` bytes, its length when the call began. encrypt and
 * decrypt await the materials in between, and a view on a resizable or transferred ArrayBuffer
 * can change length meanwhile: the materials were asked for `length` bytes (a caching manager
 * counted them against a data key's byte limit), and a message of other bytes than the caller
 * passed is never what they meant. The view returned has a fixed length, so a buffer that grows
 * later does not change what is read either.
 */
export function unchangedLength(bytes: Uint8Array, length: number, what: string, during = 'the materials were fetched'): Uint8Array {
  if (bytes.byteLength !== length) {
    throw new TypeError(`${what} changed length from ${length} to ${bytes.byteLength} bytes while ${during} (its ArrayBuffer was resized or transferred)`);
  }
  return bytes.subarray(0, length);
}
