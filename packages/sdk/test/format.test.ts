/** Byte-level checks of what we write, and of the guards on what we read. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  AlgorithmSuiteId,
  CommitmentPolicy,
  decrypt,
  encrypt,
  MalformedMessageError,
  MultiKeyring,
  PolicyViolationError,
  RawAesKeyring,
} from '../src/index.js';
import { aesKeyring } from './helpers/fixtures.js';
import { VECTORS_DIR } from './helpers/paths.js';

describe('message layout', () => {
  test('a v2 message has the documented layout (ESDK-FORMAT appendix A shape)', async () => {
    const id = 'aws-raw-vectors-persistent-aes-256';
    const keyring = new RawAesKeyring({ keyNamespace: id, keyName: 'aes-256', wrappingKey: Buffer.alloc(32, 1) });
    const { ciphertext, messageHeader } = await encrypt(keyring, Buffer.alloc(10_240, 7), {
      suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY,
      frameLength: 4096,
    });
    let o = 0;
    assert.equal(ciphertext[o], 2); o += 1;
    assert.equal(ciphertext.readUInt16BE(o), 0x0478); o += 2;
    assert.ok(ciphertext.subarray(o, o + 32).equals(messageHeader.messageId)); o += 32;
    assert.equal(ciphertext.readUInt16BE(o), 0); o += 2; // empty context: AAD length 0, nothing follows
    assert.equal(ciphertext.readUInt16BE(o), 1); o += 2;
    assert.equal(ciphertext.readUInt16BE(o), id.length); o += 2;
    assert.equal(ciphertext.subarray(o, o + id.length).toString(), id); o += id.length;
    const infoLength = ciphertext.readUInt16BE(o); o += 2;
    assert.equal(infoLength, 'aes-256'.length + 20);
    assert.equal(ciphertext.subarray(o, o + 7).toString(), 'aes-256');
    assert.equal(ciphertext.subarray(o + 7, o + 15).toString('hex'), '000000800000000c'); o += infoLength;
    assert.equal(ciphertext.readUInt16BE(o), 48); o += 2 + 48;
    assert.equal(ciphertext[o], 2); o += 1; // framed
    assert.equal(ciphertext.readUInt32BE(o), 4096); o += 4;
    o += 32 + 16; // commit key, header tag (no IV in v2)
    // Frame 1: sequence number 1, IV = 00 x 8 || 00000001.
    assert.equal(ciphertext.readUInt32BE(o), 1);
    assert.equal(ciphertext.subarray(o + 4, o + 16).toString('hex'), '000000000000000000000001');
    o += 4 + 12 + 4096 + 16;
    o += 4 + 12 + 4096 + 16;
    // Final frame: FF FF FF FF, sequence number 3, IV, length 2048.
    assert.equal(ciphertext.readUInt32BE(o), 0xffffffff);
    assert.equal(ciphertext.readUInt32BE(o + 4), 3);
    assert.equal(ciphertext.readUInt32BE(o + 20), 2048);
    o += 8 + 12 + 4 + 2048 + 16;
    assert.equal(o, ciphertext.length);
    assert.equal(ciphertext.length, 10_551); // the same size as the dafny vector in appendix A
  });

  test('a v1 message has type 0x80, reserved zeros, IV length 12 and a zero header IV', async () => {
    const { ciphertext } = await encrypt(aesKeyring(16), Buffer.from('x'), {
      suiteId: AlgorithmSuiteId.AES_128_GCM_IV12_TAG16_HKDF_SHA256,
      commitmentPolicy: CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT,
    });
    assert.equal(ciphertext.subarray(0, 4).toString('hex'), '01800114');
    // After the 16-byte message ID: AAD length 0, one EDK.
    let o = 20;
    assert.equal(ciphertext.readUInt16BE(o), 0); o += 2;
    assert.equal(ciphertext.readUInt16BE(o), 1); o += 2;
    for (let i = 0; i < 3; i++) o += 2 + ciphertext.readUInt16BE(o);
    // Default frame length 1 MiB = 0x00100000.
    assert.equal(ciphertext.subarray(o, o + 10).toString('hex'), '02' + '00000000' + '0c' + '00100000');
    assert.equal(ciphertext.subarray(o + 10, o + 22).toString('hex'), '00'.repeat(12));
  });

  test('encryption context pairs are sorted by UTF-8 bytes, not UTF-16 code units', async () => {
    // U+E000 is 0xEE 0x80 0x80 in UTF-8; U+10000 is 0xF0 ...; UTF-16 would order them the other way.
    const { ciphertext } = await encrypt(aesKeyring(), Buffer.from('x'), { encryptionContext: { '\u{10000}': 'b', '\ue000': 'a', z: 'c' } });
    const ec = ciphertext.subarray(37);
    const order = ['z', '\ue000', '\u{10000}'].map((k) => ec.indexOf(Buffer.from(k)));
    assert.ok(order[0]! < order[1]! && order[1]! < order[2]!, `order ${order.join(',')}`);
  });
});

describe('read guards', () => {
  test('base64 text of a message gets a specific malformed-message error', async () => {
    const { ciphertext } = await encrypt(aesKeyring(), Buffer.from('x'));
    await assert.rejects(decrypt(aesKeyring(), Buffer.from(ciphertext.toString('base64'))), (e: Error) => e instanceof MalformedMessageError && /base64/.test(e.message));
  });

  test('maxEncryptedDataKeys is enforced on encrypt and while parsing on decrypt', async () => {
    const two = new MultiKeyring({ generator: aesKeyring(32), children: [aesKeyring(16)] });
    await assert.rejects(encrypt(two, Buffer.from('x'), { maxEncryptedDataKeys: 1 }), PolicyViolationError);
    const { ciphertext } = await encrypt(two, Buffer.from('x'), { maxEncryptedDataKeys: 2 });
    let keyringCalled = false;
    const spy = { onEncrypt: two.onEncrypt.bind(two), onDecrypt: async (...a: Parameters<typeof two.onDecrypt>) => { keyringCalled = true; return two.onDecrypt(...a); } };
    await assert.rejects(decrypt(spy, ciphertext, { maxEncryptedDataKeys: 1 }), PolicyViolationError);
    assert.equal(keyringCalled, false);
    assert.equal((await decrypt(spy, ciphertext, { maxEncryptedDataKeys: 2 })).plaintext.toString(), 'x');
  });

  test('commitment policy: a forbidden suite is refused on encrypt and on decrypt', async () => {
    const legacy = AlgorithmSuiteId.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384;
    await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), { suiteId: legacy }), PolicyViolationError);
    await assert.rejects(
      encrypt(aesKeyring(), Buffer.from('x'), { suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, commitmentPolicy: CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT }),
      PolicyViolationError,
    );
    const { ciphertext } = await encrypt(aesKeyring(), Buffer.from('x'), { suiteId: legacy, commitmentPolicy: CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT });
    await assert.rejects(decrypt(aesKeyring(), ciphertext), PolicyViolationError);
    for (const policy of [CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT, CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT]) {
      assert.equal((await decrypt(aesKeyring(), ciphertext, { commitmentPolicy: policy })).plaintext.toString(), 'x');
    }
    // Committing messages decrypt under every policy.
    const committed = await encrypt(aesKeyring(), Buffer.from('y'));
    for (const policy of Object.values(CommitmentPolicy)) {
      assert.equal((await decrypt(aesKeyring(), committed.ciphertext, { commitmentPolicy: policy })).plaintext.toString(), 'y');
    }
  });

  test('misuse is a TypeError or RangeError, not a named SDK error', async () => {
    await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), { suiteId: 0x0070 as never }), { name: 'TypeError', message: 'unknown algorithm suite id 0x0070' });
    // An id given as a string is quoted as given (it was "0x0x0578").
    await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), { suiteId: '0x0578' as never }), {
      name: 'TypeError', message: 'unknown algorithm suite id "0x0578": suiteId is a number, such as AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384 (0x0578)',
    });
    assert.equal(AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, 0x0578);
    await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), { suiteId: -1 as never }), { name: 'TypeError', message: 'unknown algorithm suite id -1' });
    await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), { frameLength: 0 }), RangeError);
    await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), { frameLength: 2 ** 32 }), RangeError);
    await assert.rejects(encrypt(aesKeyring(), 'text' as never), TypeError);
    await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), { commitmentPolicy: 'NONE' as never }), TypeError);
    await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), { encryptionContext: { a: 1 as never } }), TypeError);
    await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), { encryptionContext: { a: '\ud800' } }), TypeError);
    await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), null as never), { name: 'TypeError', message: 'options must be an object' });
    const { ciphertext } = await encrypt(aesKeyring(), Buffer.from('x'));
    await assert.rejects(decrypt(aesKeyring(), ciphertext, null as never), { name: 'TypeError', message: 'options must be an object' });
    assert.throws(() => new RawAesKeyring({ keyNamespace: 'n', keyName: 'k', wrappingKey: Buffer.alloc(20) }), TypeError);
    assert.throws(() => new RawAesKeyring({ keyNamespace: 'aws-kms', keyName: 'k', wrappingKey: Buffer.alloc(32) }), TypeError);
  });

  test('error messages carry no key or plaintext bytes', async () => {
    const secret = Buffer.from('very secret plaintext');
    const { ciphertext } = await encrypt(aesKeyring(), secret);
    const tampered = Buffer.from(ciphertext);
    tampered[tampered.length - 40]! ^= 1;
    const err = await decrypt(aesKeyring(), tampered).then(() => null, (e: Error) => e);
    assert.ok(err !== null);
    const text = `${err.message} ${String(err.stack)}`;
    assert.ok(!text.includes(secret.toString()) && !text.includes(secret.toString('hex')));
  });

  test('the appendix A vector decrypts and reports its header facts', async () => {
    const dir = join(VECTORS_DIR, 'dafny-4.1.0');
    const keys = JSON.parse(readFileSync(join(dir, 'keys.json'), 'utf8')).keys;
    const keyring = new RawAesKeyring({ keyNamespace: 'aws-raw-vectors-persistent-aes-256', keyName: 'aes-256', wrappingKey: Buffer.from(keys['aes-256'].material, 'base64') });
    const { plaintext, messageHeader } = await decrypt(keyring, readFileSync(join(dir, 'ciphertexts/6e88997b-edcb-4b4f-a32e-c752a19d3f94')));
    assert.ok(plaintext.equals(readFileSync(join(dir, 'plaintexts/small'))));
    assert.equal(messageHeader.suiteId, 0x0478);
    assert.equal(messageHeader.messageId.toString('hex'), '69cd0d5b4ed048bf35202dc46d71ae4b29e63ca35f176b3217d5bdb95c4c9a54');
    assert.deepEqual(messageHeader.encryptedDataKeys.map((e) => e.providerId), ['aws-raw-vectors-persistent-aes-256']);
    assert.equal(messageHeader.frameLength, 4096);
  });
});
