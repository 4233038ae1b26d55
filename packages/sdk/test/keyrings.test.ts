/** The keyring contract (framework/keyring-interface.md) checked on every keyring we ship. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  AlgorithmSuiteId,
  getSuite,
  KeyringError,
  MultiKeyring,
  NoDecryptionKeyError,
  RawRsaKeyring,
  RsaPadding,
  type EncryptionMaterials,
  type Keyring,
} from '../src/index.js';
import { aesKeyring, rsaKeyring } from './helpers/fixtures.js';

const suite = getSuite(AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY);
const encryptionContext = Object.freeze({ a: 'b' });
const empty: EncryptionMaterials = Object.freeze({ suite, encryptionContext, requiredEncryptionContextKeys: [], encryptedDataKeys: [] });
const decryptionMaterials = Object.freeze({ suite, encryptionContext, requiredEncryptionContextKeys: [] });

const KEYRINGS: ReadonlyArray<readonly [string, () => Keyring]> = [
  ['raw AES', () => aesKeyring(32)],
  ['raw RSA OAEP-SHA256', () => rsaKeyring(RsaPadding.OAEP_SHA256)],
  ['raw RSA PKCS#1 v1.5', () => rsaKeyring(RsaPadding.PKCS1)],
  ['multi-keyring', () => new MultiKeyring({ generator: aesKeyring(32), children: [rsaKeyring(RsaPadding.OAEP_SHA1)] })],
];

for (const [name, make] of KEYRINGS) {
  describe(`${name} keyring contract`, () => {
    test('OnEncrypt without a data key generates one of the suite length and appends EDKs', async () => {
      const m = await make().onEncrypt(empty);
      assert.equal(m.plaintextDataKey?.byteLength, suite.dataKeyLength);
      assert.ok(m.encryptedDataKeys.length >= 1);
      assert.equal(empty.encryptedDataKeys.length, 0, 'input materials untouched');
    });

    test('OnDecrypt returns the same data key from the EDKs', async () => {
      const m = await make().onEncrypt(empty);
      const d = await make().onDecrypt(decryptionMaterials, m.encryptedDataKeys);
      assert.ok(Buffer.from(d.plaintextDataKey!).equals(Buffer.from(m.plaintextDataKey!)));
    });

    test('OnDecrypt fails when no EDK is for this keyring', async () => {
      const foreign = { providerId: 'someone-else', providerInfo: Buffer.from('k'), ciphertext: randomBytes(48) };
      await assert.rejects(make().onDecrypt(decryptionMaterials, [foreign]), NoDecryptionKeyError);
    });

    test('Precondition: OnDecrypt fails when the materials already hold a data key', async () => {
      const m = await make().onEncrypt(empty);
      const holding = { ...decryptionMaterials, plaintextDataKey: randomBytes(32) };
      await assert.rejects(make().onDecrypt(holding, m.encryptedDataKeys));
    });
  });
}

test('OnEncrypt with an existing data key wraps that key (raw AES and raw RSA)', async () => {
  const dataKey = randomBytes(32);
  for (const k of [aesKeyring(32), rsaKeyring(RsaPadding.OAEP_SHA384)]) {
    const m = await k.onEncrypt({ ...empty, plaintextDataKey: dataKey });
    assert.equal(m.plaintextDataKey, dataKey);
    const d = await k.onDecrypt(decryptionMaterials, m.encryptedDataKeys);
    assert.ok(Buffer.from(d.plaintextDataKey!).equals(dataKey));
  }
});

test('Precondition: a multi-keyring with a generator refuses materials that already hold a data key', async () => {
  const multi = new MultiKeyring({ generator: aesKeyring(32) });
  await assert.rejects(multi.onEncrypt({ ...empty, plaintextDataKey: randomBytes(32) }), KeyringError);
});

test('a multi-keyring without a generator wraps an existing key with every child, and cannot create one', async () => {
  const multi = new MultiKeyring({ children: [aesKeyring(16), aesKeyring(24)] });
  await assert.rejects(multi.onEncrypt(empty), KeyringError);
  const m = await multi.onEncrypt({ ...empty, plaintextDataKey: randomBytes(32) });
  assert.equal(m.encryptedDataKeys.length, 2);
});

test('Precondition: a multi-keyring\'s generator and children are keyrings', () => {
  const notKeyrings = [{}, null, { onEncrypt: async () => empty }, 'aes'] as unknown as Keyring[];
  for (const bad of notKeyrings) {
    assert.throws(() => new MultiKeyring({ generator: bad }), TypeError);
    assert.throws(() => new MultiKeyring({ children: [aesKeyring(16), bad] }), TypeError);
  }
  new MultiKeyring({ generator: aesKeyring(32), children: [aesKeyring(16)] });
});

test('raw RSA: a PEM that is not the named kind of key is a TypeError; a key too small for the padding fails encrypt as a KeyringError', async () => {
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const publicPem = small.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  for (const privateKey of [publicPem, 'not a key']) {
    assert.throws(() => new RawRsaKeyring({ keyNamespace: 'n', keyName: 'k', padding: RsaPadding.OAEP_SHA256, privateKey }), TypeError);
  }
  assert.throws(() => new RawRsaKeyring({ keyNamespace: 'n', keyName: 'k', padding: RsaPadding.OAEP_SHA256, publicKey: 'not a key' }), TypeError);
  // 1024 bits hold at most 128 - 2 * 64 - 2 < 0 bytes under OAEP-SHA512.
  const tooSmall = new RawRsaKeyring({ keyNamespace: 'n', keyName: 'k', padding: RsaPadding.OAEP_SHA512, publicKey: small.publicKey });
  await assert.rejects(tooSmall.onEncrypt(empty), KeyringError);
});

test('raw AES OnDecrypt: the encryption context is the AAD', async () => {
  const m = await aesKeyring(32).onEncrypt(empty);
  await assert.rejects(aesKeyring(32).onDecrypt({ ...decryptionMaterials, encryptionContext: { a: 'c' } }, m.encryptedDataKeys), NoDecryptionKeyError);
});
