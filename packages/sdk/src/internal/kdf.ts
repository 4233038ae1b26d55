/**
 * Content-key derivation (framework/transitive-requirements.md#hkdf-encryption-key,
 * #hkdf-commit-key; framework/algorithm-suites.md#hkdf).
 */
import { hkdfSync, timingSafeEqual } from 'node:crypto';
import { u16 } from './bytes.js';
import type { AlgorithmSuite } from '../suites.js';

const DERIVE_KEY_LABEL = Buffer.from('DERIVEKEY', 'ascii');
const COMMIT_KEY_LABEL = Buffer.from('COMMITKEY', 'ascii');
const COMMIT_KEY_LENGTH = 32;

export interface DerivedKeys {
  readonly encryptionKey: Buffer;
  /** Committing suites only. */
  readonly commitKey?: Buffer;
}

export function deriveKeys(suite: AlgorithmSuite, dataKey: Uint8Array, messageId: Uint8Array): DerivedKeys {
  if (dataKey.byteLength !== suite.dataKeyLength) throw new TypeError('data key length does not match the suite');
  if (suite.kdfHash === null) return { encryptionKey: Buffer.from(dataKey) };
  if (!suite.commitment) {
    // No salt (an empty HMAC key equals hashLen zero bytes); info = suite ID ‖ message ID.
    const info = Buffer.concat([u16(suite.id), messageId]);
    return { encryptionKey: Buffer.from(hkdfSync(suite.kdfHash, dataKey, Buffer.alloc(0), info, suite.encryptionKeyLength)) };
  }
  // Committing suites: the message ID is the salt; two expansions with distinct labels.
  const encryptionKey = Buffer.from(
    hkdfSync(suite.kdfHash, dataKey, messageId, Buffer.concat([u16(suite.id), DERIVE_KEY_LABEL]), suite.encryptionKeyLength),
  );
  const commitKey = Buffer.from(hkdfSync(suite.kdfHash, dataKey, messageId, COMMIT_KEY_LABEL, COMMIT_KEY_LENGTH));
  return { encryptionKey, commitKey };
}

/** Constant-time comparison of the derived and the stored commit key (client-apis/decrypt.md#verify-the-header). */
export function commitKeyMatches(derived: Uint8Array, stored: Uint8Array): boolean {
  return derived.byteLength === stored.byteLength && timingSafeEqual(derived, stored);
}
