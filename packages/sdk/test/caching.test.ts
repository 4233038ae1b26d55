/**
 * Caching materials manager (framework/caching-cmm.md) with a KMS keyring against a Coffer
 * server: GenerateDataKey calls are counted at the server.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  AlgorithmSuiteId,
  CachingCryptographicMaterialsManager,
  CommitmentPolicy,
  decrypt,
  DefaultCryptographicMaterialsManager,
  encrypt,
  KmsKeyring,
  LocalMaterialsCache,
  PolicyViolationError,
  RequiredEncryptionContextCryptographicMaterialsManager,
  type CachingCmmOptions,
  type Keyring,
} from '../src/index.js';
import { startCoffer, type CofferForTests } from './helpers/coffer-server.js';
import { aesKeyring } from './helpers/fixtures.js';

describe('caching materials manager with a KMS keyring on Coffer', () => {
  let coffer: CofferForTests;
  let keyring: KmsKeyring;
  before(async () => {
    coffer = await startCoffer();
    keyring = new KmsKeyring({ generatorKeyId: await coffer.createKey(), client: coffer.kms });
  });
  after(() => coffer.dispose());

  const cmm = (o: Partial<CachingCmmOptions> = {}) =>
    new CachingCryptographicMaterialsManager({ underlying: keyring, cache: new LocalMaterialsCache(), maxAge: 60_000, ...o });

  async function generateCalls(manager: CachingCryptographicMaterialsManager, messages: number, size: number): Promise<number> {
    coffer.resetCounts();
    for (let i = 0; i < messages; i++) {
      const plaintext = randomBytes(size);
      const { ciphertext } = await encrypt(manager, plaintext, { encryptionContext: { purpose: 'cache-test' } });
      assert.ok((await decrypt(keyring, ciphertext)).plaintext.equals(plaintext));
    }
    return coffer.count('GenerateDataKey');
  }

  for (const [n, m] of [[10, 3], [9, 3], [5, 1], [4, 10]] as const) {
    test(`${n} messages under a message limit of ${m} make ceil(${n}/${m}) = ${Math.ceil(n / m)} GenerateDataKey calls`, async () => {
      assert.equal(await generateCalls(cmm({ maxMessagesEncrypted: m }), n, 10), Math.ceil(n / m));
    });
  }

  test('byte limit: 10 messages of 300 bytes under a 1000-byte limit use a data key for 3 messages each (4 calls)', async () => {
    assert.equal(await generateCalls(cmm({ maxBytesEncrypted: 1000 }), 10, 300), 4);
  });

  test('concurrent messages on one manager at its limits: no data key encrypts more messages or bytes than allowed, counted per data key from the messages', async () => {
    // Which data key a message was encrypted under: the one its decryption unwraps.
    let unwrapped = '';
    const recording: Keyring = {
      onEncrypt: (m) => keyring.onEncrypt(m),
      async onDecrypt(m, edks) {
        const r = await keyring.onDecrypt(m, edks);
        unwrapped = Buffer.from(r.plaintextDataKey!).toString('hex');
        return r;
      },
    };
    for (const [limits, sizes] of [
      [{ maxMessagesEncrypted: 3 }, Array.from({ length: 30 }, () => 10)],
      [{ maxBytesEncrypted: 1000 }, Array.from({ length: 30 }, (_, i) => [300, 1, 999, 0, 500][i % 5]!)],
    ] as const) {
      const manager = cmm(limits);
      coffer.resetCounts();
      // A cold start (every message misses at once), then a warm one (they race for one entry).
      const messages: Array<{ ciphertext: Buffer; size: number }> = [];
      for (let round = 0; round < 2; round++) {
        if (round === 1) await encrypt(manager, Buffer.alloc(0)).then(({ ciphertext }) => messages.push({ ciphertext, size: 0 }));
        messages.push(...await Promise.all(sizes.map(async (size) => ({ ciphertext: (await encrypt(manager, randomBytes(size))).ciphertext, size }))));
      }
      const generated = coffer.count('GenerateDataKey');
      const used = new Map<string, { messages: number; bytes: number }>();
      for (const { ciphertext, size } of messages) {
        await decrypt(recording, ciphertext);
        const u = used.get(unwrapped) ?? { messages: 0, bytes: 0 };
        used.set(unwrapped, { messages: u.messages + 1, bytes: u.bytes + size });
      }
      assert.equal(used.size, generated, 'one GenerateDataKey call per data key in use');
      assert.ok(used.size < messages.length, 'some data keys were shared');
      for (const u of used.values()) {
        assert.ok(u.messages <= (limits.maxMessagesEncrypted ?? Infinity), `${u.messages} messages under one data key`);
        assert.ok(u.bytes <= (limits.maxBytesEncrypted ?? Infinity), `${u.bytes} bytes under one data key`);
      }
    }
  });

  test('a message larger than the byte limit is never served from (or put in) the cache', async () => {
    assert.equal(await generateCalls(cmm({ maxBytesEncrypted: 1000 }), 3, 1001), 3);
  });

  test('age limit: an entry is used until maxAge has passed, then a new data key is generated', async () => {
    let now = 1_000_000;
    const manager = cmm({ maxAge: 1000, testOnlyNow: () => now, cache: new LocalMaterialsCache(1000, { testOnlyNow: () => now }) });
    assert.equal(await generateCalls(manager, 3, 10), 1);
    now += 999;
    assert.equal(await generateCalls(manager, 1, 10), 0);
    now += 1;
    assert.equal(await generateCalls(manager, 3, 10), 1);
  });

  test('two managers on one cache do not share entries unless given the same partition', async () => {
    const cache = new LocalMaterialsCache();
    const a = cmm({ cache });
    const b = cmm({ cache });
    assert.notEqual(a.partition, b.partition);
    assert.equal(await generateCalls(a, 2, 10) + await generateCalls(b, 2, 10), 2);
    const c = cmm({ cache, partition: 'shared' });
    const d = cmm({ cache, partition: 'shared' });
    assert.equal(await generateCalls(c, 2, 10) + await generateCalls(d, 2, 10), 1);
  });

  test('a manager holds entries another put in a shared partition to its own maxAge, encrypting and decrypting', async () => {
    // Checked against the age limit of whichever manager put the entry, a manager with a maxAge of
    // 1 s used a data key 30 minutes old.
    let now = 1_000_000;
    const cache = new LocalMaterialsCache(1000, { testOnlyNow: () => now });
    const longLived = cmm({ cache, partition: 'ages', maxAge: 3_600_000, testOnlyNow: () => now });
    const strict = cmm({ cache, partition: 'ages', maxAge: 1000, testOnlyNow: () => now });
    assert.equal(await generateCalls(longLived, 1, 10), 1);
    now += 999;
    assert.equal(await generateCalls(strict, 1, 10), 0, 'within both limits: shared');
    now += 30 * 60_000;
    assert.equal(await generateCalls(strict, 1, 10), 1, 'past the strict manager\'s maxAge');

    const { ciphertext } = await encrypt(keyring, Buffer.from('aged'));
    const decrypting = { long: cmm({ cache, partition: 'ages-d', maxAge: 3_600_000, testOnlyNow: () => now }), strict: cmm({ cache, partition: 'ages-d', maxAge: 1000, testOnlyNow: () => now }) };
    coffer.resetCounts();
    await decrypt(decrypting.long, ciphertext);
    now += 30 * 60_000;
    await decrypt(decrypting.strict, ciphertext);
    assert.equal(coffer.count('Decrypt'), 2);
  });

  test('entries are per encryption context and per requested suite', async () => {
    const manager = cmm();
    coffer.resetCounts();
    for (const ec of [{ a: '1' }, { a: '2' }, { a: '1' }]) await encrypt(manager, Buffer.from('x'), { encryptionContext: ec });
    await encrypt(manager, Buffer.from('x'), { encryptionContext: { a: '1' }, suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY });
    assert.equal(coffer.count('GenerateDataKey'), 3);
  });

  test('a cached entry of a suite the request\'s commitment policy forbids is passed over, not an error', async () => {
    const manager = cmm();
    coffer.resetCounts();
    const forbid = { encryptionContext: { p: 'q' }, commitmentPolicy: CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT };
    const require = { encryptionContext: { p: 'q' }, commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT };
    const first = await encrypt(manager, Buffer.from('x'), forbid);
    assert.equal(first.messageHeader.suiteId, AlgorithmSuiteId.AES_256_GCM_IV12_TAG16_HKDF_SHA384_ECDSA_P384);
    const second = await encrypt(manager, Buffer.from('x'), require);
    assert.equal(second.messageHeader.suiteId, AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384);
    await encrypt(manager, Buffer.from('x'), require);
    assert.equal(coffer.count('GenerateDataKey'), 2, 'the committing materials were cached in their turn');
  });

  test('identity-KDF suites are never cached', async () => {
    const manager = cmm();
    coffer.resetCounts();
    for (let i = 0; i < 3; i++) {
      await encrypt(manager, Buffer.from('x'), { suiteId: AlgorithmSuiteId.AES_256_GCM_IV12_TAG16_NO_KDF, commitmentPolicy: CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT });
    }
    assert.equal(coffer.count('GenerateDataKey'), 3);
  });

  test('decryption materials are cached: the same message decrypts with one KMS Decrypt call', async () => {
    const manager = cmm();
    const { ciphertext } = await encrypt(keyring, Buffer.from('again'));
    coffer.resetCounts();
    for (let i = 0; i < 4; i++) assert.equal((await decrypt(manager, ciphertext)).plaintext.toString(), 'again');
    assert.equal(coffer.count('Decrypt'), 1);
  });

  test('LRU: with capacity 1, alternating contexts evict each other', async () => {
    const manager = cmm({ cache: new LocalMaterialsCache(1) });
    coffer.resetCounts();
    for (const ec of [{ a: '1' }, { a: '2' }, { a: '1' }, { a: '2' }]) await encrypt(manager, Buffer.from('x'), { encryptionContext: ec });
    assert.equal(coffer.count('GenerateDataKey'), 4);
  });

  test('options are validated: maxAge is required and positive', () => {
    assert.throws(() => cmm({ maxAge: 0 }), RangeError);
    assert.throws(() => cmm({ maxAge: Number.POSITIVE_INFINITY }), RangeError, 'nothing is cached forever');
    assert.throws(() => cmm({ maxAge: Number.NaN }), RangeError);
    assert.throws(() => cmm({ maxMessagesEncrypted: 0 }), RangeError);
    assert.throws(() => new LocalMaterialsCache(-1), RangeError);
    assert.throws(() => new LocalMaterialsCache(1.5), RangeError);
  });

  test('a cache of capacity 0 is accepted and keeps nothing: every message asks KMS', async () => {
    assert.equal(await generateCalls(cmm({ cache: new LocalMaterialsCache(0) }), 3, 10), 3);
  });

  test('maxMessagesEncrypted is at most 2^32, the limit of the official SDKs', () => {
    assert.equal(cmm({ maxMessagesEncrypted: 2 ** 32 }).maxMessagesEncrypted, 2 ** 32);
    assert.throws(() => cmm({ maxMessagesEncrypted: 2 ** 32 + 1 }), RangeError);
    assert.throws(() => cmm({ maxMessagesEncrypted: Number.MAX_SAFE_INTEGER }), RangeError);
  });
});

describe('caching materials manager with a required-encryption-context manager', () => {
  /** A local keyring that counts the data keys it makes and unwraps. */
  function counted(): Keyring & { encrypts: number; decrypts: number } {
    const inner = aesKeyring();
    const k = {
      encrypts: 0,
      decrypts: 0,
      onEncrypt: (m: Parameters<Keyring['onEncrypt']>[0]) => (k.encrypts++, inner.onEncrypt(m)),
      onDecrypt: (m: Parameters<Keyring['onDecrypt']>[0], edks: Parameters<Keyring['onDecrypt']>[1]) => (k.decrypts++, inner.onDecrypt(m, edks)),
    };
    return k;
  }

  test('beneath the cache, it still refuses a decryption without its keys after one that gave them (the reproduced context is part of the cache id)', async () => {
    const keyring = counted();
    const { ciphertext } = await encrypt(keyring, Buffer.from('tenant data'), { encryptionContext: { tenant: 'a' } });
    const cmm = new CachingCryptographicMaterialsManager({
      underlying: new RequiredEncryptionContextCryptographicMaterialsManager({ underlying: keyring, requiredEncryptionContextKeys: ['tenant'] }),
      cache: new LocalMaterialsCache(), maxAge: 60_000,
    });
    for (let i = 0; i < 2; i++) {
      assert.equal((await decrypt(cmm, ciphertext, { encryptionContext: { tenant: 'a' } })).plaintext.toString(), 'tenant data');
      await assert.rejects(decrypt(cmm, ciphertext), PolicyViolationError);
    }
    assert.equal(keyring.decrypts, 1, 'the decryption that gave the keys was cached');
  });

  test('above the cache, its encryptions are cached, apart from those of requests that require other keys', async () => {
    const keyring = counted();
    const cache = new LocalMaterialsCache();
    const caching = new CachingCryptographicMaterialsManager({ underlying: keyring, cache, maxAge: 60_000, partition: 'p' });
    const required = new RequiredEncryptionContextCryptographicMaterialsManager({ underlying: caching, requiredEncryptionContextKeys: ['tenant'] });
    const encryptionContext = { tenant: 'a', purpose: 'x' };
    const sealed = [];
    for (let i = 0; i < 5; i++) sealed.push((await encrypt(required, Buffer.from(`m${i}`), { encryptionContext })).ciphertext);
    assert.equal(keyring.encrypts, 1);
    for (const [i, ciphertext] of sealed.entries()) {
      // The required key was authenticated, not stored: decryption must give it again.
      assert.equal((await decrypt(keyring, ciphertext, { encryptionContext: { tenant: 'a' } })).plaintext.toString(), `m${i}`);
      await assert.rejects(decrypt(keyring, ciphertext));
    }
    // The same context without required keys stores every pair: other materials, another entry.
    const plain = (await encrypt(caching, Buffer.from('plain'), { encryptionContext })).ciphertext;
    assert.equal(keyring.encrypts, 2);
    assert.equal((await decrypt(keyring, plain)).plaintext.toString(), 'plain');
  });

  test('malformed materials from the underlying manager are a KeyringError naming it, encrypting and decrypting', async () => {
    const garbage = { getEncryptionMaterials: async () => ({ foo: 1 }), decryptMaterials: async () => ({ foo: 1 }) } as never;
    const cmm = new CachingCryptographicMaterialsManager({ underlying: garbage, cache: new LocalMaterialsCache(), maxAge: 1000 });
    // Before, encrypting failed with "TypeError: Cannot read properties of undefined (reading 'kdfHash')".
    await assert.rejects(encrypt(cmm, Buffer.from('x')), { name: 'KeyringError', message: 'the underlying materials manager returned materials of no known algorithm suite' });
    const message = (await encrypt(aesKeyring(), Buffer.from('x'))).ciphertext;
    await assert.rejects(decrypt(cmm, message), { name: 'KeyringError', message: 'the underlying materials manager returned materials of no known algorithm suite' });
    // A suite of the table, but a data key of one byte: cached, it would be handed out again and again.
    const short = async () => {
      const real = await new DefaultCryptographicMaterialsManager(aesKeyring()).getEncryptionMaterials({ encryptionContext: {}, commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT });
      return { ...real, plaintextDataKey: new Uint8Array(1) };
    };
    const shortKeys = new CachingCryptographicMaterialsManager({ underlying: { getEncryptionMaterials: short, decryptMaterials: short } as never, cache: new LocalMaterialsCache(), maxAge: 1000 });
    await assert.rejects(encrypt(shortKeys, Buffer.from('x')), { name: 'KeyringError', message: 'the underlying materials manager returned materials without a data key of the suite\'s length' });
  });

  test('a partition must be well-formed Unicode: two with lone surrogates would be one', () => {
    for (const partition of ['\uD800', 'a\uDFFFb']) {
      assert.throws(() => new CachingCryptographicMaterialsManager({ underlying: aesKeyring(), cache: new LocalMaterialsCache(), maxAge: 1, partition }), TypeError);
    }
  });
});

describe('local materials cache (framework/local-cryptographic-materials-cache.md)', () => {
  test('a get never returns a TTL-expired entry, and evicts the expired least recently used ones', async () => {
    let now = 1_000_000;
    const cache = new LocalMaterialsCache(1000, { testOnlyNow: () => now });
    const manager = (maxAge: number) => new CachingCryptographicMaterialsManager({ underlying: aesKeyring(), cache, maxAge, partition: 'p', testOnlyNow: () => now });
    // Ten contexts used once each, under a short age limit, then one under a long one.
    for (let i = 0; i < 10; i++) await encrypt(manager(1000), Buffer.from('x'), { encryptionContext: { i: String(i) } });
    await encrypt(manager(60_000), Buffer.from('x'), { encryptionContext: { long: 'lived' } });
    assert.equal(cache.size, 11);
    now += 1000;
    // Nobody asks for the ten again: they go on the next get all the same, the live entry stays.
    assert.equal(await cache.getEncryptionEntry('no such entry', { messagesEncrypted: 1, bytesEncrypted: 1 }), undefined);
    assert.equal(cache.size, 1);
    now += 59_000;
    assert.equal(await cache.getDecryptionEntry('no such entry either'), undefined);
    assert.equal(cache.size, 0);
  });

  test('an entry\'s data key is zeroed when the entry leaves the cache; what a get handed out is a copy and stays whole', async () => {
    let now = 1_000_000;
    const cache = new LocalMaterialsCache(2, { testOnlyNow: () => now });
    const put = async (id: string, expiresAt = now + 1000) => {
      const key = Buffer.alloc(32, 7);
      const materials = { suite: {}, encryptionContext: {}, requiredEncryptionContextKeys: [], encryptedDataKeys: [], plaintextDataKey: key } as never;
      await cache.putEncryptionEntry(id, { materials, createdAt: now, expiresAt, messagesEncrypted: 1, bytesEncrypted: 0 });
      return key;
    };
    const zeroed = (key: Buffer) => key.every((b) => b === 0);
    const usage = { messagesEncrypted: 1, bytesEncrypted: 0 };

    const evicted = await put('a');
    const handedOut = (await cache.getEncryptionEntry('a', usage))!.materials.plaintextDataKey!;
    assert.notEqual(handedOut, evicted, 'a get hands out a copy');
    assert.ok(Buffer.from(handedOut).equals(Buffer.alloc(32, 7)));
    const deleted = await put('b');
    await put('c');
    assert.ok(zeroed(evicted), 'pushed out by capacity: zeroed');
    assert.ok(Buffer.from(handedOut).equals(Buffer.alloc(32, 7)), 'the copy in use is untouched');
    await cache.deleteEntry('b');
    assert.ok(zeroed(deleted), 'deleted: zeroed');
    const replaced = await put('c');
    const replacing = await put('c');
    assert.ok(zeroed(replaced) && !zeroed(replacing), 'replaced under the same id: the old key zeroed');
    const expired = await put('d', now + 10);
    now += 10;
    assert.equal(await cache.getEncryptionEntry('d', usage), undefined);
    assert.ok(zeroed(expired), 'expired: zeroed');
  });

  test('materials a caching manager handed out keep their data key when the cache evicts the entry they came from', async () => {
    const keyring = aesKeyring();
    const manager = new CachingCryptographicMaterialsManager({ underlying: keyring, cache: new LocalMaterialsCache(1), maxAge: 60_000 });
    const request = (n: string) => ({ encryptionContext: { n }, commitmentPolicy: CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT, maxPlaintextLength: 10 });
    const missed = await manager.getEncryptionMaterials(request('a'));
    const hit = await manager.getEncryptionMaterials(request('a'));
    const key = Buffer.from(missed.plaintextDataKey!);
    assert.ok(Buffer.from(hit.plaintextDataKey!).equals(key), 'the same data key, from the cache');
    // Capacity 1: this evicts (and zeroes) the entry both came from.
    await manager.getEncryptionMaterials(request('b'));
    assert.ok(Buffer.from(missed.plaintextDataKey!).equals(key), 'the materials of the miss are untouched');
    assert.ok(Buffer.from(hit.plaintextDataKey!).equals(key), 'the materials of the hit are untouched');
    // And a message encrypted with them reads back.
    const { ciphertext } = await encrypt({ getEncryptionMaterials: async () => hit, decryptMaterials: () => { throw new Error('unused'); } }, Buffer.from('x'), { encryptionContext: { n: 'a' } });
    assert.equal((await decrypt(keyring, ciphertext)).plaintext.toString(), 'x');
  });

  test('an expired entry asked for by its id is not returned, whatever the caller checks', async () => {
    let now = 1_000_000;
    const cache = new LocalMaterialsCache(1000, { testOnlyNow: () => now });
    const materials = { suite: {}, encryptionContext: {}, requiredEncryptionContextKeys: [], encryptedDataKeys: [] } as never;
    await cache.putEncryptionEntry('id', { materials, createdAt: now, expiresAt: now + 10, messagesEncrypted: 1, bytesEncrypted: 0 });
    assert.notEqual(await cache.getEncryptionEntry('id', { messagesEncrypted: 1, bytesEncrypted: 0 }), undefined);
    now += 10;
    assert.equal(await cache.getEncryptionEntry('id', { messagesEncrypted: 1, bytesEncrypted: 0 }), undefined);
    assert.equal(cache.size, 0);
  });
});
