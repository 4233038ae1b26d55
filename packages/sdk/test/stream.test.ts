/**
 * Streaming encrypt/decrypt (Node Transform and WHATWG TransformStream): identity with the
 * one-shot API, release rules (buffered until verified; frame-by-frame only for unsigned
 * suites on request), truncation always an error.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Readable, type Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as official from '@aws-crypto/client-node';
import {
  ALGORITHM_SUITES,
  AlgorithmSuiteId,
  AuthenticationError,
  CachingCryptographicMaterialsManager,
  decrypt,
  decryptStream,
  decryptWebStream,
  encrypt,
  encryptStream,
  encryptWebStream,
  KeyringError,
  LocalMaterialsCache,
  MalformedMessageError,
  NoDecryptionKeyError,
  PolicyViolationError,
  type DecryptionMaterials,
  type EncryptedDataKey,
  type EncryptionMaterials,
  type Keyring,
} from '../src/index.js';
import { ByteQueue } from '../src/internal/byte-queue.js';
import { AES_KEYS, aesKeyring, hex, policyFor } from './helpers/fixtures.js';

const UNSIGNED = AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY;
const SIGNED = AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;

function chunked(bytes: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let o = 0; o < bytes.length; o += size) out.push(bytes.subarray(o, o + size));
  return out;
}

/** Runs `chunks` through `t`; returns the output chunks, or throws the stream's error. */
async function run(t: Transform, chunks: readonly Buffer[]): Promise<Buffer[]> {
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), t, async (source: AsyncIterable<Buffer>) => {
    for await (const c of source) out.push(c);
  });
  return out;
}

/**
 * Writes `head` into a decrypt stream and lets it settle: `got` holds what it released by then;
 * `finish(rest)` ends it with the rest and answers everything it released.
 */
async function writePart(t: Transform, head: Uint8Array): Promise<{ got: Buffer[]; finish(rest?: Uint8Array): Promise<Buffer> }> {
  const got: Buffer[] = [];
  t.on('data', (c: Buffer) => got.push(c));
  await new Promise<void>((resolve) => t.write(head, () => resolve()));
  await new Promise((resolve) => setImmediate(resolve));
  return {
    got,
    async finish(rest) {
      if (rest === undefined) t.end();
      else t.end(rest);
      await new Promise((resolve) => t.on('end', resolve));
      return Buffer.concat(got);
    },
  };
}

class CountingKeyring implements Keyring {
  encrypts = 0;
  decrypts = 0;
  readonly #inner = aesKeyring();
  onEncrypt(m: EncryptionMaterials) {
    this.encrypts++;
    return this.#inner.onEncrypt(m);
  }
  onDecrypt(m: DecryptionMaterials, edks: readonly EncryptedDataKey[]) {
    this.decrypts++;
    return this.#inner.onDecrypt(m, edks);
  }
}

describe('encryptStream', () => {
  for (const suite of ALGORITHM_SUITES) {
    test(`suite ${hex(suite.id)}: streamed output decrypts (one-shot) to the input, for several chunkings`, async () => {
      const policy = policyFor(suite);
      for (const [frameLength, length, chunk] of [[100, 1000, 7], [100, 1000, 100], [64, 256, 1000], [4096, 0, 1], [50, 333, 1]] as const) {
        const plaintext = randomBytes(length);
        const ciphertext = Buffer.concat(await run(encryptStream(aesKeyring(), { suiteId: suite.id, frameLength, commitmentPolicy: policy }), chunked(plaintext, chunk)));
        const out = await decrypt(aesKeyring(), ciphertext, { commitmentPolicy: policy });
        assert.ok(out.plaintext.equals(plaintext), `${length} bytes, frame ${frameLength}, chunks of ${chunk}`);
        assert.equal(out.messageHeader.frameLength, frameLength);
      }
    });
  }

  test('the stream writes the same layout as the one-shot API (same length for the same input)', async () => {
    const plaintext = randomBytes(1024);
    const streamed = Buffer.concat(await run(encryptStream(aesKeyring(), { suiteId: UNSIGNED, frameLength: 256 }), chunked(plaintext, 10)));
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: UNSIGNED, frameLength: 256 });
    assert.equal(streamed.length, ciphertext.length);
  });

  test('the official SDK decrypts a streamed message', async () => {
    const theirs = new official.RawAesKeyringNode({
      keyNamespace: 'coffer-test', keyName: 'aes-256', unencryptedMasterKey: new Uint8Array(AES_KEYS[32]),
      wrappingSuite: official.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
    });
    const plaintext = randomBytes(5000);
    const ciphertext = Buffer.concat(await run(encryptStream(aesKeyring(), { frameLength: 1000 }), chunked(plaintext, 333)));
    const out = await official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT).decrypt(theirs, ciphertext);
    assert.ok(out.plaintext.equals(plaintext));
  });

  test('misuse throws at construction, before any data flows', () => {
    assert.throws(() => encryptStream(aesKeyring(), { frameLength: 0 }), RangeError);
    assert.throws(() => encryptWebStream(aesKeyring(), { plaintextLength: -1 }), RangeError);
    assert.throws(() => decryptStream(aesKeyring(), { maxBufferedBytes: 0 }), RangeError);
    // The encrypt streams as the decrypt streams: no keyring, a reserved context key or a suite the
    // commitment policy forbids is refused by the constructor, not by the first write.
    for (const make of [encryptStream, encryptWebStream] as const) {
      for (const keyring of [undefined, null, {}]) {
        assert.throws(() => make(keyring as unknown as Keyring), { name: 'TypeError', message: 'expected a keyring' }, `${make.name}(${JSON.stringify(keyring)})`);
      }
      assert.throws(() => make(aesKeyring(), { suiteId: AlgorithmSuiteId.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384 }), PolicyViolationError);
      assert.throws(() => make(aesKeyring(), { encryptionContext: { 'aws-crypto-public-key': 'x' } }), PolicyViolationError);
      assert.throws(() => make(aesKeyring(), { frameLength: 1, plaintextLength: 2 ** 40 }), { name: 'RangeError', message: /more than 2\^32 - 1 frames/ });
    }
  });

  test('a declared plaintextLength is enforced and lets the caching manager cache', async () => {
    await assert.rejects(run(encryptStream(aesKeyring(), { plaintextLength: 10 }), [Buffer.alloc(11)]), PolicyViolationError);
    await assert.rejects(run(encryptStream(aesKeyring(), { plaintextLength: 10 }), [Buffer.alloc(9)]), PolicyViolationError);
    const keyring = new CountingKeyring();
    const cmm = new CachingCryptographicMaterialsManager({ underlying: keyring, cache: new LocalMaterialsCache(), maxAge: 60_000 });
    for (let i = 0; i < 3; i++) await run(encryptStream(cmm, { plaintextLength: 4 }), [Buffer.from('abcd')]);
    assert.equal(keyring.encrypts, 1);
    for (let i = 0; i < 2; i++) await run(encryptStream(cmm), [Buffer.from('abcd')]);
    assert.equal(keyring.encrypts, 3, 'a stream of unknown length bypasses the cache');
  });

  test('the web TransformStream round-trips through the web decrypt stream', async () => {
    const plaintext = randomBytes(3000);
    const encrypted = Readable.toWeb(Readable.from(chunked(plaintext, 700))).pipeThrough(encryptWebStream(aesKeyring(), { frameLength: 512 }));
    const decrypted = encrypted.pipeThrough(decryptWebStream(aesKeyring()));
    const out: Uint8Array[] = [];
    for await (const c of decrypted as unknown as AsyncIterable<Uint8Array>) out.push(c);
    assert.ok(Buffer.concat(out).equals(plaintext));
  });
});

describe('web streams report the message header', () => {
  /** Writes `chunks` into `ts` and reads all it gives; resolves with the output or rejects with the stream's error. */
  async function through(ts: TransformStream<Uint8Array, Uint8Array>, chunks: readonly Uint8Array[]): Promise<Buffer> {
    const out: Uint8Array[] = [];
    const reading = (async () => {
      for await (const c of ts.readable as unknown as AsyncIterable<Uint8Array>) out.push(c);
    })();
    const writer = ts.writable.getWriter();
    const writing = (async () => {
      for (const c of chunks) await writer.write(c);
      await writer.close();
    })();
    const [r, w] = await Promise.allSettled([reading, writing]);
    if (r.status === 'rejected') throw r.reason;
    if (w.status === 'rejected') throw w.reason;
    return Buffer.concat(out);
  }

  test('encryption and decryption report the same header as the buffer API', async () => {
    const plaintext = randomBytes(2000);
    const encryptionContext = { purpose: 'web-stream' };
    const enc = encryptWebStream(aesKeyring(), { suiteId: UNSIGNED, frameLength: 512, encryptionContext });
    const ciphertext = await through(enc, chunked(plaintext, 300));
    const written = await enc.messageHeader;
    assert.equal(written.suiteId, UNSIGNED);
    assert.equal(written.frameLength, 512);
    assert.equal(written.encryptionContext.purpose, 'web-stream');
    assert.deepEqual(written.encryptedDataKeys.map((e) => e.providerId), ['coffer-test']);

    const dec = decryptWebStream(aesKeyring());
    assert.ok((await through(dec, chunked(ciphertext, 77))).equals(plaintext));
    const read = await dec.messageHeader;
    assert.deepEqual(read, (await decrypt(aesKeyring(), ciphertext)).messageHeader);
    assert.ok(read.messageId.equals(written.messageId));
  });

  test('decryption reports the header as soon as it is authenticated, before the body arrives', async () => {
    const { ciphertext, messageHeader } = await encrypt(aesKeyring(), randomBytes(5000), { suiteId: SIGNED, frameLength: 1024 });
    const dec = decryptWebStream(aesKeyring());
    const writer = dec.writable.getWriter();
    // A TransformStream transforms as its readable side is read: a reader is waiting, and gets nothing
    // before the header is known (a signed message: no plaintext before the end).
    const firstRead = dec.readable.getReader().read().catch((e: unknown) => e);
    const headerLength = ciphertext.length - 5000 - 200; // well inside the first frame
    void writer.write(ciphertext.subarray(0, headerLength)).catch(() => {});
    const header = await dec.messageHeader;
    assert.ok(header.messageId.equals(messageHeader.messageId));
    assert.equal(header.suiteId, SIGNED);
    await writer.abort(new Error('enough'));
    assert.ok((await firstRead) instanceof Error, 'no plaintext was read');
  });

  test('an empty plaintext still reports the header (materials fetched at the end)', async () => {
    const enc = encryptWebStream(aesKeyring());
    const ciphertext = await through(enc, []);
    assert.equal((await enc.messageHeader).frameLength, 1024 * 1024);
    assert.equal((await decrypt(aesKeyring(), ciphertext)).plaintext.length, 0);
  });

  test('a stream that fails before the header rejects the header with the same named error', async () => {
    const { ciphertext } = await encrypt(aesKeyring(), Buffer.from('secret'));
    const wrongKey = decryptWebStream(aesKeyring(32, 'another-key'));
    await assert.rejects(through(wrongKey, [ciphertext]), NoDecryptionKeyError);
    await assert.rejects(wrongKey.messageHeader, NoDecryptionKeyError);

    const truncated = decryptWebStream(aesKeyring());
    await assert.rejects(through(truncated, [ciphertext.subarray(0, 20)]), MalformedMessageError);
    await assert.rejects(truncated.messageHeader, MalformedMessageError);

    const failing: Keyring = { onEncrypt: async () => { throw new KeyringError('no data key today'); }, onDecrypt: async (m) => m };
    const refused = encryptWebStream(failing, { suiteId: UNSIGNED });
    const refusal = await through(refused, [Buffer.from('x')]).then(() => undefined, (e: unknown) => e);
    assert.ok(refusal instanceof Error);
    await assert.rejects(refused.messageHeader, (e: unknown) => e === refusal);
  });

  test('an aborted or cancelled stream rejects a header still pending', async () => {
    const dec = decryptWebStream(aesKeyring());
    await dec.writable.getWriter().abort(new Error('writer gave up'));
    await assert.rejects(dec.messageHeader, /writer gave up/);

    const enc = encryptWebStream(aesKeyring());
    await enc.readable.cancel(new Error('reader gave up'));
    await assert.rejects(enc.messageHeader, /reader gave up/);
  });

  test('a failing stream whose header nobody reads raises no unhandled rejection', async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onUnhandled);
    try {
      await assert.rejects(through(decryptWebStream(aesKeyring()), [Buffer.from('not a message')]), MalformedMessageError);
      await new Promise((resolve) => setTimeout(resolve, 20));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
    }
  });
});

describe('decryptStream', () => {
  for (const suite of ALGORITHM_SUITES) {
    test(`suite ${hex(suite.id)}: buffered mode decrypts a one-shot message written in odd chunks`, async () => {
      const policy = policyFor(suite);
      const plaintext = randomBytes(2500);
      const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: suite.id, frameLength: 300, commitmentPolicy: policy });
      for (const chunk of [1, 13, 4096]) {
        const out = Buffer.concat(await run(decryptStream(aesKeyring(), { commitmentPolicy: policy }), chunked(ciphertext, chunk)));
        assert.ok(out.equals(plaintext), `chunks of ${chunk}`);
      }
    });
  }

  test('plaintext released from small pieces lies in memory that holds nothing but this message\'s plaintext or zeros', async () => {
    const plaintext = Buffer.from('8 bytes!');
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { frameLength: 4 });
    for (const signedStreaming of [false, true]) {
      for (let round = 0; round < 20; round++) {
        // Freed memory another message's plaintext could have been in, likely handed out again.
        for (let i = 0; i < 20; i++) Buffer.allocUnsafe(64 * 1024).fill(0xa5);
        const chunks = await run(decryptStream(aesKeyring(), signedStreaming ? { signedStreaming } : {}), chunked(ciphertext, 7));
        assert.ok(Buffer.concat(chunks).equals(plaintext));
        // The blocks small pieces are gathered in (internal/small-pieces.ts); Node's own 8 KiB pool is Node's affair.
        const fromBlocks = chunks.filter((c) => c.buffer.byteLength === 64 * 1024);
        if (!signedStreaming) assert.ok(fromBlocks.length > 0, 'held plaintext of 7-byte chunks is gathered in blocks');
        for (const chunk of fromBlocks) {
          const whole = Buffer.from(chunk.buffer, 0, chunk.buffer.byteLength);
          assert.equal(whole.indexOf(0xa5), -1, `a released chunk's ArrayBuffer (${whole.length} bytes) holds bytes from elsewhere`);
        }
      }
    }
  });

  test('buffered mode releases nothing before the end of input, even for a complete signed message', async () => {
    const plaintext = randomBytes(4000);
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: SIGNED, frameLength: 100 });
    const { got, finish } = await writePart(decryptStream(aesKeyring()), ciphertext);
    assert.equal(got.length, 0, 'no plaintext before the stream ended');
    assert.equal((await finish()).length, plaintext.length);
  });

  test('unsignedStreaming releases each verified frame before the message ends, never more than has verified', async () => {
    const plaintext = randomBytes(10_000);
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: UNSIGNED, frameLength: 1000 });
    const { got, finish } = await writePart(decryptStream(aesKeyring(), { unsignedStreaming: true }), ciphertext.subarray(0, ciphertext.length - 500));
    // Frames verified in one write may come out merged (small pieces are gathered), but only verified frames come out.
    const early = Buffer.concat(got);
    assert.ok(early.length >= 8000 && early.length % 1000 === 0, `whole frames came out before the input ended (${early.length} bytes)`);
    assert.ok(early.equals(plaintext.subarray(0, early.length)));
    assert.ok((await finish(ciphertext.subarray(ciphertext.length - 500))).equals(plaintext));
  });

  test('unsignedStreaming: a released chunk\'s memory holds none of a frame not verified yet', async () => {
    // Small frames are deciphered into shared blocks; the next frame's first bytes land there
    // before its tag arrives, and a released chunk must not be a window onto them.
    const plaintext = randomBytes(2500);
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: UNSIGNED, frameLength: 1000 });
    // Two regular frames (sequence number, IV, 1000 bytes, tag) and a final one of 500 bytes: everything
    // up to the middle of the second frame's ciphertext, whose tag has not arrived.
    const regular = 4 + 12 + 1000 + 16;
    const header = ciphertext.length - 2 * regular - (4 + 4 + 12 + 4 + 500 + 16);
    const secondFrameMiddle = header + regular + 4 + 12 + 500;
    const { got, finish } = await writePart(decryptStream(aesKeyring(), { unsignedStreaming: true }), ciphertext.subarray(0, secondFrameMiddle));
    assert.ok(Buffer.concat(got).equals(plaintext.subarray(0, 1000)), 'only the first frame came out');
    const unverified = plaintext.subarray(1000, 1064);
    for (const chunk of got) assert.equal(Buffer.from(chunk.buffer).indexOf(unverified), -1, 'a released chunk shares memory with unverified plaintext');
    assert.ok((await finish(ciphertext.subarray(secondFrameMiddle))).equals(plaintext));
  });

  test('unsignedStreaming refuses a signed message before any keyring is called', async () => {
    const { ciphertext } = await encrypt(aesKeyring(), Buffer.from('signed'), { suiteId: SIGNED });
    const keyring = new CountingKeyring();
    await assert.rejects(run(decryptStream(keyring, { unsignedStreaming: true }), [ciphertext]), PolicyViolationError);
    assert.equal(keyring.decrypts, 0);
  });

  test('signedStreaming releases a signed message\'s verified frames before its end, and its final frame only once the signature verifies', async () => {
    const plaintext = randomBytes(10_500);
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: SIGNED, frameLength: 1000 });
    // Everything but the last byte of the signature: every frame has verified, the signature has not.
    const { got, finish } = await writePart(decryptStream(aesKeyring(), { signedStreaming: true, maxBufferedBytes: 4000 }), ciphertext.subarray(0, ciphertext.length - 1));
    assert.ok(Buffer.concat(got).equals(plaintext.subarray(0, 10_000)), 'the ten regular frames, not the final one');
    // More than maxBufferedBytes in all: only the final frame was ever held.
    assert.ok((await finish(ciphertext.subarray(ciphertext.length - 1))).equals(plaintext));
  });

  test('signedStreaming: a bad signature fails the stream and the final frame is never released', async () => {
    const plaintext = randomBytes(2500);
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: SIGNED, frameLength: 1000 });
    const damaged = Buffer.from(ciphertext);
    damaged[damaged.length - 1]! ^= 1;
    const out: Buffer[] = [];
    await assert.rejects(
      pipeline(Readable.from(chunked(damaged, 300)), decryptStream(aesKeyring(), { signedStreaming: true }), async (s: AsyncIterable<Buffer>) => { for await (const c of s) out.push(c); }),
      AuthenticationError,
    );
    // The error may overtake frames already released on their way through the pipeline: a prefix.
    const released = Buffer.concat(out);
    assert.ok(released.length <= 2000 && released.equals(plaintext.subarray(0, released.length)), 'at most the regular frames came out');
    // An unsigned message streams whole under the option too, and a truncated one still fails.
    const { ciphertext: unsigned } = await encrypt(aesKeyring(), plaintext, { suiteId: UNSIGNED, frameLength: 1000 });
    assert.ok(Buffer.concat(await run(decryptStream(aesKeyring(), { signedStreaming: true, maxBufferedBytes: 1000 }), chunked(unsigned, 300))).equals(plaintext));
    await assert.rejects(run(decryptStream(aesKeyring(), { signedStreaming: true }), [ciphertext.subarray(0, ciphertext.length - 10)]), MalformedMessageError);
    assert.throws(() => decryptStream(aesKeyring(), { signedStreaming: true, unsignedStreaming: true }), TypeError);
  });

  test('a release mode is switched by true or false only: \'true\' or 1 (from a config file, say) is a TypeError, not buffered mode', () => {
    for (const name of ['unsignedStreaming', 'signedStreaming'] as const) {
      for (const value of ['true', 1, 'false', null]) {
        const options = { [name]: value } as never;
        assert.throws(() => decryptStream(aesKeyring(), options), { name: 'TypeError', message: `${name} must be true or false` });
        assert.throws(() => decryptWebStream(aesKeyring(), options), { name: 'TypeError', message: `${name} must be true or false` });
      }
      decryptStream(aesKeyring(), { [name]: false }).destroy();
    }
    // And the two are still refused together when one is given as a string.
    assert.throws(() => decryptStream(aesKeyring(), { unsignedStreaming: 'true', signedStreaming: true } as never), TypeError);
  });

  test('options given as null are a TypeError that says so, in every streaming entry point', () => {
    for (const start of [encryptStream, decryptStream, encryptWebStream, decryptWebStream]) {
      assert.throws(() => start(aesKeyring(), null as never), { name: 'TypeError', message: 'options must be an object' }, start.name);
    }
  });

  test('buffered mode fails (releasing nothing) once the plaintext exceeds maxBufferedBytes', async () => {
    const { ciphertext } = await encrypt(aesKeyring(), randomBytes(5000), { suiteId: SIGNED, frameLength: 1000 });
    const out: Buffer[] = [];
    await assert.rejects(
      pipeline(Readable.from(chunked(ciphertext, 512)), decryptStream(aesKeyring(), { maxBufferedBytes: 4000 }), async (s: AsyncIterable<Buffer>) => { for await (const c of s) out.push(c); }),
      PolicyViolationError,
    );
    assert.equal(out.length, 0);
    assert.ok(Buffer.concat(await run(decryptStream(aesKeyring(), { maxBufferedBytes: 5000 }), chunked(ciphertext, 512))).length === 5000);
  });

  for (const [mode, suiteId, options] of [
    ['buffered', SIGNED, {}], ['unsignedStreaming', UNSIGNED, { unsignedStreaming: true }], ['signedStreaming', SIGNED, { signedStreaming: true }],
  ] as const) {
    test(`${mode}: a stream cut at any offset ends in an error, never in success`, async () => {
      const { ciphertext } = await encrypt(aesKeyring(), randomBytes(300), { suiteId, frameLength: 64 });
      for (let n = 0; n < ciphertext.length; n++) {
        await assert.rejects(run(decryptStream(aesKeyring(), options), chunked(ciphertext.subarray(0, n), 50)), MalformedMessageError, `cut at ${n}`);
      }
    });
  }

  test('trailing bytes, a flipped body bit and a wrong key each fail with the named error', async () => {
    const { ciphertext } = await encrypt(aesKeyring(), randomBytes(500), { suiteId: SIGNED, frameLength: 100 });
    await assert.rejects(run(decryptStream(aesKeyring()), [ciphertext, Buffer.from([0])]), MalformedMessageError);
    const flipped = Buffer.from(ciphertext);
    flipped[flipped.length - 200]! ^= 1;
    await assert.rejects(run(decryptStream(aesKeyring()), chunked(flipped, 64)), AuthenticationError);
    const { ciphertext: unsigned } = await encrypt(aesKeyring(), randomBytes(500), { suiteId: UNSIGNED, frameLength: 100 });
    const flipped2 = Buffer.from(unsigned);
    flipped2[flipped2.length - 20]! ^= 1;
    await assert.rejects(run(decryptStream(aesKeyring(), { unsignedStreaming: true }), chunked(flipped2, 64)), AuthenticationError);
  });

  test('decrypts a message the official SDK wrote, and emits messageHeader', async () => {
    const theirs = new official.RawAesKeyringNode({
      keyNamespace: 'coffer-test', keyName: 'aes-256', unencryptedMasterKey: new Uint8Array(AES_KEYS[32]),
      wrappingSuite: official.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
    });
    const plaintext = randomBytes(9000);
    const { result } = await official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT).encrypt(theirs, plaintext, { encryptionContext: { a: 'b' } });
    const t = decryptStream(aesKeyring());
    let header: { encryptionContext: Record<string, string> } | undefined;
    t.on('messageHeader', (h: typeof header) => { header = h; });
    assert.ok(Buffer.concat(await run(t, chunked(result, 1000))).equals(plaintext));
    assert.equal(header?.encryptionContext.a, 'b');
  });
});

test('large frames (sealed as header, ciphertext, tag pieces; opened piece by piece as the input arrives) round-trip with the buffer API and the official SDK', async () => {
  const theirs = new official.RawAesKeyringNode({
    keyNamespace: 'coffer-test', keyName: 'aes-256', unencryptedMasterKey: new Uint8Array(AES_KEYS[32]),
    wrappingSuite: official.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
  });
  const client = official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
  const frameLength = 64 * 1024;
  // A full final frame, a short one, an empty stream's lone final frame; chunks smaller and larger than a frame.
  for (const [length, chunk] of [[4 * frameLength, 7_001], [3 * frameLength + 5, 200_000], [0, 1]] as const) {
    const plaintext = randomBytes(length);
    for (const suiteId of [UNSIGNED, SIGNED]) {
      const ciphertext = Buffer.concat(await run(encryptStream(aesKeyring(), { suiteId, frameLength }), chunked(plaintext, chunk)));
      assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(plaintext), `buffer API reads ${length} bytes, suite ${suiteId}`);
      assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(plaintext), `official reads ${length} bytes, suite ${suiteId}`);
      const options = suiteId === UNSIGNED ? { unsignedStreaming: true } : {};
      assert.ok(Buffer.concat(await run(decryptStream(aesKeyring(), options), chunked(ciphertext, 4_999))).equals(plaintext), `stream reads ${length} bytes, suite ${suiteId}`);
    }
  }
});

test('unsignedStreaming with large frames: a flipped bit in the middle of a frame releases the frames before it and nothing of that frame', async () => {
  const frameLength = 64 * 1024;
  const plaintext = randomBytes(4 * frameLength);
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: UNSIGNED, frameLength });
  const flipped = Buffer.from(ciphertext);
  // The third frame's ciphertext, half-way: two frames verify before it.
  const bodyStart = ciphertext.length - (3 * (4 + 12 + frameLength + 16) + (4 + 4 + 12 + 4 + frameLength + 16));
  flipped[bodyStart + 2 * (4 + 12 + frameLength + 16) + 16 + frameLength / 2]! ^= 1;
  const out: Buffer[] = [];
  await assert.rejects(
    pipeline(Readable.from(chunked(flipped, 10_000)), decryptStream(aesKeyring(), { unsignedStreaming: true }), async (src: AsyncIterable<Buffer>) => { for await (const c of src) out.push(c); }),
    AuthenticationError,
  );
  assert.ok(Buffer.concat(out).equals(plaintext.subarray(0, 2 * frameLength)), 'exactly the two verified frames came out');
});

test('maxBufferedBytes bounds each frame: a small message with a large declared frame length still decrypts; a large frame is refused', async () => {
  const small = await encrypt(aesKeyring(), Buffer.from('tiny'), { suiteId: UNSIGNED, frameLength: 1 << 20 });
  assert.equal(Buffer.concat(await run(decryptStream(aesKeyring(), { maxBufferedBytes: 1024, unsignedStreaming: true }), [small.ciphertext])).toString(), 'tiny');
  const big = await encrypt(aesKeyring(), randomBytes(5000), { suiteId: UNSIGNED, frameLength: 2048 });
  const out: Buffer[] = [];
  await assert.rejects(
    pipeline(Readable.from([big.ciphertext]), decryptStream(aesKeyring(), { maxBufferedBytes: 1024, unsignedStreaming: true }), async (s: AsyncIterable<Buffer>) => { for await (const c of s) out.push(c); }),
    PolicyViolationError,
  );
  assert.equal(out.length, 0);
});

test('a header cut into tiny chunks is read whole, announced before any plaintext, even when only the end of input completes it', async () => {
  for (const suiteId of [UNSIGNED, SIGNED]) {
    const plaintext = Buffer.from('a short message');
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId, frameLength: 64, encryptionContext: { k: 'v'.repeat(300) } });
    for (const size of [1, 5, 97]) {
      const d = decryptStream(aesKeyring(), { unsignedStreaming: suiteId === UNSIGNED });
      const events: string[] = [];
      d.on('messageHeader', () => events.push('header'));
      const out = await run(d.on('data', () => events.push('data')), chunked(ciphertext, size));
      assert.ok(Buffer.concat(out).equals(plaintext), `suite ${hex(suiteId)}, chunks of ${size}`);
      assert.equal(events[0], 'header', `suite ${hex(suiteId)}, chunks of ${size}: ${events.join(',')}`);
    }
  }
});

test('a header longer than maxBufferedBytes is refused however the input is cut, whole or in small chunks', async () => {
  const { ciphertext } = await encrypt(aesKeyring(), Buffer.from('x'), { suiteId: UNSIGNED, encryptionContext: { k: 'v'.repeat(400) } });
  for (const size of [ciphertext.length, 64, 1]) {
    await assert.rejects(run(decryptStream(aesKeyring(), { unsignedStreaming: true, maxBufferedBytes: 100 }), chunked(ciphertext, size)),
      (e: unknown) => e instanceof PolicyViolationError && /header is longer than maxBufferedBytes/.test(e.message), `chunks of ${size}`);
  }
});

// The timeout stands for "refused rather than gathered": gathering ~12 GiB would not end.
test('a header longer than maxBufferedBytes is refused as it arrives, not gathered (a message may declare ~12 GiB of data keys)', { timeout: 60_000 }, async () => {
  // Version 2, suite 0x0478, a message id, no context, then 65,535 data keys of three 65,535-byte
  // fields each: a valid start of a header that never ends within reach.
  const field = Buffer.concat([Buffer.from([0xff, 0xff]), Buffer.alloc(0xffff, 0x61)]);
  let sent = 0;
  function* hostile(): Generator<Buffer> {
    yield Buffer.concat([Buffer.from([0x02, 0x04, 0x78]), randomBytes(32), Buffer.from([0, 0, 0xff, 0xff])]);
    for (let i = 0; i < 3 * 0xffff; i++) {
      sent += field.length;
      yield field;
    }
  }
  const limit = 4 * 2 ** 20;
  await assert.rejects(
    pipeline(Readable.from(hostile()), decryptStream(aesKeyring(), { maxBufferedBytes: limit }), async (s: AsyncIterable<Buffer>) => {
      for await (const _ of s) assert.fail('no plaintext');
    }),
    (e: unknown) => e instanceof PolicyViolationError && /header is longer than maxBufferedBytes/.test(e.message),
  );
  assert.ok(sent < 2 * limit, `refused after ${sent} bytes`);

  const web = decryptWebStream(aesKeyring(), { maxBufferedBytes: limit });
  sent = 0;
  const reading = (async () => {
    for await (const _ of web.readable as unknown as AsyncIterable<Uint8Array>) assert.fail('no plaintext');
  })();
  const writer = web.writable.getWriter();
  const writing = (async () => {
    for (const chunk of hostile()) await writer.write(chunk);
  })();
  await assert.rejects(reading, PolicyViolationError);
  await assert.rejects(writing, PolicyViolationError);
  await assert.rejects(web.messageHeader, PolicyViolationError);
  assert.ok(sent < 2 * limit, `refused after ${sent} bytes`);
});

test('an encryption context that runs short inside its own length is malformed at once, not awaited as a truncated message', async () => {
  const { ciphertext } = await encrypt(aesKeyring(), randomBytes(100), { suiteId: UNSIGNED, encryptionContext: { a: 'b' } });
  // Version 2: version (1), suite (2), message id (32), AAD length (2), then the pair count.
  const bad = Buffer.from(ciphertext);
  assert.equal(bad.readUInt16BE(37), 1);
  bad.writeUInt16BE(2, 37);
  const isShortContext = (e: unknown) => e instanceof MalformedMessageError && /encryption context ends inside/.test(e.message);
  await assert.rejects(decrypt(aesKeyring(), bad), isShortContext);

  let sent = 0;
  function* followedByMore(): Generator<Buffer> {
    for (const piece of [bad, ...Array.from({ length: 128 }, () => Buffer.alloc(64 * 1024))]) {
      sent += piece.length;
      yield piece;
    }
  }
  await assert.rejects(
    pipeline(Readable.from(followedByMore()), decryptStream(aesKeyring(), { maxBufferedBytes: 1 << 20 }), async (s: AsyncIterable<Buffer>) => {
      for await (const _ of s) assert.fail('no plaintext');
    }),
    isShortContext,
  );
  assert.ok(sent < 1 << 20, `failed after ${sent} bytes`);
});

test('the input queue gathers tiny chunks: one-byte chunks come back as a few buffers, in order, and consumed chunks are dropped', () => {
  const q = new ByteQueue();
  const bytes = randomBytes(200_000);
  for (let i = 0; i < bytes.length; i++) q.push(Buffer.from(bytes.subarray(i, i + 1)));
  assert.equal(q.length, bytes.length);
  const views: Buffer[] = [];
  while (q.length > 100_000) views.push(q.takeUpTo(q.length - 100_000));
  // Before: one view per pushed byte (100,000 of them), each a Buffer held since it arrived.
  assert.ok(views.length <= 4, `${views.length} views for 100,000 one-byte chunks`);
  assert.ok(Buffer.concat([...views, q.take(q.length)]).equals(bytes));
  // Large chunks are kept as they are, and adjacent views of one buffer are merged.
  const big = randomBytes(3 * 65536);
  for (let o = 0; o < big.length; o += 65536) q.push(big.subarray(o, o + 65536));
  assert.equal(q.takeUpTo(big.length).length, big.length);
});

test('the input queue owns what it holds once ownRemaining returns: chunks the caller then overwrites read back as pushed, each copied once', () => {
  const q = new ByteQueue();
  const bytes = randomBytes(12 * 1024 * 1024 + 77);
  const reused = Buffer.alloc(5000);
  let taken = 0;
  const out: Buffer[] = [];
  // Mixed sizes (small pieces go to the arena, large ones are queued by reference), some consumed
  // between pushes, thousands queued at once (as a non-framed body waits whole), past compaction.
  for (let o = 0, i = 0; o < bytes.length; i++) {
    const size = [5000, 4096, 100, 4999][i % 4]!;
    const n = bytes.copy(reused, 0, o, o + size);
    q.push(reused.subarray(0, n));
    q.ownRemaining();
    reused.fill(0xee);
    o += n;
    // Most of it, not all: the queue drops consumed chunks by compacting, not by starting afresh.
    if (i % 1500 === 1499) while (q.length > 20_000) taken += out[out.push(q.takeUpTo(q.length - 20_000)) - 1]!.length;
  }
  while (q.length > 0) taken += out[out.push(q.takeUpTo(q.length)) - 1]!.length;
  assert.equal(taken, bytes.length);
  assert.ok(Buffer.concat(out).equals(bytes));
});

test('plaintext of tiny frames or tiny input chunks is held and released as a few buffers, not one object per piece (node and web)', async () => {
  // One-byte frames, all in one input chunk: buffered mode holds one piece per frame until the end.
  const plaintext = randomBytes(20_000);
  const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId: UNSIGNED, frameLength: 1 });
  for (const unsignedStreaming of [false, true]) {
    const out = await run(decryptStream(aesKeyring(), { unsignedStreaming }), [ciphertext]);
    assert.ok(Buffer.concat(out).equals(plaintext));
    // Before: 20,000 one-byte chunks (a few hundred bytes of objects per plaintext byte held).
    assert.ok(out.length <= 4, `node, unsignedStreaming ${unsignedStreaming}: ${out.length} chunks`);

    // A web stream's queue of many chunks dequeues in quadratic time (Array.shift): keep it short.
    const web = decryptWebStream(aesKeyring(), { unsignedStreaming });
    const chunks: Uint8Array[] = [];
    const reading = (async () => {
      for await (const c of web.readable as unknown as AsyncIterable<Uint8Array>) chunks.push(c);
    })();
    const writer = web.writable.getWriter();
    await writer.write(ciphertext);
    await writer.close();
    await reading;
    assert.ok(Buffer.concat(chunks).equals(plaintext));
    assert.ok(chunks.length <= 4, `web, unsignedStreaming ${unsignedStreaming}: ${chunks.length} chunks`);
  }

  // One large frame arriving in one-byte chunks: deciphered piece by piece, held until its tag verifies.
  const frame = randomBytes(50_000);
  const one = await encrypt(aesKeyring(), frame, { suiteId: UNSIGNED, frameLength: 65536 });
  const out = await run(decryptStream(aesKeyring(), { unsignedStreaming: true }), chunked(one.ciphertext, 1));
  assert.ok(Buffer.concat(out).equals(frame));
  assert.ok(out.length <= 4, `a frame read in one-byte chunks: ${out.length} chunks`);
});

test('a stream destroyed while the keyring is running decrypts nothing once the keyring returns (node and web)', { timeout: 10_000 }, async () => {
  const inner = aesKeyring();
  const { ciphertext } = await encrypt(inner, randomBytes(10_000), { suiteId: UNSIGNED, frameLength: 1000 });
  for (const flavour of ['node', 'web'] as const) {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => { release = resolve; });
    let calls = 0;
    const slow: Keyring = {
      onEncrypt: (m) => inner.onEncrypt(m),
      async onDecrypt(m, edks) {
        calls++;
        await gate;
        return inner.onDecrypt(m, edks);
      },
    };
    const events: string[] = [];
    if (flavour === 'node') {
      const d = decryptStream(slow, { unsignedStreaming: true });
      d.on('messageHeader', () => events.push('messageHeader'));
      d.on('data', () => events.push('data'));
      d.on('error', (e) => events.push(`error ${String(e)}`));
      d.write(ciphertext);
      while (calls === 0) await new Promise((resolve) => setImmediate(resolve));
      d.destroy();
    } else {
      const d = decryptWebStream(slow, { unsignedStreaming: true });
      // A TransformStream transforms only while its readable side is read.
      const reader = d.readable.getReader();
      reader.read().then(({ done }) => { if (!done) events.push('data'); }, () => {});
      const writer = d.writable.getWriter();
      writer.write(ciphertext).then(() => events.push('written'), () => {});
      while (calls === 0) await new Promise((resolve) => setImmediate(resolve));
      // The reader gives up (a writer's abort would wait for the write in flight, the keyring's).
      await reader.cancel(new Error('stop'));
      await assert.rejects(d.messageHeader, /stop/);
    }
    release();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Before: the header was announced after destroy() and every frame was opened (and, in buffered
    // mode, held unzeroed), abort() having run before there was anything to zero.
    assert.deepEqual(events.filter((e) => e !== 'written'), [], flavour);
  }
});

test('an encrypt stream destroyed while the keyring is running announces no header once the keyring returns', async () => {
  const inner = aesKeyring();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => { release = resolve; });
  let calls = 0;
  let finished!: () => void;
  const prepared = new Promise<void>((resolve) => { finished = resolve; });
  const slow: Keyring = {
    async onEncrypt(m) {
      calls++;
      await gate;
      const materials = await inner.onEncrypt(m);
      setImmediate(finished);
      return materials;
    },
    onDecrypt: (m, edks) => inner.onDecrypt(m, edks),
  };
  const e = encryptStream(slow, { suiteId: UNSIGNED, frameLength: 1000 });
  const events: string[] = [];
  e.on('messageHeader', () => events.push('messageHeader'));
  e.on('data', () => events.push('data'));
  e.on('close', () => events.push('close'));
  e.write(randomBytes(5500));
  while (calls === 0) await new Promise((resolve) => setImmediate(resolve));
  e.destroy();
  release();
  await prepared;
  // Before: 'messageHeader' after 'close', and the frames of the write were sealed for nobody.
  assert.deepEqual(events, ['close']);
});

test('encryptStream holds pending plaintext as it arrives, not a whole frame up front: a few bytes under a 1 GiB frame length', async () => {
  const frameLength = 2 ** 30;
  const before = process.memoryUsage().arrayBuffers;
  const e = encryptStream(aesKeyring(), { suiteId: UNSIGNED, frameLength });
  const out: Buffer[] = [];
  e.on('data', (c: Buffer) => out.push(c));
  await new Promise<void>((resolve, reject) => e.write(Buffer.from('hello'), (err) => (err ? reject(err) : resolve())));
  const held = process.memoryUsage().arrayBuffers - before;
  // Before: Buffer.alloc(frameLength) on the first write, 1 GiB zero-filled for five bytes.
  assert.ok(held < 64 * 2 ** 20, `${held} bytes held for a 5-byte write`);
  e.end();
  await new Promise((resolve) => e.on('end', resolve));
  assert.equal((await decrypt(aesKeyring(), Buffer.concat(out))).plaintext.toString(), 'hello');

  // The buffer grows across writes up to a whole frame; frames and the final frame come out right.
  const plaintext = randomBytes(10 * 2 ** 20 + 123);
  for (const size of [3 * 2 ** 20, 2 ** 20 + 1]) {
    const sealed = Buffer.concat(await run(encryptStream(aesKeyring(), { suiteId: UNSIGNED, frameLength: size }), chunked(plaintext, 700_001)));
    assert.ok((await decrypt(aesKeyring(), sealed)).plaintext.equals(plaintext), `frame length ${size}`);
  }
});

test('a keyring that rejects with no error (undefined, null, 0, \'\') fails the Node streams with a KeyringError carrying it, never ends them as if they had worked', async () => {
  const inner = aesKeyring();
  const { ciphertext } = await encrypt(inner, randomBytes(3000), { frameLength: 1000 });
  for (const reason of [undefined, null, 0, '']) {
    const failing: Keyring = {
      onEncrypt: () => Promise.reject(reason),
      onDecrypt: () => Promise.reject(reason),
    };
    const carries = (e: unknown) => e instanceof KeyringError && e.cause === reason;
    // Before: the encrypting pipeline resolved with no output at all, and decryption failed as a
    // malformed message (the header, already consumed, was parsed again from the body's bytes).
    await assert.rejects(run(encryptStream(failing), [randomBytes(3000)]), carries, `encryptStream, ${String(reason)}`);
    await assert.rejects(run(decryptStream(failing), chunked(ciphertext, 500)), carries, `decryptStream, ${String(reason)}`);
    // Web streams error with any reason as it is (a rejected read), as the buffer API rejects with it.
    const web = Readable.toWeb(Readable.from([randomBytes(10)])).pipeThrough(encryptWebStream(failing));
    await assert.rejects(web.pipeTo(new WritableStream()), (e: unknown) => e === reason);
  }
});

test('a decrypt stream keeps nothing of a written chunk once the write is acknowledged: a producer may refill or transfer its buffer (node and web)', async () => {
  // A long encryption context makes the header straddle chunks; frames of 4 KiB make frame heads
  // and tags straddle them. Chunks of 4 KiB and more used to be queued by reference, so the
  // bytes of a straddling field were read after the producer had already refilled them.
  const context = { big: 'x'.repeat(6000), small: 'y' };
  const plaintext = randomBytes(100_000);
  for (const suiteId of [UNSIGNED, SIGNED]) {
    const { ciphertext } = await encrypt(aesKeyring(), plaintext, { suiteId, frameLength: 4096, encryptionContext: context });
    for (const size of [4096, 4100, 5000, 70_000]) {
      const label = `suite ${hex(suiteId)}, chunks of ${size}`;
      // Node: one Buffer, refilled with the next chunk when write's callback fires.
      const node = decryptStream(aesKeyring());
      const nodeOut: Buffer[] = [];
      node.on('data', (c: Buffer) => nodeOut.push(c));
      const reused = Buffer.alloc(size);
      for (let o = 0; o < ciphertext.length; o += size) {
        const n = ciphertext.copy(reused, 0, o, o + size);
        await new Promise<void>((resolve, reject) => node.write(reused.subarray(0, n), (e) => (e ? reject(e) : resolve())));
        reused.fill(0xa5);
      }
      node.end();
      await new Promise((resolve, reject) => node.on('end', resolve).on('error', reject));
      assert.ok(Buffer.concat(nodeOut).equals(plaintext), `node, ${label}`);

      // Web: each chunk's ArrayBuffer transferred away (detached) once its write resolves.
      const web = decryptWebStream(aesKeyring());
      const webOut: Uint8Array[] = [];
      const reading = (async () => {
        for await (const c of web.readable as unknown as AsyncIterable<Uint8Array>) webOut.push(c);
      })();
      const writer = web.writable.getWriter();
      for (let o = 0; o < ciphertext.length; o += size) {
        const chunk = new Uint8Array(ciphertext.subarray(o, o + size));
        await writer.write(chunk);
        structuredClone(chunk.buffer, { transfer: [chunk.buffer] });
        assert.equal(chunk.byteLength, 0);
      }
      await writer.close();
      await reading;
      assert.ok(Buffer.concat(webOut).equals(plaintext), `web, ${label}`);
    }
  }
});
