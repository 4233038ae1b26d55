/** The keyring contract (framework/keyring-interface.md) checked on every keyring we ship. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey, createPublicKey, createSecretKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import {
  AlgorithmSuiteId,
  CachingCryptographicMaterialsManager,
  decrypt,
  decryptStream,
  encrypt,
  encryptStream,
  getSuite,
  LocalMaterialsCache,
  KeyringError,
  MultiKeyring,
  NoDecryptionKeyError,
  RawAesKeyring,
  RawRsaKeyring,
  RsaPadding,
  type CryptographicMaterialsManager,
  type DecryptionMaterials,
  type EncryptedDataKey,
  type EncryptionMaterials,
  type Keyring,
  withEncryptedDataKey,
} from '../src/index.js';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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

test('raw keyrings take their keys in the forms the official SDK does: RSA PEM as text or bytes, AES as bytes or a secret KeyObject; other forms are TypeErrors that name the form', async () => {
  const pair = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  const forms = (pem: string) => [pem, Buffer.from(pem), new Uint8Array(Buffer.from(pem)), createPublicOrPrivate(pem)];
  const plaintext = randomBytes(100);
  for (const publicKey of forms(pair.publicKey)) {
    for (const privateKey of forms(pair.privateKey)) {
      const keyring = new RawRsaKeyring({ keyNamespace: 'n', keyName: 'k', padding: RsaPadding.OAEP_SHA256, publicKey, privateKey });
      const { ciphertext } = await encrypt(keyring, plaintext);
      assert.ok((await decrypt(keyring, ciphertext)).plaintext.equals(plaintext));
    }
  }
  // Before: a PEM in a Buffer was 'expected an RSA public key', which it was.
  assert.throws(() => new RawRsaKeyring({ keyNamespace: 'n', keyName: 'k', padding: RsaPadding.OAEP_SHA256, publicKey: 42 as never }), /publicKey must be PEM text \(a string or its bytes\) or a KeyObject/);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  assert.throws(() => new RawRsaKeyring({ keyNamespace: 'n', keyName: 'k', padding: RsaPadding.OAEP_SHA256, privateKey: ec.privateKey }), /privateKey must be an RSA private key; it is an ec private key/);

  const bytes = randomBytes(32);
  const { ciphertext } = await encrypt(new RawAesKeyring({ keyNamespace: 'n', keyName: 'k', wrappingKey: bytes }), plaintext);
  const fromKeyObject = new RawAesKeyring({ keyNamespace: 'n', keyName: 'k', wrappingKey: createSecretKey(bytes) });
  assert.ok((await decrypt(fromKeyObject, ciphertext)).plaintext.equals(plaintext));
  // Before: each of these was 'wrappingKey must be 16, 24 or 32 bytes', whatever its length.
  for (const wrong of [new Int8Array(32), bytes.buffer, 'x'.repeat(32), ec.privateKey]) {
    assert.throws(() => new RawAesKeyring({ keyNamespace: 'n', keyName: 'k', wrappingKey: wrong as never }), /wrappingKey must be a Buffer, a Uint8Array or a secret KeyObject/);
  }
  assert.throws(() => new RawAesKeyring({ keyNamespace: 'n', keyName: 'k', wrappingKey: randomBytes(20) }), /wrappingKey must be 16, 24 or 32 bytes; it is 20/);
});

function createPublicOrPrivate(pem: string) {
  return pem.includes('PRIVATE') ? createPrivateKey(pem) : createPublicKey(pem);
}

test('raw keyrings refuse an empty key namespace or key name, which the official SDKs cannot read back', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  for (const [keyNamespace, keyName] of [['', 'k'], ['n', ''], ['', '']]) {
    assert.throws(() => new RawAesKeyring({ keyNamespace: keyNamespace!, keyName: keyName!, wrappingKey: randomBytes(32) }), /must not be empty/);
    assert.throws(() => new RawRsaKeyring({ keyNamespace: keyNamespace!, keyName: keyName!, padding: RsaPadding.OAEP_SHA256, publicKey }), /must not be empty/);
  }
  assert.throws(() => new RawAesKeyring(null as never), /RawAesKeyring takes an options object/);
});

test('raw keyrings refuse a key namespace or name with a lone surrogate: written as UTF-8 it names another keyring', () => {
  const { publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } });
  // Before, 'a\ud800' encrypted as provider 'a\ufffd', which the same keyring could not decrypt.
  for (const [keyNamespace, keyName] of [['a\ud800', 'k'], ['n', '\udc00'], ['\ud83d', 'k']]) {
    const refused = { name: 'TypeError', message: 'keyNamespace and keyName must be well-formed Unicode (no lone surrogates)' };
    assert.throws(() => new RawAesKeyring({ keyNamespace: keyNamespace!, keyName: keyName!, wrappingKey: randomBytes(32) }), refused);
    assert.throws(() => new RawRsaKeyring({ keyNamespace: keyNamespace!, keyName: keyName!, padding: RsaPadding.OAEP_SHA256, publicKey }), refused);
  }
  assert.doesNotThrow(() => new RawAesKeyring({ keyNamespace: 'n\ud83d\udd11', keyName: 'k', wrappingKey: randomBytes(32) }));
});

test('raw AES OnDecrypt: the encryption context is the AAD', async () => {
  const m = await aesKeyring(32).onEncrypt(empty);
  await assert.rejects(aesKeyring(32).onDecrypt({ ...decryptionMaterials, encryptionContext: { a: 'c' } }, m.encryptedDataKeys), NoDecryptionKeyError);
});

test('a multi-keyring child that changes the data key, the suite, the context or the encrypted data keys before it fails the encrypt, as the official SDK does', async () => {
  const inner = aesKeyring(32);
  const wrapOnTop = (change: (m: EncryptionMaterials) => EncryptionMaterials): Keyring => ({
    onEncrypt: async (m: EncryptionMaterials) => change(await aesKeyring(16).onEncrypt(m)),
    onDecrypt: async (m: DecryptionMaterials) => m,
  });
  const changes: Record<string, (m: EncryptionMaterials) => EncryptionMaterials> = {
    // Before: encrypt succeeded with a message sealed under this key, which the generator's
    // wrapped copy does not hold, so that not even the generator could decrypt it.
    'another data key': (m) => ({ ...m, plaintextDataKey: randomBytes(32) }),
    'a shorter data key': (m) => ({ ...m, plaintextDataKey: m.plaintextDataKey!.subarray(0, 16) }),
    'no data key': (m) => ({ ...m, plaintextDataKey: undefined }) as EncryptionMaterials,
    'another encryption context': (m) => ({ ...m, encryptionContext: { ...m.encryptionContext, a: 'c' } }),
    'a pair added to the encryption context': (m) => ({ ...m, encryptionContext: { ...m.encryptionContext, extra: 'x' } }),
    'another signing key': (m) => ({ ...m, signingKey: generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey }),
    'an encrypted data key changed': (m) => ({ ...m, encryptedDataKeys: [{ ...m.encryptedDataKeys[0]!, ciphertext: randomBytes(40) }, ...m.encryptedDataKeys.slice(1)] }),
    'the generator\'s encrypted data key dropped': (m) => ({ ...m, encryptedDataKeys: m.encryptedDataKeys.slice(1) }),
  };
  for (const [what, change] of Object.entries(changes)) {
    await assert.rejects(encrypt(new MultiKeyring({ generator: inner, children: [wrapOnTop(change)] }), Buffer.from('hi'), { encryptionContext: { a: 'b' } }), KeyringError, what);
  }
  // Copies of the encrypted data keys it kept are the same keys: a child may return them.
  const copying = wrapOnTop((m) => ({ ...m, encryptedDataKeys: m.encryptedDataKeys.map((edk) => ({ ...edk, ciphertext: Buffer.from(edk.ciphertext) })) }));
  const copied = await encrypt(new MultiKeyring({ generator: inner, children: [copying] }), Buffer.from('copied'), { encryptionContext: { a: 'b' } });
  assert.equal((await decrypt(inner, copied.ciphertext)).plaintext.toString(), 'copied');
  // A child that only adds its own wrapped key is fine, and either keyring decrypts the message.
  const child = aesKeyring(16);
  const { ciphertext } = await encrypt(new MultiKeyring({ generator: inner, children: [child] }), Buffer.from('hi'));
  assert.equal((await decrypt(inner, ciphertext)).plaintext.toString(), 'hi');
  assert.equal((await decrypt(child, ciphertext)).plaintext.toString(), 'hi');
});

test('a keyring or materials manager of the caller\'s that returns no materials, a data key that is not bytes, an unknown suite or malformed encrypted data keys fails with a KeyringError', async () => {
  const inner = aesKeyring(32);
  const { ciphertext } = await encrypt(inner, Buffer.from('hello'));
  type Answer = (m: EncryptionMaterials) => unknown;
  const broken: Record<string, { onEncrypt: Answer; onDecrypt?: (m: DecryptionMaterials) => unknown }> = {
    'no materials': { onEncrypt: () => undefined, onDecrypt: () => undefined },
    'null': { onEncrypt: () => null, onDecrypt: () => null },
    'a data key that only claims a length': {
      onEncrypt: async (m) => ({ ...(await inner.onEncrypt(m)), plaintextDataKey: { byteLength: 32 } }),
      onDecrypt: (m) => ({ ...m, plaintextDataKey: { byteLength: 32 } }),
    },
    'encrypted data keys that are not a list': { onEncrypt: async (m) => ({ ...(await inner.onEncrypt(m)), encryptedDataKeys: 'abc' }) },
    'an encrypted data key of the wrong shape': {
      onEncrypt: async (m) => ({ ...(await inner.onEncrypt(m)), encryptedDataKeys: [{ providerId: 5, providerInfo: 'x', ciphertext: null }] }),
    },
    // Each would be written, and then refused by the official SDKs' decrypt ("Malformed encrypted data key").
    ...Object.fromEntries((['providerId', 'providerInfo', 'ciphertext'] as const).map((field) => [`an added encrypted data key with an empty ${field}`, {
      onEncrypt: async (m: EncryptionMaterials) => {
        const done = await inner.onEncrypt(m);
        const extra = { providerId: 'custom', providerInfo: Buffer.from('info'), ciphertext: Buffer.from('wrapped'), [field]: field === 'providerId' ? '' : new Uint8Array(0) };
        return withEncryptedDataKey(done, extra);
      },
    }])),
  };
  for (const [what, answers] of Object.entries(broken)) {
    const keyring = {
      onEncrypt: async (m: EncryptionMaterials) => answers.onEncrypt(m),
      onDecrypt: async (m: DecryptionMaterials, edks: readonly EncryptedDataKey[]) => (answers.onDecrypt ?? (() => inner.onDecrypt(m, edks)))(m),
    } as unknown as Keyring;
    // Before: TypeErrors from deep inside (a property of undefined, node:crypto's HKDF, Buffer.from).
    await assert.rejects(encrypt(keyring, Buffer.from('hi')), KeyringError, `encrypt, keyring: ${what}`);
    await assert.rejects(pipeline(Readable.from([Buffer.from('hi')]), encryptStream(keyring), async (s: AsyncIterable<Buffer>) => { for await (const _ of s); }), KeyringError, `encryptStream, keyring: ${what}`);
    await assert.rejects(encrypt(new MultiKeyring({ generator: keyring }), Buffer.from('hi')), KeyringError, `multi-keyring generator: ${what}`);
    await assert.rejects(encrypt(new MultiKeyring({ generator: inner, children: [keyring] }), Buffer.from('hi')), KeyringError, `multi-keyring child: ${what}`);
    if (answers.onDecrypt !== undefined) {
      await assert.rejects(decrypt(keyring, ciphertext), KeyringError, `decrypt, keyring: ${what}`);
      await assert.rejects(pipeline(Readable.from([ciphertext]), decryptStream(keyring), async (s: AsyncIterable<Buffer>) => { for await (const _ of s); }), KeyringError, `decryptStream, keyring: ${what}`);
    }
  }
  // A materials manager answers for itself, and so does one under the caching manager.
  const cmm = { getEncryptionMaterials: async () => undefined, decryptMaterials: async () => undefined } as unknown as CryptographicMaterialsManager;
  await assert.rejects(encrypt(cmm, Buffer.from('hi')), KeyringError);
  await assert.rejects(decrypt(cmm, ciphertext), KeyringError);
  const caching = new CachingCryptographicMaterialsManager({ underlying: cmm, cache: new LocalMaterialsCache(), maxAge: 60_000 });
  await assert.rejects(encrypt(caching, Buffer.from('hi')), KeyringError);
  await assert.rejects(decrypt(caching, ciphertext), KeyringError);
  // A suite read back from elsewhere (a shared cache's copy) is taken by its id; an unknown id is refused.
  const withSuite = (suite: (s: EncryptionMaterials['suite']) => unknown) => ({
    getEncryptionMaterials: async (r: Parameters<CryptographicMaterialsManager['getEncryptionMaterials']>[0]) => {
      const m = await new CachingCryptographicMaterialsManager({ underlying: inner, cache: new LocalMaterialsCache(0), maxAge: 1 }).getEncryptionMaterials(r);
      return { ...m, suite: suite(m.suite) };
    },
    decryptMaterials: async () => undefined,
  }) as unknown as CryptographicMaterialsManager;
  const copied = await encrypt(withSuite((s) => JSON.parse(JSON.stringify(s))), Buffer.from('hi'));
  assert.equal((await decrypt(inner, copied.ciphertext)).plaintext.toString(), 'hi');
  await assert.rejects(encrypt(withSuite((s) => ({ ...s, id: 0x1234 })), Buffer.from('hi')), KeyringError, 'a suite of its own');
  await assert.rejects(encrypt(withSuite(() => undefined), Buffer.from('hi')), KeyringError, 'no suite');
});
