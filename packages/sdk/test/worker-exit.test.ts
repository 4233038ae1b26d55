/**
 * A worker thread that exits in the middle of a message, without an 'error' event and without
 * ever answering (here `process.exit` inside it, the test hooks' `'exit'`; in life a thread that
 * is torn down): the message is redone on the calling thread, the ring that held its plaintext
 * is zeroed, and that worker is never handed another message. Its own file: a worker that exited
 * stays gone for the rest of the process, which the other files' job counts must not see.
 *
 * Before the lanes listened for 'exit', such a message never settled: the test would end with
 * its promise pending (node:test fails it), as an application's request would hang.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { once } from 'node:events';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import * as official from '@aws-crypto/client-node';
import { AlgorithmSuiteId, decrypt, encrypt } from '../src/index.js';
import { offloadedJobCount, testOnlyFailNextOffloadedJob } from '../src/internal/hash-offload.js';
import { offloadedOutputJobCount, OUTPUT_OFFLOAD_MIN_BYTES, testOnlyFailNextOutputJob, testOnlyOutputRing } from '../src/internal/output-offload.js';
import { sealJobCount, testOnlyFailNextSealJob, testOnlySealRings } from '../src/internal/seal-offload.js';
import { CONSUMED_FAILED, CONTROL_CONSUMED, workerLane } from '../src/internal/worker-thread.js';
import { AES_KEYS, aesKeyring } from './helpers/fixtures.js';

const plaintext = randomFillSync(Buffer.alloc(OUTPUT_OFFLOAD_MIN_BYTES + 12345));
const unsigned = { suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, frameLength: 64 * 1024 };
const theirs = new official.RawAesKeyringNode({
  keyNamespace: 'coffer-test', keyName: 'aes-256', unencryptedMasterKey: new Uint8Array(AES_KEYS[32]),
  wrappingSuite: official.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const client = official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

function allZero(memory: SharedArrayBuffer | undefined): boolean {
  assert.ok(memory !== undefined, 'the ring was allocated');
  return new Uint8Array(memory).every((b) => b === 0);
}

test('the sealing worker exits mid-message: encrypt seals the message on its own thread, the input ring is zeroed, the worker is not used again', async () => {
  const sealed = sealJobCount();
  testOnlyFailNextSealJob(2, 'exit');
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, unsigned);
  assert.equal(sealJobCount(), sealed + 1, 'the job went to the worker');
  assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(plaintext), 'a whole message');
  assert.ok(allZero(testOnlySealRings()?.input), 'no plaintext left in the input ring');
  const { ciphertext: next } = await encrypt(aesKeyring(), plaintext, unsigned);
  assert.equal(sealJobCount(), sealed + 1, 'the next message did not go to the dead worker');
  assert.ok((await decrypt(aesKeyring(), next)).plaintext.equals(plaintext));
});

test('the output worker exits while assembling a plaintext: decrypt redoes it on its own thread and the ring that held plaintext is zeroed', async () => {
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, unsigned);
  const before = offloadedOutputJobCount();
  testOnlyFailNextOutputJob(2, 'exit');
  const { plaintext: decrypted } = await decrypt(aesKeyring(), ciphertext);
  assert.equal(offloadedOutputJobCount(), before + 1, 'the job went to the worker');
  assert.ok(decrypted.equals(plaintext));
  assert.ok(allZero(testOnlyOutputRing()), 'no plaintext left in the ring');
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
  assert.equal(offloadedOutputJobCount(), before + 1, 'the next message did not go to the dead worker');
});

test('the hashing worker exits while hashing a signed message: encrypt signs on its own thread and the signature verifies', async () => {
  const before = offloadedJobCount();
  testOnlyFailNextOffloadedJob('exit');
  const { ciphertext } = await encrypt(aesKeyring(), plaintext);
  assert.equal(offloadedJobCount(), before + 1, 'the job went to the worker');
  assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(plaintext));
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext));
  assert.equal(offloadedJobCount(), before + 1, 'verification did not go to the dead worker');
});

test('the hashing worker exits while every other worker is alive (a fresh process): encrypt signs on its own thread, sealing worker or not, and the process lives on', async () => {
  const modules = (name: string) => JSON.stringify(new URL(`../src/${name}`, import.meta.url).href);
  // In this file the output worker is dead by now; a child process has all three alive.
  const script = `
    import { randomFillSync } from 'node:crypto';
    const { decrypt, encrypt, RawAesKeyring } = await import(${modules('index.js')});
    const { testOnlyFailNextOffloadedJob } = await import(${modules('internal/hash-offload.js')});
    const keyring = new RawAesKeyring({ keyNamespace: 'n', keyName: 'k', wrappingKey: Buffer.alloc(32, 7) });
    const plaintext = randomFillSync(Buffer.alloc(${OUTPUT_OFFLOAD_MIN_BYTES} + 12345));
    for (const frameLength of [4096, 1024 * 1024, 4096]) {
      testOnlyFailNextOffloadedJob('exit');
      const { ciphertext } = await encrypt(keyring, plaintext, { frameLength });
      if (!(await decrypt(keyring, ciphertext)).plaintext.equals(plaintext)) throw new Error('frameLength ' + frameLength);
    }
    console.log('whole');`;
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script]);
  assert.equal(stdout.trim(), 'whole');
});

test('a worker thread that exits in the middle of a job marks it failed in the ring first, so the calling thread stops waiting for it', async () => {
  const serving = new URL('../src/internal/worker-thread.js', import.meta.url).href;
  const worker = new Worker(`import(${JSON.stringify(serving)}).then(({ serveJobs }) => serveJobs(() => process.exit(3)));`, { eval: true });
  const control = new Int32Array(new SharedArrayBuffer(4 * 4));
  await once(worker, 'online');
  worker.postMessage({ control: control.buffer });
  const [code] = await once(worker, 'exit');
  assert.equal(code, 3);
  assert.equal(Atomics.load(control, CONTROL_CONSUMED), CONSUMED_FAILED);
});

test('a worker whose script cannot even be named is one that cannot start: messages work on their own thread', async () => {
  // As in code bundled to CommonJS, where import.meta.url is empty and a URL made from it throws.
  // Named when the module loaded, it broke every program that loaded the SDK, small messages too.
  let named = 0;
  const lanes = workerLane(() => {
    named++;
    return new URL('./hash-worker.js', '');
  }, () => ({}));
  assert.equal(named, 0, 'not named before a message needs the worker');
  await lanes.started();
  assert.equal(named, 1);
  assert.equal(lanes.acquire(), null);
});
