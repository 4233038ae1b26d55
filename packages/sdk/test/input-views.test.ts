/**
 * The buffer API's input as applications hand it over: views on shared, resizable or far-offset
 * memory, and inputs the caller changes while encrypt or decrypt awaits its materials (the one
 * await before the message is sealed or opened, all at once).
 *
 * What the result reflects: the bytes as they are once the materials are in. A caller that
 * rewrites the bytes in that window gets a message of the new bytes, which decrypts; a caller
 * that resizes or transfers the buffer gets a TypeError, since the materials (and a caching
 * manager's byte count) were for the length it passed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import * as official from '@aws-crypto/client-node';
import {
  AlgorithmSuiteId, AuthenticationError, CachingCryptographicMaterialsManager, decrypt, decryptWebStream, encrypt, encryptWebStream,
  LocalMaterialsCache,
  type DecryptionMaterials, type EncryptedDataKey, type EncryptionMaterials, type Keyring,
} from '../src/index.js';
import { OUTPUT_OFFLOAD_MIN_BYTES } from '../src/internal/output-offload.js';
import { AES_KEYS, aesKeyring } from './helpers/fixtures.js';

const theirs = new official.RawAesKeyringNode({
  keyNamespace: 'coffer-test', keyName: 'aes-256', unencryptedMasterKey: new Uint8Array(AES_KEYS[32]),
  wrappingSuite: official.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const client = official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
const unsigned = { suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, frameLength: 64 * 1024 };

/** The raw AES keyring, its calls held until `open()`: the test acts while encrypt or decrypt awaits its materials. */
function gatedKeyring(): Keyring & { open(): void; readonly calls: number } {
  const inner = aesKeyring();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  let calls = 0;
  return {
    open,
    get calls() {
      return calls;
    },
    async onEncrypt(m: EncryptionMaterials) {
      calls++;
      await gate;
      return inner.onEncrypt(m);
    },
    async onDecrypt(m: DecryptionMaterials, edks: readonly EncryptedDataKey[]) {
      calls++;
      await gate;
      return inner.onDecrypt(m, edks);
    },
  };
}

/** ES2024's resizable ArrayBuffer (Node 20 has it; the compiler's lib here does not yet). */
type ResizableArrayBuffer = ArrayBuffer & { resize(byteLength: number): void };
const ResizableArrayBuffer = ArrayBuffer as unknown as new (byteLength: number, options: { maxByteLength: number }) => ResizableArrayBuffer;

/** `bytes` in a resizable ArrayBuffer (up to twice as long), through a length-tracking view. */
function resizable(bytes: Uint8Array): { buffer: ResizableArrayBuffer; view: Uint8Array } {
  const buffer = new ResizableArrayBuffer(bytes.byteLength, { maxByteLength: 2 * bytes.byteLength });
  const view = new Uint8Array(buffer);
  view.set(bytes);
  return { buffer, view };
}

test('views on shared memory and at offsets past 2 GiB encrypt and decrypt, small and large, and the official SDK reads the messages', async () => {
  for (const n of [100, OUTPUT_OFFLOAD_MIN_BYTES + 1]) {
    const shared = new Uint8Array(new SharedArrayBuffer(n + 64), 7, n);
    randomFillSync(shared);
    for (const options of [{}, unsigned]) {
      const { ciphertext } = await encrypt(aesKeyring(), shared, options);
      assert.ok((await client.decrypt(theirs, ciphertext)).plaintext.equals(shared), `official reads it (${n} bytes)`);
      const inShared = new Uint8Array(new SharedArrayBuffer(ciphertext.byteLength));
      inShared.set(ciphertext);
      const { plaintext } = await decrypt(aesKeyring(), inShared);
      assert.ok(plaintext.equals(shared));
      assert.ok(plaintext.buffer instanceof ArrayBuffer, 'the result is ordinary memory, not shared');
    }
  }
  const far = new Uint8Array(new ArrayBuffer(2 ** 31 + 200), 2 ** 31 + 3, 150);
  randomFillSync(far);
  const { ciphertext } = await encrypt(aesKeyring(), far);
  assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(far));
});

test('a plaintext resized or transferred while encrypt awaits its materials is refused with a TypeError, small and large', async () => {
  for (const n of [100, OUTPUT_OFFLOAD_MIN_BYTES + 1]) {
    for (const change of ['grow', 'shrink', 'transfer'] as const) {
      const { buffer, view } = resizable(randomFillSync(Buffer.alloc(n)));
      const keyring = gatedKeyring();
      const pending = encrypt(keyring, view, unsigned);
      if (change === 'grow') buffer.resize(2 * n);
      else if (change === 'shrink') buffer.resize(n - 10);
      else structuredClone(buffer, { transfer: [buffer] });
      keyring.open();
      await assert.rejects(pending, (e: Error) => e instanceof TypeError && /plaintext changed length from/.test(e.message), `${change}, ${n} bytes`);
      assert.equal(keyring.calls, 1);
    }
  }
});

test('a view of an ArrayBuffer already transferred away is refused in words, before any keyring is called (buffer API and web streams)', async () => {
  const detached = () => {
    const view = new Uint8Array(64);
    structuredClone(view.buffer, { transfer: [view.buffer] });
    return view;
  };
  const says = (what: string) => (e: Error) => e instanceof TypeError && e.message.startsWith(`${what} is a view of a detached ArrayBuffer`);
  const keyring = gatedKeyring();
  keyring.open();
  // Before: the keyring (with a KMS keyring, a GenerateDataKey call) ran first, then V8's
  // "Cannot perform Construct on a detached ArrayBuffer".
  await assert.rejects(encrypt(keyring, detached(), unsigned), says('plaintext'));
  await assert.rejects(decrypt(keyring, detached()), says('ciphertext'));
  assert.equal(keyring.calls, 0);
  for (const stream of [encryptWebStream(keyring), decryptWebStream(keyring)]) {
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(detached());
        controller.close();
      },
    });
    await assert.rejects(source.pipeThrough(stream).pipeTo(new WritableStream()), says('a stream chunk'));
    await assert.rejects(stream.messageHeader, says('a stream chunk'));
  }
  // (A Node stream's write() throws at once, in Node's own code, before the chunk reaches the SDK.)
  assert.equal(keyring.calls, 0);
  // An empty view of a live (zero-length) buffer is an empty message, as before.
  assert.equal((await decrypt(aesKeyring(), (await encrypt(aesKeyring(), new Uint8Array(0), unsigned)).ciphertext)).plaintext.length, 0);
});

test('a caching manager\'s byte limit holds when the plaintext grows while encrypt awaits the cache', async () => {
  const cmm = new CachingCryptographicMaterialsManager({ underlying: aesKeyring(), cache: new LocalMaterialsCache(), maxAge: 60_000, maxBytesEncrypted: 1000 });
  await encrypt(cmm, Buffer.alloc(600));
  // 300 more bytes fit the data key's limit (600 + 300, counted when asked); the 600 it grows to would not.
  const { buffer, view } = resizable(Buffer.alloc(300));
  const pending = encrypt(cmm, view);
  buffer.resize(600);
  await assert.rejects(pending, TypeError);
});

test('a plaintext rewritten (same length) while encrypt awaits its materials: the message holds the new bytes and decrypts', async () => {
  for (const n of [100, OUTPUT_OFFLOAD_MIN_BYTES + 1]) {
    const plaintext = Buffer.alloc(n, 1);
    const keyring = gatedKeyring();
    const pending = encrypt(keyring, plaintext);
    plaintext.fill(2);
    keyring.open();
    const { ciphertext } = await pending;
    assert.ok((await decrypt(aesKeyring(), ciphertext)).plaintext.equals(Buffer.alloc(n, 2)));
  }
});

test('a ciphertext resized or transferred while decrypt awaits its materials is refused with a TypeError; one rewritten fails to authenticate', async () => {
  for (const n of [100, OUTPUT_OFFLOAD_MIN_BYTES + 1]) {
    const { ciphertext } = await encrypt(aesKeyring(), randomFillSync(Buffer.alloc(n)), unsigned);
    for (const change of ['grow', 'shrink', 'transfer'] as const) {
      const { buffer, view } = resizable(ciphertext);
      const keyring = gatedKeyring();
      const pending = decrypt(keyring, view);
      if (change === 'grow') buffer.resize(ciphertext.byteLength + 10);
      else if (change === 'shrink') buffer.resize(ciphertext.byteLength - 10);
      else structuredClone(buffer, { transfer: [buffer] });
      keyring.open();
      await assert.rejects(pending, (e: Error) => e instanceof TypeError && /ciphertext changed length from/.test(e.message), `${change}, ${n} bytes`);
    }
    const rewritten = Buffer.from(ciphertext);
    const keyring = gatedKeyring();
    const pending = decrypt(keyring, rewritten);
    rewritten[rewritten.length - 17]! ^= 1; // the last ciphertext byte, before the final frame's tag
    keyring.open();
    await assert.rejects(pending, AuthenticationError);
  }
});

test('a large signed ciphertext resized or transferred while its signature is checked: its bytes were all read before, so it decrypts', async () => {
  const plaintext = randomFillSync(Buffer.alloc(OUTPUT_OFFLOAD_MIN_BYTES + 1));
  const { ciphertext } = await encrypt(aesKeyring(), plaintext);
  const inner = aesKeyring();
  for (const change of ['shrink', 'transfer'] as const) {
    const { buffer, view } = resizable(ciphertext);
    // The change lands on the turn after the materials: while the hashing worker checks the signature.
    const keyring: Keyring = {
      onEncrypt: (m) => inner.onEncrypt(m),
      onDecrypt: async (m, edks) => {
        const materials = await inner.onDecrypt(m, edks);
        setImmediate(() => (change === 'shrink' ? buffer.resize(10) : structuredClone(buffer, { transfer: [buffer] })));
        return materials;
      },
    };
    assert.ok((await decrypt(keyring, view)).plaintext.equals(plaintext), change);
  }
});
