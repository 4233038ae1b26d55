/**
 * Messages large enough (>= 8 MiB) that the buffer API signs and verifies on a worker thread
 * (internal/hash-offload.ts): the result must be exactly what the single-thread path gives.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import * as official from '@aws-crypto/client-node';
import { AlgorithmSuiteId, AuthenticationError, decrypt, encrypt, MalformedMessageError } from '../src/index.js';
import { OFFLOAD_MIN_BYTES, offloadedJobCount, testOnlyFailNextOffloadedJob } from '../src/internal/hash-offload.js';
import { AES_KEYS, aesKeyring } from './helpers/fixtures.js';

const SIZE = OFFLOAD_MIN_BYTES + 12345;
const plaintext = randomFillSync(Buffer.alloc(SIZE));

test('a large signed message is signed on the worker and verifies on the worker, in the official SDK and after a bit flip fails', async () => {
  const before = offloadedJobCount();
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, { frameLength: 256 * 1024 });
  assert.equal(offloadedJobCount(), before + 1, 'encrypt used the worker');
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
  assert.equal(offloadedJobCount(), before + 2, 'decrypt used the worker');

  const theirs = new official.RawAesKeyringNode({
    keyNamespace: 'coffer-test', keyName: 'aes-256', unencryptedMasterKey: new Uint8Array(AES_KEYS[32]),
    wrappingSuite: official.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const out = await official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT).decrypt(theirs, ciphertext);
  assert.ok(out.plaintext.equals(plaintext));

  // A flip in the signature itself: every tag passes, only the (offloaded) signature check can catch it.
  const flipped = Buffer.from(ciphertext);
  flipped[flipped.length - 5]! ^= 1;
  await assert.rejects(decrypt(aesKeyring(), flipped), AuthenticationError);
  // A truncated body fails part-way through the frames, with the worker mid-job.
  await assert.rejects(decrypt(aesKeyring(), ciphertext.subarray(0, ciphertext.length - 300_000)), MalformedMessageError);
  // Trailing bytes after a valid signature, then a clean decrypt: the worker is free again.
  await assert.rejects(decrypt(aesKeyring(), Buffer.concat([ciphertext, Buffer.from([0])])), MalformedMessageError);
  const again = offloadedJobCount();
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
  assert.equal(offloadedJobCount(), again + 1);
});

test('concurrent large signed messages: one uses the worker, the others sign on their own thread, all verify', async () => {
  const results = await Promise.all([0, 1, 2].map(() => encrypt(aesKeyring(), plaintext, { suiteId: AlgorithmSuiteId.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384, commitmentPolicy: 'FORBID_ENCRYPT_ALLOW_DECRYPT' })));
  for (const { ciphertext } of results) {
    assert.ok((await decrypt(aesKeyring(), ciphertext, { commitmentPolicy: 'REQUIRE_ENCRYPT_ALLOW_DECRYPT' })).plaintext.equals(plaintext));
  }
});

test('when the worker fails mid-job, encrypt signs and decrypt verifies on the calling thread instead', async () => {
  testOnlyFailNextOffloadedJob();
  const before = offloadedJobCount();
  const { ciphertext } = await encrypt(aesKeyring(), plaintext);
  assert.equal(offloadedJobCount(), before + 1);
  testOnlyFailNextOffloadedJob();
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
  assert.equal(offloadedJobCount(), before + 2);
  const flipped = Buffer.from(ciphertext);
  flipped[flipped.length - 5]! ^= 1;
  testOnlyFailNextOffloadedJob();
  await assert.rejects(decrypt(aesKeyring(), flipped), AuthenticationError);
});

test('a large unsigned message never touches the hashing worker', async () => {
  const before = offloadedJobCount();
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY });
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
  assert.equal(offloadedJobCount(), before);
});

test('default options (1 MiB frames): the official SDK decrypts our message and we decrypt its 1 MiB-frame message', async () => {
  const data = plaintext.subarray(0, 2.5 * 1024 * 1024);
  const theirs = new official.RawAesKeyringNode({
    keyNamespace: 'coffer-test', keyName: 'aes-256', unencryptedMasterKey: new Uint8Array(AES_KEYS[32]),
    wrappingSuite: official.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const client = official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const { ciphertext, messageHeader } = await encrypt(aesKeyring(), data);
  assert.equal(messageHeader.frameLength, 1024 * 1024);
  assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(data));
  const { result } = await client.encrypt(theirs, data, { frameLength: 1024 * 1024 });
  assert.ok((await decrypt(aesKeyring(), result)).plaintext.equals(data));
});
