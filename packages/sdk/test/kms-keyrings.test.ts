/**
 * AWS KMS keyrings (framework/aws-kms/*.md): against a real Coffer server through
 * @aws-sdk/client-kms, and against an in-memory KMS for multi-Region replicas and the exact
 * requests sent.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import {
  AlgorithmSuiteId,
  AwsKmsDiscoveryKeyring,
  AwsKmsKeyring,
  AwsKmsMrkDiscoveryKeyring,
  AwsKmsMrkKeyring,
  decrypt,
  encrypt,
  getSuite,
  KeyringError,
  KmsKeyring,
  mrkMatchForDecrypt,
  MultiKeyring,
  NoDecryptionKeyError,
  type DecryptionMaterials,
} from '../src/index.js';
import { aesKeyring } from './helpers/fixtures.js';
import { startCoffer, type CofferForTests } from './helpers/coffer-server.js';
import { FakeKms } from './helpers/fake-kms.js';

const CONTEXT = { tenant: 'acme', purpose: 'kms-test' };

describe('KMS keyrings against a Coffer server', () => {
  let coffer: CofferForTests;
  let keyA: string;
  let keyB: string;
  let keyC: string;
  before(async () => {
    coffer = await startCoffer();
    [keyA, keyB, keyC] = [await coffer.createKey(), await coffer.createKey(), await coffer.createKey()];
  });
  after(() => coffer.dispose());

  test('strict keyring: GenerateDataKey with the generator, then one Encrypt per additional key; EDKs carry the key ARNs', async () => {
    const keyring = new KmsKeyring({ generatorKeyId: keyA, keyIds: [keyB], client: coffer.kms });
    coffer.resetCounts();
    const plaintext = randomBytes(5000);
    const { ciphertext, messageHeader } = await encrypt(keyring, plaintext, { encryptionContext: CONTEXT });
    assert.equal(coffer.count('GenerateDataKey'), 1);
    assert.equal(coffer.count('Encrypt'), 1);
    assert.deepEqual(messageHeader.encryptedDataKeys.map((e) => e.providerId), ['aws-kms', 'aws-kms']);
    assert.deepEqual(messageHeader.encryptedDataKeys.map((e) => e.providerInfo.toString('utf8')), [keyA, keyB]);
    coffer.resetCounts();
    const out = await decrypt(keyring, ciphertext, { encryptionContext: CONTEXT });
    assert.ok(out.plaintext.equals(plaintext));
    assert.equal(coffer.count('Decrypt'), 1, 'the generator key decrypts first, and only once');
  });

  test('a keyring naming only the additional key decrypts with that key', async () => {
    const { ciphertext } = await encrypt(new KmsKeyring({ generatorKeyId: keyA, keyIds: [keyB], client: coffer.kms }), Buffer.from('hi'));
    coffer.resetCounts();
    const out = await decrypt(new AwsKmsKeyring({ keyId: keyB, client: coffer.kms }), ciphertext);
    assert.equal(out.plaintext.toString(), 'hi');
    assert.equal(coffer.count('Decrypt'), 1);
  });

  test('a keyring for an unrelated key makes no Decrypt call and fails with NoDecryptionKeyError', async () => {
    const { ciphertext } = await encrypt(new AwsKmsKeyring({ keyId: keyA, client: coffer.kms }), Buffer.from('hi'));
    coffer.resetCounts();
    await assert.rejects(decrypt(new AwsKmsKeyring({ keyId: keyC, client: coffer.kms }), ciphertext), NoDecryptionKeyError);
    assert.equal(coffer.count('Decrypt'), 0);
  });

  test('the encryption context reaches KMS: the EDK does not decrypt under another context', async () => {
    const keyring = new AwsKmsKeyring({ keyId: keyA, client: coffer.kms });
    const { ciphertext, messageHeader } = await encrypt(keyring, Buffer.from('x'), { encryptionContext: CONTEXT, suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY });
    assert.ok(ciphertext.length > 0);
    const edks = messageHeader.encryptedDataKeys.map((e, i) => ({ ...e, ciphertext: edkCiphertext(ciphertext, i) }));
    const materials = (ec: Record<string, string>): DecryptionMaterials => ({
      suite: getSuite(AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY), encryptionContext: ec, requiredEncryptionContextKeys: [],
    });
    const good = await keyring.onDecrypt(materials(CONTEXT), edks);
    assert.equal(good.plaintextDataKey?.byteLength, 32);
    await assert.rejects(keyring.onDecrypt(materials({ ...CONTEXT, tenant: 'other' }), edks), (error: Error) => {
      assert.ok(error instanceof NoDecryptionKeyError);
      // The message says which key failed and what KMS said, without walking the causes.
      // KMS sends no message with it; the AWS SDK's stand-in "UnknownError" is not quoted as one.
      assert.equal(error.message, `AWS KMS keyring could not decrypt any encrypted data key: KMS Decrypt with ${keyA} failed: InvalidCiphertextException`);
      return true;
    });
  });

  test('discovery keyring decrypts any key it can use; a discovery filter limits partition and account before any call', async () => {
    const { ciphertext } = await encrypt(new KmsKeyring({ generatorKeyId: keyA, client: coffer.kms }), Buffer.from('discover me'));
    const ok = new AwsKmsDiscoveryKeyring({ client: coffer.kms, discoveryFilter: { partition: 'aws', accountIds: [coffer.accountId] } });
    assert.equal((await decrypt(ok, ciphertext)).plaintext.toString(), 'discover me');
    assert.equal((await decrypt(new AwsKmsDiscoveryKeyring({ client: coffer.kms }), ciphertext)).plaintext.toString(), 'discover me');
    coffer.resetCounts();
    for (const discoveryFilter of [{ partition: 'aws', accountIds: ['999999999999'] }, { partition: 'aws-cn', accountIds: [coffer.accountId] }]) {
      await assert.rejects(decrypt(new AwsKmsDiscoveryKeyring({ client: coffer.kms, discoveryFilter }), ciphertext), NoDecryptionKeyError);
    }
    assert.equal(coffer.count('Decrypt'), 0);
  });

  test('a discovery keyring cannot encrypt', async () => {
    await assert.rejects(encrypt(new AwsKmsDiscoveryKeyring({ client: coffer.kms }), Buffer.from('x')), KeyringError);
  });

  test('a KMS keyring wraps an existing data key with Encrypt when it is a multi-keyring child', async () => {
    const keyring = new MultiKeyring({ generator: aesKeyring(), children: [new AwsKmsKeyring({ keyId: keyC, client: coffer.kms })] });
    coffer.resetCounts();
    const { ciphertext } = await encrypt(keyring, Buffer.from('both'));
    assert.equal(coffer.count('Encrypt'), 1);
    assert.equal(coffer.count('GenerateDataKey'), 0);
    assert.equal((await decrypt(new AwsKmsKeyring({ keyId: keyC, client: coffer.kms }), ciphertext)).plaintext.toString(), 'both');
  });

  test('a KmsKeyring with a generator, as a multi-keyring child, wraps the existing data key with every key, as KmsKeyringNode does', async () => {
    const kmsChild = new KmsKeyring({ generatorKeyId: keyA, keyIds: [keyB], client: coffer.kms });
    coffer.resetCounts();
    const { ciphertext, messageHeader } = await encrypt(new MultiKeyring({ generator: aesKeyring(), children: [kmsChild] }), Buffer.from('all three'));
    assert.equal(coffer.count('GenerateDataKey'), 0);
    assert.equal(coffer.count('Encrypt'), 2);
    assert.equal(messageHeader.encryptedDataKeys.length, 3);
    for (const keyId of [keyA, keyB]) {
      assert.equal((await decrypt(new AwsKmsKeyring({ keyId, client: coffer.kms }), ciphertext)).plaintext.toString(), 'all three', keyId);
    }
  });

  test('a failed Encrypt is named with its key, but what its client said is not quoted: the request held the data key', async () => {
    // A client (a wrapper that logs, a proxy) whose errors quote the request they failed.
    let dataKey = '';
    const quoting = {
      send: async (command: { input: { Plaintext?: Uint8Array } }) => {
        dataKey = Buffer.from(command.input.Plaintext!).toString('base64');
        throw Object.assign(new Error(`could not send ${JSON.stringify({ Plaintext: dataKey })}`), { name: 'ServiceError' });
      },
    };
    const keyring = new MultiKeyring({ generator: aesKeyring(), children: [new AwsKmsKeyring({ keyId: keyC, client: quoting })] });
    await assert.rejects(encrypt(keyring, Buffer.from('x')), (error: Error) => {
      assert.ok(error instanceof KeyringError);
      assert.equal(error.message, `KMS Encrypt with ${keyC} failed: ServiceError`);
      assert.ok(dataKey.length > 0 && !error.message.includes(dataKey));
      return true;
    });
  });
});

/** The ciphertext of EDK `i` in a v2 message (test-only header walk). */
function edkCiphertext(message: Buffer, i: number): Buffer {
  let o = 1 + 2 + 32;
  o += 2 + message.readUInt16BE(o);
  const count = message.readUInt16BE(o);
  o += 2;
  assert.ok(i < count);
  for (let k = 0; k <= i; k++) {
    o += 2 + message.readUInt16BE(o);
    o += 2 + message.readUInt16BE(o);
    const len = message.readUInt16BE(o);
    if (k === i) return message.subarray(o + 2, o + 2 + len);
    o += 2 + len;
  }
  throw new Error('unreachable');
}

describe('multi-Region keys and request shape (in-memory KMS)', () => {
  const EAST_MRK = 'arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab';
  const WEST_MRK = 'arn:aws:kms:us-west-2:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab';
  const EAST_SRK = 'arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab';
  const newKms = () => new FakeKms().addKey(EAST_MRK).addKey(WEST_MRK).addKey(EAST_SRK);

  test('MRK match for decrypt: identical ids, or mrk- replicas that differ only in region', () => {
    assert.equal(mrkMatchForDecrypt(EAST_MRK, WEST_MRK), true);
    assert.equal(mrkMatchForDecrypt(EAST_SRK, EAST_SRK), true);
    assert.equal(mrkMatchForDecrypt(EAST_SRK, EAST_SRK.replace('us-east-1', 'us-west-2')), false);
    assert.equal(mrkMatchForDecrypt(WEST_MRK, WEST_MRK.replace('111122223333', '444455556666')), false);
    assert.equal(mrkMatchForDecrypt('arn:aws:kms:us-west-2:111122223333:alias/mrk-x', 'arn:aws:kms:us-east-1:111122223333:alias/mrk-x'), false);
  });

  test('an MRK-aware KmsKeyring refuses the same multi-Region key named in two regions (MRKs are unique)', () => {
    assert.throws(() => new KmsKeyring({ generatorKeyId: EAST_MRK, keyIds: [WEST_MRK], multiRegionAware: true, client: newKms().client('us-east-1') }), /mrk-1234abcd12ab34cd56ef1234567890ab.*us-west-2/);
    assert.throws(() => new KmsKeyring({ keyIds: [EAST_MRK, 'mrk-1234abcd12ab34cd56ef1234567890ab'], multiRegionAware: true, client: newKms().client('us-east-1') }), TypeError);
    assert.ok(new KmsKeyring({ generatorKeyId: EAST_MRK, keyIds: [EAST_SRK], multiRegionAware: true, client: newKms().client('us-east-1') }));
  });

  test('MRK-aware strict keyring decrypts an EDK of the replica in another region, in its own region and with its own KeyId', async () => {
    const kms = newKms();
    const supplier = (region: string | undefined) => kms.client(region!);
    const { ciphertext } = await encrypt(new AwsKmsKeyring({ keyId: EAST_MRK, clientSupplier: supplier }), Buffer.from('replicated'));
    kms.sent.length = 0;
    const out = await decrypt(new AwsKmsMrkKeyring({ keyId: WEST_MRK, clientSupplier: supplier }), ciphertext);
    assert.equal(out.plaintext.toString(), 'replicated');
    assert.deepEqual(kms.sent.map((s) => [s.operation, s.region, s.input.KeyId]), [['Decrypt', 'us-west-2', WEST_MRK]]);
    // The non-MRK keyring does not consider the replica a match: no call at all.
    kms.sent.length = 0;
    await assert.rejects(decrypt(new AwsKmsKeyring({ keyId: WEST_MRK, clientSupplier: supplier }), ciphertext), NoDecryptionKeyError);
    assert.equal(kms.sent.length, 0);
  });

  test('MRK discovery keyring asks for the replica ARN in its region and skips single-Region keys of other regions', async () => {
    const kms = newKms();
    const supplier = (region: string | undefined) => kms.client(region!);
    const { ciphertext } = await encrypt(new KmsKeyring({ generatorKeyId: EAST_SRK, keyIds: [EAST_MRK], clientSupplier: supplier }), Buffer.from('m'));
    kms.sent.length = 0;
    const out = await decrypt(new AwsKmsMrkDiscoveryKeyring({ region: 'us-west-2', clientSupplier: supplier, discoveryFilter: { partition: 'aws', accountIds: ['111122223333'] } }), ciphertext);
    assert.equal(out.plaintext.toString(), 'm');
    assert.deepEqual(kms.sent.map((s) => [s.operation, s.region, s.input.KeyId]), [['Decrypt', 'us-west-2', WEST_MRK]]);
  });

  test('discovery keyring calls Decrypt in the region of the EDK key, with KeyId set to the EDK ARN', async () => {
    const kms = newKms();
    const { ciphertext } = await encrypt(new AwsKmsKeyring({ keyId: EAST_SRK, client: kms.client('us-east-1') }), Buffer.from('d'));
    kms.sent.length = 0;
    await decrypt(new AwsKmsDiscoveryKeyring({ clientSupplier: (r) => kms.client(r!) }), ciphertext);
    assert.deepEqual(kms.sent.map((s) => [s.operation, s.region, s.input.KeyId]), [['Decrypt', 'us-east-1', EAST_SRK]]);
  });

  test('a clientSupplier that throws, or gives no client, fails the keyring with a KeyringError keeping the cause', async () => {
    const broken = new Error('no credentials for us-east-1');
    const thrown = await encrypt(new AwsKmsKeyring({ keyId: EAST_SRK, clientSupplier: () => { throw broken; } }), Buffer.from('x')).catch((e: unknown) => e);
    assert.ok(thrown instanceof KeyringError, String(thrown));
    assert.match(thrown.message, /clientSupplier failed for region us-east-1/);
    assert.equal(thrown.cause, broken);
    const nothing = await encrypt(new AwsKmsKeyring({ keyId: EAST_SRK, clientSupplier: () => undefined as never }), Buffer.from('x')).catch((e: unknown) => e);
    assert.ok(nothing instanceof KeyringError, String(nothing));
    assert.match(nothing.message, /gave no KMS client for region us-east-1/);
  });

  test('grant tokens, the encryption context and NumberOfBytes go into every request', async () => {
    const kms = newKms();
    const keyring = new KmsKeyring({ generatorKeyId: EAST_SRK, keyIds: [EAST_MRK], client: kms.client('us-east-1'), grantTokens: ['gt-1', 'gt-2'] });
    const { ciphertext } = await encrypt(keyring, Buffer.from('g'), { encryptionContext: CONTEXT, suiteId: AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY });
    await decrypt(keyring, ciphertext);
    assert.deepEqual(kms.sent.map((s) => s.operation), ['GenerateDataKey', 'Encrypt', 'Decrypt']);
    for (const s of kms.sent) {
      assert.deepEqual(s.input.GrantTokens, ['gt-1', 'gt-2']);
      assert.deepEqual(s.input.EncryptionContext, CONTEXT);
    }
    assert.equal(kms.sent[0]!.input.NumberOfBytes, 32);
    assert.equal(kms.sent[2]!.input.KeyId, EAST_SRK);
  });

  test('a Decrypt response that names another key is rejected', async () => {
    const kms = newKms();
    const client = kms.client('us-east-1');
    const { ciphertext } = await encrypt(new AwsKmsKeyring({ keyId: EAST_SRK, client }), Buffer.from('x'));
    kms.answerDecryptAs = EAST_MRK;
    const error = await decrypt(new AwsKmsKeyring({ keyId: EAST_SRK, client }), ciphertext).then(() => null, (e: unknown) => e);
    assert.ok(error instanceof NoDecryptionKeyError);
    assert.ok((error.cause as AggregateError).errors.some((e) => e instanceof KeyringError && /different key/.test(e.message)));
  });

  test('an aws-kms EDK whose provider info is not a key ARN fails OnDecrypt', async () => {
    const kms = newKms();
    const keyring = new AwsKmsKeyring({ keyId: EAST_SRK, client: kms.client('us-east-1') });
    const materials: DecryptionMaterials = { suite: getSuite(0x0478), encryptionContext: {}, requiredEncryptionContextKeys: [] };
    for (const info of ['alias/x', 'arn:aws:kms:us-east-1:111122223333:alias/x', 'arn:aws:s3:us-east-1:111122223333:key/x']) {
      await assert.rejects(keyring.onDecrypt(materials, [{ providerId: 'aws-kms', providerInfo: Buffer.from(info), ciphertext: Buffer.alloc(8) }]), KeyringError);
    }
    assert.equal(kms.sent.length, 0);
  });

  test('constructors reject invalid key identifiers and options', () => {
    assert.throws(() => new AwsKmsKeyring({ keyId: '' }), TypeError);
    // In the KmsKeyring's own terms, not the multi-keyring's it is built from.
    assert.throws(() => new KmsKeyring({}), { name: 'TypeError', message: /^a KmsKeyring needs a generatorKeyId or at least one of keyIds/ });
    assert.throws(() => new KmsKeyring({ keyIds: [] }), { name: 'TypeError', message: /^a KmsKeyring needs/ });
    assert.throws(() => new AwsKmsKeyring({ keyId: 'arn:aws:kms:us-east-1:111122223333:thing/x' }), TypeError);
    assert.throws(() => new AwsKmsKeyring({ keyId: EAST_SRK, grantTokens: [''] }), TypeError);
    assert.throws(() => new AwsKmsDiscoveryKeyring({ discoveryFilter: { partition: 'aws', accountIds: [] } }), TypeError);
    assert.throws(() => new AwsKmsMrkDiscoveryKeyring({ region: '' }), TypeError);
    // Options missing or null: the keyring's own TypeError, not a property read of null.
    for (const make of [
      () => new AwsKmsKeyring(undefined as never), () => new AwsKmsKeyring({ keyId: EAST_SRK, client: null as never }),
      () => new AwsKmsDiscoveryKeyring({ discoveryFilter: null as never }), () => new AwsKmsMrkDiscoveryKeyring(undefined as never),
      () => new KmsKeyring(undefined as never), () => new MultiKeyring(undefined as never),
      () => new MultiKeyring({ children: aesKeyring() as never }),
    ]) {
      assert.throws(make, (e: unknown) => e instanceof TypeError && !/Cannot (read|destructure)|is not iterable/.test(e.message), String(make));
    }
  });

  test('the plaintext data key in a KMS response is zeroed once taken, on success and on refusal', async () => {
    const kms = newKms();
    const responses: Uint8Array[] = [];
    const client = kms.client('us-east-1');
    const watching = { send: async (command: { input: Record<string, unknown> }) => {
      const response = await client.send(command);
      if (response.Plaintext instanceof Uint8Array) responses.push(response.Plaintext);
      return response;
    } };
    const keyring = new AwsKmsKeyring({ keyId: EAST_SRK, client: watching });
    const { ciphertext } = await encrypt(keyring, Buffer.from('z'));
    await decrypt(keyring, ciphertext);
    kms.answerDecryptAs = EAST_MRK;
    await assert.rejects(decrypt(keyring, ciphertext), NoDecryptionKeyError);
    assert.equal(responses.length, 3);
    for (const plaintext of responses) assert.ok(plaintext.every((b) => b === 0), 'zeroed');
  });

  test('GenerateDataKey or Encrypt without a CiphertextBlob, or with an empty one, is named as such', async () => {
    for (const blob of [{}, { CiphertextBlob: new Uint8Array(0) }]) {
      const keyring = new AwsKmsKeyring({ keyId: EAST_SRK, client: { send: async () => ({ KeyId: EAST_SRK, Plaintext: randomBytes(32), ...blob }) } });
      await assert.rejects(encrypt(keyring, Buffer.from('x')), (e: unknown) => e instanceof KeyringError && /GenerateDataKey returned no ciphertext/.test(e.message));
      // As a child, the key wraps the existing data key with Encrypt.
      const child = new MultiKeyring({ generator: aesKeyring(), children: [keyring] });
      await assert.rejects(encrypt(child, Buffer.from('x')), (e: unknown) => e instanceof KeyringError && /KMS Encrypt returned no ciphertext/.test(e.message));
    }
  });

  test('OnDecrypt with a data key already there: the MRK keyring returns the materials unchanged; the others fail', async () => {
    const kms = newKms();
    const materials: DecryptionMaterials = Object.freeze({ suite: getSuite(0x0478), encryptionContext: {}, requiredEncryptionContextKeys: [], plaintextDataKey: randomBytes(32) });
    assert.equal(await new AwsKmsMrkKeyring({ keyId: EAST_MRK, client: kms.client('us-east-1') }).onDecrypt(materials, []), materials);
    await assert.rejects(new AwsKmsKeyring({ keyId: EAST_SRK, client: kms.client('us-east-1') }).onDecrypt(materials, []), TypeError);
    assert.equal(kms.sent.length, 0);
  });

  test('the MRK discovery keyring refuses a client of another region than its own, before any call', async () => {
    const kms = newKms();
    const east = { ...kms.client('us-east-1'), config: { region: async () => 'us-east-1' } };
    const { ciphertext } = await encrypt(new AwsKmsKeyring({ keyId: EAST_MRK, client: kms.client('us-east-1') }), Buffer.from('r'));
    kms.sent.length = 0;
    await assert.rejects(decrypt(new AwsKmsMrkDiscoveryKeyring({ region: 'us-west-2', client: east }), ciphertext),
      (e: unknown) => e instanceof KeyringError && /configured for region us-east-1, not this keyring's region us-west-2/.test(e.message));
    assert.equal(kms.sent.length, 0);
    const west = { ...kms.client('us-west-2'), config: { region: async () => 'us-west-2' } };
    assert.equal((await decrypt(new AwsKmsMrkDiscoveryKeyring({ region: 'us-west-2', client: west }), ciphertext)).plaintext.toString(), 'r');
  });
});

test('the SDK never imports @aws-sdk/client-kms statically (it is an optional peer, loaded on first KMS call)', () => {
  const srcDir = fileURLToPath(new URL('../src/', import.meta.url));
  const files = readdirSync(srcDir, { recursive: true }).map(String).filter((f) => f.endsWith('.js'));
  assert.ok(files.length > 20);
  let dynamic = 0;
  for (const f of files) {
    const text = readFileSync(join(srcDir, f), 'utf8');
    assert.doesNotMatch(text, /^\s*import[^(]*['"]@aws-sdk\//m, f);
    assert.doesNotMatch(text, /from\s+['"]@aws-sdk\//, f);
    if (/import\(['"]@aws-sdk\/client-kms['"]\)/.test(text)) dynamic++;
  }
  assert.equal(dynamic, 1);
});
