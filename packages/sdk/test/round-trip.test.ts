/** Encrypt then decrypt is the identity: every suite, several frame lengths and keyrings. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  ALGORITHM_SUITES,
  AlgorithmSuiteId,
  CommitmentPolicy,
  decrypt,
  DEFAULT_FRAME_LENGTH,
  encrypt,
  RawRsaKeyring,
  RequiredEncryptionContextCryptographicMaterialsManager,
  RsaPadding,
  PolicyViolationError,
  NoDecryptionKeyError,
  type Keyring,
} from '../src/index.js';
import { aesKeyring, hex, multiKeyring, policyFor, rsaKeyPair, rsaKeyring } from './helpers/fixtures.js';

const FRAME_LENGTH_CASES: ReadonlyArray<readonly [number, number, string]> = [
  // [frameLength, plaintext length, what it exercises]
  [4096, 0, 'empty message (a single empty final frame)'],
  [4096, 1, 'one byte'],
  [1, 5, '1-byte frames'],
  [16, 48, 'final frame of exactly the frame length'],
  [100, 1001, 'several frames and a short final frame'],
  [4096, 3 * 4096, 'exact multiple of the default frame length'],
  [2 ** 20, 70_000, 'frame longer than the message'],
];

describe('round trip for every suite', () => {
  for (const suite of ALGORITHM_SUITES) {
    const policy = policyFor(suite);
    for (const [frameLength, length, what] of FRAME_LENGTH_CASES) {
      test(`suite ${hex(suite.id)}, frame length ${frameLength}: ${what}`, async () => {
        const keyring = aesKeyring(32);
        const plaintext = randomBytes(length);
        const encryptionContext = { purpose: 'test', 'ключ': 'значение' };
        const { ciphertext, messageHeader } = await encrypt(keyring, plaintext, { suiteId: suite.id, frameLength, encryptionContext, commitmentPolicy: policy });
        assert.equal(messageHeader.suiteId, suite.id);
        assert.equal(messageHeader.messageFormatVersion, suite.messageFormatVersion);
        assert.equal(messageHeader.frameLength, frameLength);
        assert.equal(ciphertext[0], suite.messageFormatVersion);
        assert.equal(ciphertext.readUInt16BE(suite.messageFormatVersion === 1 ? 2 : 1), suite.id);
        const out = await decrypt(keyring, ciphertext, { commitmentPolicy: policy, encryptionContext });
        assert.ok(out.plaintext.equals(plaintext));
        assert.deepEqual(out.messageHeader.encryptionContext, messageHeader.encryptionContext);
        assert.equal('aws-crypto-public-key' in out.messageHeader.encryptionContext, suite.signature !== null);
        assert.deepEqual(out.messageHeader.encryptedDataKeys.map((e) => e.providerId), ['coffer-test']);
      });
    }
  }
});

test('message size matches the framing arithmetic: a full final frame, never an extra empty one', async () => {
  const keyring = aesKeyring(16);
  const a = await encrypt(keyring, Buffer.alloc(32), { frameLength: 16, suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY });
  const b = await encrypt(keyring, Buffer.alloc(31), { frameLength: 16, suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY });
  // regular frame = 4 + 12 + 16 + 16; final frame = 8 + 12 + 4 + n + 16
  assert.equal(a.ciphertext.length - b.ciphertext.length, 1);
});

test('default suite is 0x0578 and default frame length 1 MiB (DEFAULT_FRAME_LENGTH)', async () => {
  const { messageHeader } = await encrypt(aesKeyring(), Buffer.from('x'));
  assert.equal(messageHeader.suiteId, AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384);
  assert.equal(messageHeader.frameLength, 1048576);
  assert.equal(DEFAULT_FRAME_LENGTH, 1048576);
});

test('FORBID_ENCRYPT_ALLOW_DECRYPT defaults to the non-committing signed suite 0x0378', async () => {
  const { messageHeader } = await encrypt(aesKeyring(), Buffer.from('x'), { commitmentPolicy: CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT });
  assert.equal(messageHeader.suiteId, AlgorithmSuiteId.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384);
});

describe('keyrings', () => {
  const cases: ReadonlyArray<readonly [string, () => Keyring]> = [
    ['raw AES-128', () => aesKeyring(16)],
    ['raw AES-192', () => aesKeyring(24)],
    ['raw AES-256', () => aesKeyring(32)],
    ...Object.values(RsaPadding).map((p) => [`raw RSA ${p}`, () => rsaKeyring(p)] as const),
    ['multi-keyring (AES-256 generator, AES-128 and RSA children)', multiKeyring],
  ];
  for (const [name, make] of cases) {
    test(`${name} round-trips with a signed and an unsigned committing suite`, async () => {
      for (const suiteId of [AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384]) {
        const plaintext = randomBytes(5000);
        const { ciphertext } = await encrypt(make(), plaintext, { suiteId, encryptionContext: { a: '1' } });
        assert.ok((await decrypt(make(), ciphertext)).plaintext.equals(plaintext));
      }
    });
  }

  test('each child of a multi-keyring can decrypt alone', async () => {
    const { ciphertext, messageHeader } = await encrypt(multiKeyring(), Buffer.from('shared secret'));
    assert.deepEqual(messageHeader.encryptedDataKeys.map((e) => e.providerId), ['coffer-test', 'coffer-test', 'coffer-test-rsa']);
    for (const k of [aesKeyring(32), aesKeyring(16), rsaKeyring(RsaPadding.OAEP_SHA256)]) {
      assert.equal((await decrypt(k, ciphertext)).plaintext.toString(), 'shared secret');
    }
  });

  test('a keyring with another key name or wrapping key finds no data key', async () => {
    const { ciphertext } = await encrypt(aesKeyring(32), Buffer.from('x'));
    await assert.rejects(decrypt(aesKeyring(32, 'other-name'), ciphertext), NoDecryptionKeyError);
    await assert.rejects(decrypt(aesKeyring(16, 'aes-256'), ciphertext), NoDecryptionKeyError);
    await assert.rejects(decrypt(rsaKeyring(RsaPadding.OAEP_SHA1), ciphertext), NoDecryptionKeyError);
  });

  test('an RSA keyring with only a private key cannot encrypt; with only a public key cannot decrypt', async () => {
    const full = rsaKeyring(RsaPadding.OAEP_SHA512);
    const { ciphertext } = await encrypt(full, Buffer.from('x'));
    const pub = new RawRsaKeyring({ keyNamespace: 'coffer-test-rsa', keyName: full.keyName, padding: RsaPadding.OAEP_SHA512, publicKey: rsaKeyPair().publicKey });
    const priv = new RawRsaKeyring({ keyNamespace: 'coffer-test-rsa', keyName: full.keyName, padding: RsaPadding.OAEP_SHA512, privateKey: rsaKeyPair().privateKey });
    await assert.rejects(encrypt(priv, Buffer.from('x')), { name: 'KeyringError' });
    await assert.rejects(decrypt(pub, ciphertext), NoDecryptionKeyError);
    assert.equal((await decrypt(priv, ciphertext)).plaintext.toString(), 'x');
  });

  test('PKCS#1 v1.5 with a corrupted EDK fails at the header tag, not with a padding error (implicit rejection)', async () => {
    const keyring = rsaKeyring(RsaPadding.PKCS1);
    const { ciphertext } = await encrypt(keyring, Buffer.from('x'), { suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY });
    // The RSA ciphertext (256 bytes) ends right before the content type byte; flip its last byte.
    const edkEnd = ciphertext.indexOf(Buffer.from('rsa-pkcs1')) + 'rsa-pkcs1'.length + 2 + 256;
    const tampered = Buffer.from(ciphertext);
    tampered[edkEnd - 1]! ^= 1;
    await assert.rejects(decrypt(keyring, tampered), { name: 'AuthenticationError' });
  });
});

describe('encryption context', () => {
  test('a reproduced context that differs from the stored one is refused', async () => {
    const { ciphertext } = await encrypt(aesKeyring(), Buffer.from('x'), { encryptionContext: { tenant: 'a' } });
    await assert.rejects(decrypt(aesKeyring(), ciphertext, { encryptionContext: { tenant: 'b' } }), PolicyViolationError);
    assert.equal((await decrypt(aesKeyring(), ciphertext, { encryptionContext: { tenant: 'a' } })).plaintext.toString(), 'x');
  });

  test('reserved aws-crypto- keys are refused on encrypt', async () => {
    for (const key of ['aws-crypto-public-key', 'aws-crypto-anything']) {
      await assert.rejects(encrypt(aesKeyring(), Buffer.from('x'), { encryptionContext: { [key]: 'v' } }), PolicyViolationError);
    }
  });

  test('the required-context manager keeps required pairs out of the message but authenticates them', async () => {
    const cmm = new RequiredEncryptionContextCryptographicMaterialsManager({ underlying: aesKeyring(), requiredEncryptionContextKeys: ['secret-tag'] });
    const encryptionContext = { 'secret-tag': 'blue', visible: 'yes' };
    const { ciphertext, messageHeader } = await encrypt(cmm, Buffer.from('payload'), { encryptionContext });
    assert.deepEqual(messageHeader.requiredEncryptionContextKeys, ['secret-tag']);
    assert.equal(ciphertext.indexOf(Buffer.from('secret-tag')), -1);
    assert.notEqual(ciphertext.indexOf(Buffer.from('visible')), -1);
    // Without the required pair: refused by the manager; with a wrong value: no key unwraps.
    await assert.rejects(decrypt(cmm, ciphertext, { encryptionContext: { visible: 'yes' } }), PolicyViolationError);
    await assert.rejects(decrypt(aesKeyring(), ciphertext), NoDecryptionKeyError);
    await assert.rejects(decrypt(aesKeyring(), ciphertext, { encryptionContext: { 'secret-tag': 'red' } }), NoDecryptionKeyError);
    const out = await decrypt(cmm, ciphertext, { encryptionContext: { 'secret-tag': 'blue' } });
    assert.equal(out.plaintext.toString(), 'payload');
    assert.deepEqual(out.messageHeader.encryptionContext, messageHeader.encryptionContext);
    assert.equal(out.messageHeader.encryptionContext['secret-tag'], 'blue');
    // The plain default manager accepts it too when the caller supplies the pair.
    assert.equal((await decrypt(aesKeyring(), ciphertext, { encryptionContext: { 'secret-tag': 'blue' } })).plaintext.toString(), 'payload');
  });

  test('a reproduced or required key named __proto__ is an ordinary key: authenticated, never dropped', async () => {
    const proto = (value: string): Record<string, string> => JSON.parse(`{"__proto__": ${JSON.stringify(value)}}`);
    const { ciphertext } = await encrypt(aesKeyring(), Buffer.from('x'), { encryptionContext: { a: 'b' } });
    // A pair only the caller supplies is authenticated: the message was not made with it.
    await assert.rejects(decrypt(aesKeyring(), ciphertext, { encryptionContext: proto('zz') }), NoDecryptionKeyError);
    await assert.rejects(decrypt(aesKeyring(), ciphertext, { encryptionContext: { tenant: 'zz' } }), NoDecryptionKeyError);

    const cmm = new RequiredEncryptionContextCryptographicMaterialsManager({ underlying: aesKeyring(), requiredEncryptionContextKeys: ['__proto__'] });
    const sealed = await encrypt(cmm, Buffer.from('payload'), { encryptionContext: { ...proto('blue'), visible: 'yes' } });
    const out = await decrypt(cmm, sealed.ciphertext, { encryptionContext: proto('blue') });
    assert.equal(out.plaintext.toString(), 'payload');
    assert.equal(Object.hasOwn(out.messageHeader.encryptionContext, '__proto__'), true);
    await assert.rejects(decrypt(cmm, sealed.ciphertext, { encryptionContext: proto('red') }), NoDecryptionKeyError);
  });

  test('the required-context manager refuses to encrypt without its keys', async () => {
    const cmm = new RequiredEncryptionContextCryptographicMaterialsManager({ underlying: aesKeyring(), requiredEncryptionContextKeys: ['k'] });
    await assert.rejects(encrypt(cmm, Buffer.from('x'), { encryptionContext: { other: 'v' } }), PolicyViolationError);
  });
});
