/**
 * Large unsigned messages in the buffer API: the result is assembled by a worker thread
 * (internal/output-offload.ts). What callers get must be what the single-thread path gives:
 * a valid message the official SDK reads, an ordinary Buffer of their own, and the same named
 * errors with nothing released.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import * as official from '@aws-crypto/client-node';
import { AlgorithmSuiteId, AuthenticationError, decrypt, encrypt, MalformedMessageError } from '../src/index.js';
import { regularFrameSize } from '../src/internal/frames.js';
import { offloadedOutputJobCount, OUTPUT_OFFLOAD_MIN_BYTES, testOnlyFailNextOutputJob } from '../src/internal/output-offload.js';
import { AES_KEYS, aesKeyring } from './helpers/fixtures.js';

const SIZE = OUTPUT_OFFLOAD_MIN_BYTES + 12345;
const plaintext = randomFillSync(Buffer.alloc(SIZE));
const suiteId = AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY;
const theirs = new official.RawAesKeyringNode({
  keyNamespace: 'coffer-test', keyName: 'aes-256', unencryptedMasterKey: new Uint8Array(AES_KEYS[32]),
  wrappingSuite: official.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const client = official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

/** An ordinary buffer: not shared memory, and transferable (a shared or pooled one is not). */
function assertOrdinary(b: Buffer): void {
  assert.ok(b.buffer instanceof ArrayBuffer, 'backed by an ArrayBuffer');
  assert.ok(!((b.buffer as unknown) instanceof SharedArrayBuffer), 'not shared memory');
  const moved = structuredClone(b.buffer, { transfer: [b.buffer] });
  assert.equal(b.byteLength, 0, 'the transfer detached it');
  assert.ok(moved.byteLength > 0);
}

test('a large unsigned message is written and read through the worker; the official SDK reads it and the results are ordinary buffers', async () => {
  const before = offloadedOutputJobCount();
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId, frameLength: 64 * 1024 });
  assert.equal(offloadedOutputJobCount(), before + 1, 'encrypt used the worker');
  assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(plaintext));
  const { plaintext: decrypted } = await decrypt(aesKeyring(), ciphertext);
  assert.equal(offloadedOutputJobCount(), before + 2, 'decrypt used the worker');
  assert.ok(decrypted.equals(plaintext));
  assertOrdinary(ciphertext);
  assertOrdinary(decrypted);
});

test('the official SDK\'s large message decrypts through the worker', async () => {
  const { result } = await client.encrypt(theirs, plaintext, { suiteId, frameLength: 4096 });
  const before = offloadedOutputJobCount();
  assert.ok((await decrypt(aesKeyring(), result)).plaintext.equals(plaintext));
  assert.equal(offloadedOutputJobCount(), before + 1);
});

test('frame layouts at the ring\'s edges: frames that fill a slot exactly, frames larger than a slot, a full final frame', async () => {
  const slotExact = 2 * 1024 * 1024 / 2 - regularFrameSize(0); // two regular frames fill a 2 MiB slot
  for (const frameLength of [slotExact, 3 * 1024 * 1024, 5 * 1024 * 1024, 1024 * 1024]) {
    const data = frameLength === 1024 * 1024 ? plaintext.subarray(0, 9 * frameLength) : plaintext;
    const before = offloadedOutputJobCount();
    const { ciphertext } = await encrypt(aesKeyring(), data, { suiteId, frameLength });
    assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(data), `official reads frameLength ${frameLength}`);
    assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(data), `we read frameLength ${frameLength}`);
    assert.equal(offloadedOutputJobCount(), before + 2, `both went through the worker at frameLength ${frameLength}`);
  }
});

test('a tampered, truncated or extended message fails through the worker with the named error, and the worker is free again', async () => {
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId, frameLength: 64 * 1024 });
  // A flip in the last frame's tag: every frame before it was already copied to the worker.
  const flipped = Buffer.from(ciphertext);
  flipped[flipped.length - 3]! ^= 1;
  await assert.rejects(decrypt(aesKeyring(), flipped), AuthenticationError);
  await assert.rejects(decrypt(aesKeyring(), ciphertext.subarray(0, ciphertext.length - 300_000)), MalformedMessageError);
  await assert.rejects(decrypt(aesKeyring(), Buffer.concat([ciphertext, Buffer.from([0])])), MalformedMessageError);
  const before = offloadedOutputJobCount();
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
  assert.equal(offloadedOutputJobCount(), before + 1);
});

test('concurrent large messages: one uses the worker, the others write on their own thread, all decrypt', async () => {
  const before = offloadedOutputJobCount();
  const results = await Promise.all([0, 1, 2].map(() => encrypt(aesKeyring(), plaintext, { suiteId, frameLength: 64 * 1024 })));
  assert.equal(offloadedOutputJobCount(), before + 1);
  const decrypted = await Promise.all(results.map(({ ciphertext }) => decrypt(aesKeyring(), ciphertext)));
  assert.equal(offloadedOutputJobCount(), before + 2);
  for (const { plaintext: p } of decrypted) assert.ok(p.equals(plaintext));
});

test('when the worker fails mid-job, encrypt and decrypt redo the message on the calling thread', async () => {
  testOnlyFailNextOutputJob(1);
  const before = offloadedOutputJobCount();
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId, frameLength: 64 * 1024 });
  assert.equal(offloadedOutputJobCount(), before + 1);
  assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(plaintext));
  testOnlyFailNextOutputJob(2);
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
  assert.equal(offloadedOutputJobCount(), before + 2);
  // And a failure in the worker never hides a bad tag.
  const flipped = Buffer.from(ciphertext);
  flipped[flipped.length - 3]! ^= 1;
  testOnlyFailNextOutputJob(0);
  await assert.rejects(decrypt(aesKeyring(), flipped), AuthenticationError);
});

test('signed suites keep the hashing worker and never use the output worker', async () => {
  const before = offloadedOutputJobCount();
  const { ciphertext } = await encrypt(aesKeyring(), plaintext);
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
  assert.equal(offloadedOutputJobCount(), before);
});
