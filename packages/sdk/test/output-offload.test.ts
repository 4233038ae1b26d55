/**
 * Large messages in the buffer API use worker threads: encryption has the frames sealed by one
 * (internal/seal-offload.ts), decryption (and encryption with frames too long for that worker's
 * ring, or while it is busy) has the result written by another (internal/output-offload.ts),
 * and a signed message's signature is made or checked by a third (internal/hash-offload.ts). What callers get must be what the single-thread path gives:
 * a valid message the official SDK reads, an ordinary Buffer of their own, and the same named
 * errors with nothing released.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import * as official from '@aws-crypto/client-node';
import { AlgorithmSuiteId, AuthenticationError, decrypt, encrypt, MalformedMessageError } from '../src/index.js';
import { regularFrameSize } from '../src/internal/frames.js';
import { offloadedOutputJobCount, OUTPUT_OFFLOAD_MAX_FRAME, OUTPUT_OFFLOAD_MIN_BYTES, testOnlyFailNextOutputJob, testOnlyOutputRing } from '../src/internal/output-offload.js';
import { sealJobCount, testOnlyFailNextSealJob } from '../src/internal/seal-offload.js';
import { offloadedJobCount, testOnlyFailNextOffloadedJob } from '../src/internal/hash-offload.js';
import { AES_KEYS, aesKeyring } from './helpers/fixtures.js';
import { CONSUMED_FAILED, CONTROL_CONSUMED, StallWatch } from '../src/internal/worker-thread.js';

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

test('a large unsigned message is sealed and read through the workers; the official SDK reads it and the results are ordinary buffers', async () => {
  const before = offloadedOutputJobCount();
  const sealed = sealJobCount();
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId, frameLength: 64 * 1024 });
  assert.equal(sealJobCount(), sealed + 1, 'encrypt used the sealing worker');
  assert.equal(offloadedOutputJobCount(), before, 'encrypt did not need the output worker');
  assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(plaintext));
  const { plaintext: decrypted } = await decrypt(aesKeyring(), ciphertext);
  assert.equal(offloadedOutputJobCount(), before + 1, 'decrypt used the output worker');
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

test('frame layouts at the rings\' edges: frames that fill a slot exactly, frames larger than a slot, a full final frame', async () => {
  const slotExact = 2 * 1024 * 1024 / 2 - regularFrameSize(0); // two regular frames fill a 2 MiB slot
  const largestSealed = 1024 * 1024 - regularFrameSize(0); // one sealed frame fills a 1 MiB sealing slot
  for (const frameLength of [slotExact, largestSealed, largestSealed + 1, 3 * 1024 * 1024, 5 * 1024 * 1024, 1024 * 1024, 4096]) {
    const data = frameLength === 1024 * 1024 ? plaintext.subarray(0, 9 * frameLength) : plaintext;
    const before = offloadedOutputJobCount();
    const sealed = sealJobCount();
    const { ciphertext } = await encrypt(aesKeyring(), data, { suiteId, frameLength });
    assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(data), `official reads frameLength ${frameLength}`);
    assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(data), `we read frameLength ${frameLength}`);
    const sealedInWorker = frameLength <= largestSealed;
    assert.equal(sealJobCount(), sealed + (sealedInWorker ? 1 : 0), `sealing worker at frameLength ${frameLength}`);
    assert.equal(offloadedOutputJobCount(), before + (sealedInWorker ? 1 : 2), `output worker at frameLength ${frameLength}`);
  }
});

test('frames longer than OUTPUT_OFFLOAD_MAX_FRAME are written on the calling thread (a staged frame would double them in memory), through the cipher in pieces', async () => {
  const frameLength = OUTPUT_OFFLOAD_MAX_FRAME + 4 * 1024 * 1024;
  for (const suite of [suiteId, AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384]) {
    const before = offloadedOutputJobCount();
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: suite, frameLength });
    assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(plaintext), `official reads suite ${suite}`);
    assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
    assert.equal(offloadedOutputJobCount(), before, `suite ${suite}: neither encrypt nor decrypt used the output worker`);
    // The one frame's tag fails after every piece of it was deciphered: nothing is handed out.
    const flipped = Buffer.from(ciphertext);
    flipped[flipped.length - (suite === suiteId ? 1 : 120)]! ^= 1;
    await assert.rejects(decrypt(aesKeyring(), flipped), AuthenticationError);
  }
  const { result } = await client.encrypt(theirs, plaintext, { suiteId, frameLength });
  assert.ok((await decrypt(aesKeyring(), result)).plaintext.equals(plaintext), 'the official SDK\'s long frame');
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

test('concurrent large messages: one is sealed by the sealing worker, one written by the output worker, the third on its own thread; all decrypt', async () => {
  const before = offloadedOutputJobCount();
  const sealed = sealJobCount();
  const results = await Promise.all([0, 1, 2].map(() => encrypt(aesKeyring(), plaintext, { suiteId, frameLength: 64 * 1024 })));
  assert.equal(sealJobCount(), sealed + 1);
  assert.equal(offloadedOutputJobCount(), before + 1);
  const decrypted = await Promise.all(results.map(({ ciphertext }) => decrypt(aesKeyring(), ciphertext)));
  assert.equal(offloadedOutputJobCount(), before + 2);
  for (const { plaintext: p } of decrypted) assert.ok(p.equals(plaintext));
});

test('when a worker fails mid-job, encrypt and decrypt redo the message on the calling thread', async () => {
  const before = offloadedOutputJobCount();
  const sealed = sealJobCount();
  for (const slots of [0, 1, 2]) {
    testOnlyFailNextSealJob(slots);
    const { ciphertext: c } = await encrypt(aesKeyring(), plaintext, { suiteId, frameLength: 64 * 1024 });
    assert.ok((await client.decrypt(theirs, c)).plaintext.equals(plaintext), `sealing worker failed before slot ${slots}`);
  }
  assert.equal(sealJobCount(), sealed + 3);
  testOnlyFailNextOutputJob(1);
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId, frameLength: 3 * 1024 * 1024 });
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

test('signed suites: frames that fit the sealing ring are sealed there, longer ones written by the output worker; the hashing worker signs and verifies; decryption writes through the output worker', async () => {
  const before = offloadedOutputJobCount();
  const sealed = sealJobCount();
  const hashed = offloadedJobCount();
  // The default 1 MiB frames do not fit the sealing worker's slots: this thread seals them into the output worker's ring.
  const { ciphertext: defaultFrames } = await encrypt(aesKeyring(), plaintext);
  assert.equal(offloadedOutputJobCount(), before + 1, 'encrypt wrote through the output worker');
  assert.ok((await client.decrypt(theirs, defaultFrames)).plaintext.equals(plaintext), 'the official SDK verifies it');
  const { plaintext: decrypted } = await decrypt(aesKeyring(), defaultFrames);
  assert.ok(decrypted.equals(plaintext));
  assertOrdinary(defaultFrames);
  assertOrdinary(decrypted);
  assert.equal(sealJobCount(), sealed);
  assert.equal(offloadedOutputJobCount(), before + 2, 'decrypt wrote through the output worker');
  assert.equal(offloadedJobCount(), hashed + 2, 'signed on encrypt and verified on decrypt by the hashing worker');
  for (const frameLength of [4096, 64 * 1024]) {
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { frameLength });
    assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(plaintext), `frameLength ${frameLength}`);
    assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
    assertOrdinary(ciphertext);
  }
  assert.equal(sealJobCount(), sealed + 2);
  assert.equal(offloadedJobCount(), hashed + 6);
  assert.equal(offloadedOutputJobCount(), before + 4, 'only the decryptions of the sealed ones');
});

test('a large signed message written through the output worker: a bad signature, a flipped tag or a worker failing at any point gives what the single thread gives', async () => {
  const { ciphertext } = await encrypt(aesKeyring(), plaintext);
  // The signature's last byte, then a tag of the last frame: every frame before them was already handed to the worker.
  for (const at of [ciphertext.length - 1, ciphertext.length - 120]) {
    const flipped = Buffer.from(ciphertext);
    flipped[at]! ^= 1;
    await assert.rejects(decrypt(aesKeyring(), flipped), AuthenticationError, `flip at ${ciphertext.length - at} from the end`);
    assert.ok(new Uint8Array(testOnlyOutputRing()!).every((b) => b === 0), 'no plaintext left in the ring');
  }
  await assert.rejects(decrypt(aesKeyring(), Buffer.concat([ciphertext, Buffer.from([0])])), MalformedMessageError);
  const before = offloadedOutputJobCount();
  for (const slots of [0, 1, 3]) {
    testOnlyFailNextOutputJob(slots);
    const { ciphertext: c } = await encrypt(aesKeyring(), plaintext);
    assert.ok((await client.decrypt(theirs, c)).plaintext.equals(plaintext), `encrypt: output worker failed at slot ${slots}`);
    testOnlyFailNextOutputJob(slots);
    assert.ok((await decrypt(aesKeyring(), c)).plaintext.equals(plaintext), `decrypt: output worker failed at slot ${slots}`);
  }
  testOnlyFailNextOutputJob(1, 'exit');
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext), 'decrypt: output worker exited');
  // A failing worker never hides a bad signature.
  const badSignature = Buffer.from(ciphertext);
  badSignature[badSignature.length - 1]! ^= 1;
  testOnlyFailNextOutputJob(2);
  await assert.rejects(decrypt(aesKeyring(), badSignature), AuthenticationError);
  testOnlyFailNextOffloadedJob();
  await assert.rejects(decrypt(aesKeyring(), badSignature), AuthenticationError);
  testOnlyFailNextOffloadedJob();
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext), 'decrypt: hashing worker failed');
  testOnlyFailNextOffloadedJob();
  const { ciphertext: resigned } = await encrypt(aesKeyring(), plaintext);
  assert.ok((await client.decrypt(theirs, resigned)).plaintext.equals(plaintext), 'encrypt: hashing worker failed, signed on this thread');
  assert.ok(offloadedOutputJobCount() > before + 6);
});

test('a signed message whose sealing or hashing worker fails mid-job is still whole and verifies', async () => {
  const sealed = sealJobCount();
  testOnlyFailNextSealJob(1);
  const { ciphertext: resealed } = await encrypt(aesKeyring(), plaintext, { frameLength: 64 * 1024 });
  assert.equal(sealJobCount(), sealed + 1);
  assert.ok((await client.decrypt(theirs, resealed)).plaintext.equals(plaintext), 'sealed again on this thread');
  testOnlyFailNextOffloadedJob();
  const { ciphertext: resigned } = await encrypt(aesKeyring(), plaintext, { frameLength: 64 * 1024 });
  assert.equal(sealJobCount(), sealed + 2);
  assert.ok((await client.decrypt(theirs, resigned)).plaintext.equals(plaintext), 'signed again on this thread');
  assert.ok((await decrypt(aesKeyring(), resigned)).plaintext.equals(plaintext));
});

test('a calling thread gives up a worker that makes no progress, marking the job failed as a failing worker does', () => {
  const control = new Int32Array(new SharedArrayBuffer(4 * 4));
  // A clock of the test's own: a loaded machine must not decide the outcome.
  let clock = 1000;
  const watch = new StallWatch(control, 40, () => clock);
  assert.equal(watch.stalled(0), false);
  clock += 20;
  assert.equal(watch.stalled(1), false, 'progress restarts the wait');
  clock += 25;
  assert.equal(watch.stalled(1), false, 'within the window since the last progress');
  assert.equal(Atomics.load(control, CONTROL_CONSUMED), 0);
  clock += 15;
  assert.equal(watch.stalled(1), true);
  assert.equal(Atomics.load(control, CONTROL_CONSUMED), CONSUMED_FAILED);
});
