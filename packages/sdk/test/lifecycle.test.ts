/**
 * The SDK in an application's process, start to end: a script that encrypts and decrypts large
 * messages (so every worker thread starts), gives up streams part-way, and has a worker die,
 * then returns from its main module must exit by itself, with code 0. Nothing the SDK leaves
 * behind (idle workers, their rings, a stream's pending work) may hold the process open.
 *
 * Each script runs in a child process as `node --input-type=module -e <script>`, as a one-off
 * script or a shell pipeline runs it (workers do not accept that option: the SDK starts them
 * without it). The kill timeout is only a guard so that a process that never exits fails the
 * test instead of hanging it (it asserts nothing about speed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const SRC = new URL('../src/', import.meta.url);

/**
 * Runs `body` as the main module of a fresh `node`, with the SDK built at `src`; the process
 * must print `done` and exit on its own.
 */
function assertExitsByItself(body: string, src: URL = SRC): void {
  const at = (path: string) => JSON.stringify(new URL(path, src).href);
  const script = `
    import { randomFillSync } from 'node:crypto';
    import { Readable, Writable } from 'node:stream';
    import { pipeline } from 'node:stream/promises';
    import * as sdk from ${at('index.js')};
    import { sealJobCount, testOnlyFailNextSealJob } from ${at('internal/seal-offload.js')};
    import { offloadedOutputJobCount } from ${at('internal/output-offload.js')};
    import { offloadedJobCount } from ${at('internal/hash-offload.js')};
    const keyring = new sdk.RawAesKeyring({ keyNamespace: 'app', keyName: 'k', wrappingKey: Buffer.alloc(32, 7) });
    const large = randomFillSync(Buffer.alloc(9 * 2 ** 20));
    const unsigned = { suiteId: sdk.AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, frameLength: 64 * 1024 };
    const check = (ok, what) => { if (!ok) throw new Error(what); };
    ${body}
    console.log('done');
  `;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', timeout: 120_000, killSignal: 'SIGKILL' });
  assert.equal(child.signal, null, `the process had to be killed: it did not exit by itself\n${child.stderr}`);
  assert.equal(child.status, 0, child.stderr);
  assert.equal(child.stdout.trim(), 'done');
}

test('large messages through every worker (sealing, writing, hashing), then main returns: the process exits by itself with code 0', () => {
  assertExitsByItself(`
    const sealed = await sdk.encrypt(keyring, large, unsigned);
    check((await sdk.decrypt(keyring, sealed.ciphertext)).plaintext.equals(large), 'unsigned round trip');
    const signed = await sdk.encrypt(keyring, large);
    check((await sdk.decrypt(keyring, signed.ciphertext)).plaintext.equals(large), 'signed round trip');
    const concurrent = await Promise.all([0, 1, 2, 3].map(() => sdk.encrypt(keyring, large, unsigned)));
    for (const { ciphertext } of concurrent) check((await sdk.decrypt(keyring, ciphertext)).plaintext.equals(large), 'concurrent');
    // Before the SDK left --input-type out of its workers' options, none of them could start here.
    check(sealJobCount() > 0 && offloadedOutputJobCount() > 0 && offloadedJobCount() > 0, 'every worker was used');
  `);
});

test('streams given up part-way (destroyed, aborted, cancelled; encrypt and decrypt), then a large message: the worker still serves it and the process exits by itself', () => {
  assertExitsByItself(`
    const { ciphertext } = await sdk.encrypt(keyring, large, { frameLength: 64 * 1024 });
    const half = ciphertext.subarray(0, ciphertext.length >> 1);
    const e = sdk.encryptStream(keyring);
    e.write(large.subarray(0, 3 * 2 ** 20));
    e.destroy();
    const d = sdk.decryptStream(keyring);
    d.on('data', () => { throw new Error('plaintext of a signed message released before it verified'); });
    d.write(half);
    await new Promise((resolve) => setImmediate(resolve));
    d.destroy();
    const aborted = new AbortController();
    const piped = pipeline(Readable.from([half, half]), sdk.decryptStream(keyring), new Writable({ write(c, _e, cb) { cb(); } }), { signal: aborted.signal });
    aborted.abort();
    await piped.then(() => { throw new Error('an aborted pipeline succeeded'); }, (err) => check(err.name === 'AbortError', 'AbortError'));
    const web = sdk.decryptWebStream(keyring);
    const reader = web.readable.getReader();
    const writer = web.writable.getWriter();
    const written = writer.write(half).catch(() => {});
    await new Promise((resolve) => setImmediate(resolve));
    await reader.cancel(new Error('gave up'));
    await written;
    const webEncrypt = sdk.encryptWebStream(keyring);
    const encryptWriter = webEncrypt.writable.getWriter();
    await encryptWriter.abort(new Error('gave up'));
    const before = sealJobCount();
    const after = await sdk.encrypt(keyring, large, unsigned);
    check(sealJobCount() === before + 1, 'the sealing worker took the next large message');
    check((await sdk.decrypt(keyring, after.ciphertext)).plaintext.equals(large), 'round trip after the streams');
  `);
});

test('a worker thread that exits mid-message: the message is redone, and the process still exits by itself', () => {
  assertExitsByItself(`
    testOnlyFailNextSealJob(1, 'exit');
    const { ciphertext } = await sdk.encrypt(keyring, large, unsigned);
    check((await sdk.decrypt(keyring, ciphertext)).plaintext.equals(large), 'redone on the calling thread');
  `);
});

test('an application bundled without the SDK\'s worker scripts: large messages run on their own thread, no job is handed to a worker that cannot start, and the process exits by itself', () => {
  // A bundler that inlines the SDK but does not ship the files its workers start from.
  const copy = mkdtempSync(join(tmpdir(), 'coffer-sdk-bundled-'));
  try {
    cpSync(fileURLToPath(SRC), copy, { recursive: true });
    writeFileSync(join(copy, 'package.json'), '{ "type": "module" }');
    for (const name of ['seal', 'output', 'hash']) {
      const file = join(copy, 'internal', `${name}-offload.js`);
      const code = readFileSync(file, 'utf8');
      const moved = code.replace(`new URL('./${name}-worker.js'`, `new URL('./not-shipped-${name}-worker.js'`);
      assert.notEqual(moved, code, `${name}-offload.js names its worker script as expected`);
      writeFileSync(file, moved);
    }
    // Before: each kind of worker got the first large message's job, which nobody took, and the
    // calling thread waited 30 s for it in a synchronous loop before doing the message itself.
    assertExitsByItself(`
      const sealed = await sdk.encrypt(keyring, large, unsigned);
      check((await sdk.decrypt(keyring, sealed.ciphertext)).plaintext.equals(large), 'unsigned round trip');
      const signed = await sdk.encrypt(keyring, large);
      check((await sdk.decrypt(keyring, signed.ciphertext)).plaintext.equals(large), 'signed round trip');
      check(sealJobCount() === 0 && offloadedOutputJobCount() === 0 && offloadedJobCount() === 0, 'no job went to a worker that never started');
    `, pathToFileURL(`${copy}/`));
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
});

test('large signed messages whose signature field is too long to verify: AuthenticationError each time, and the process exits by itself', () => {
  // The footer is the signature's length (2 bytes) and the signature; one over 1,024 bytes could
  // not be handed to the hashing worker, and the worker's lane was never given back.
  assertExitsByItself(`
    const { ciphertext } = await sdk.encrypt(keyring, large, { frameLength: 64 * 1024 });
    // A P-384 ECDSA signature in DER is 102 to 104 bytes: the footer starts where its length says.
    const signed = [100, 101, 102, 103, 104, 105].find((n) => ciphertext.readUInt16BE(ciphertext.length - 2 - n) === n);
    check(signed !== undefined, 'the footer was found');
    const body = ciphertext.subarray(0, ciphertext.length - 2 - signed);
    for (const length of [1025, 4096, 65535]) {
      const forged = Buffer.concat([body, Buffer.from([length >> 8, length & 0xff]), Buffer.alloc(length, 7)]);
      await sdk.decrypt(keyring, forged).then(() => { throw new Error('accepted'); }, (err) => check(err.name === 'AuthenticationError', err.name + ': ' + err.message));
    }
    check((await sdk.decrypt(keyring, ciphertext)).plaintext.equals(large), 'a sound message after them');
  `);
});
