/** Deterministic wrapping keys and keyrings shared by the tests (never use fixed keys outside tests). */
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { CommitmentPolicy, MultiKeyring, RawAesKeyring, RawRsaKeyring, RsaPadding, type AlgorithmSuite } from '../../src/index.js';

export const AES_KEYS = {
  16: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'),
  24: Buffer.from('000102030405060708090a0b0c0d0e0f1011121314151617', 'hex'),
  32: Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'),
} as const;

export function aesKeyring(bytes: 16 | 24 | 32 = 32, keyName = `aes-${bytes * 8}`): RawAesKeyring {
  return new RawAesKeyring({ keyNamespace: 'coffer-test', keyName, wrappingKey: AES_KEYS[bytes] });
}

let rsaPair: { publicKey: KeyObject; privateKey: KeyObject } | undefined;
/** One 2048-bit pair per test process: generating keys is the slow part. */
export function rsaKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  rsaPair ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
  return rsaPair;
}

export function rsaKeyring(padding: RsaPadding, keyName = `rsa-${padding}`): RawRsaKeyring {
  const { publicKey, privateKey } = rsaKeyPair();
  return new RawRsaKeyring({ keyNamespace: 'coffer-test-rsa', keyName, padding, publicKey, privateKey });
}

export function multiKeyring(): MultiKeyring {
  return new MultiKeyring({ generator: aesKeyring(32), children: [aesKeyring(16), rsaKeyring(RsaPadding.OAEP_SHA256)] });
}

/** The strictest policy that allows both encrypting and decrypting `suite`. */
export function policyFor(suite: AlgorithmSuite): CommitmentPolicy {
  return suite.commitment ? CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT : CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT;
}

export function hex(id: number): string {
  return id.toString(16).padStart(4, '0');
}
