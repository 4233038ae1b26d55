/**
 * Negative properties: any truncation and any single bit flip of a message fails with a named
 * error and releases no plaintext; so do trailing bytes.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { AlgorithmSuiteId, decrypt, encrypt, EncryptionSdkError, MalformedMessageError, getSuite } from '../src/index.js';
import { aesKeyring, hex, policyFor } from './helpers/fixtures.js';

const SUITES = [
  AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384,
  AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
  AlgorithmSuiteId.AES_128_GCM_IV12_TAG16_HKDF_SHA256_ECDSA_P256,
  AlgorithmSuiteId.AES_192_GCM_IV12_TAG16_NO_KDF,
];

/** Fails the test if decryption succeeds; otherwise checks the error is one of ours. */
async function mustFail(ciphertext: Buffer, policy: ReturnType<typeof policyFor>, where: string): Promise<void> {
  let result: unknown;
  try {
    result = await decrypt(aesKeyring(), ciphertext, { commitmentPolicy: policy, encryptionContext: { owner: 'coffer' } });
  } catch (e) {
    if (!(e instanceof EncryptionSdkError)) assert.fail(`${where}: unnamed error ${String(e)}`);
    return;
  }
  assert.fail(`${where}: decryption succeeded (${result === undefined ? 'no result' : 'plaintext released'})`);
}

for (const suiteId of SUITES) {
  const suite = getSuite(suiteId);
  const policy = policyFor(suite);
  describe(`tampering with a suite ${hex(suiteId)} message`, async () => {
    // Three frames (8 + 8 + 4 bytes) so frame boundaries are covered too.
    const { ciphertext } = await encrypt(aesKeyring(), Buffer.from('twenty bytes of text'), {
      suiteId, frameLength: 8, commitmentPolicy: policy, encryptionContext: { owner: 'coffer' },
    });

    test('the untouched message decrypts', async () => {
      const out = await decrypt(aesKeyring(), ciphertext, { commitmentPolicy: policy });
      assert.equal(out.plaintext.toString(), 'twenty bytes of text');
    });

    test(`truncation at every one of ${ciphertext.length} offsets fails`, async () => {
      for (let n = 0; n < ciphertext.length; n++) await mustFail(ciphertext.subarray(0, n), policy, `truncated to ${n}`);
    });

    test('a bit flip in every byte fails', async () => {
      for (let i = 0; i < ciphertext.length; i++) {
        const tampered = Buffer.from(ciphertext);
        tampered[i]! ^= 1 << (i % 8);
        await mustFail(tampered, policy, `bit ${i % 8} of byte ${i}`);
      }
    });

    test('trailing bytes after the message are refused', async () => {
      await assert.rejects(decrypt(aesKeyring(), Buffer.concat([ciphertext, Buffer.from([0])]), { commitmentPolicy: policy }), MalformedMessageError);
    });
  });
}
