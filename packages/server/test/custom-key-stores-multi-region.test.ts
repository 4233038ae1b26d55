import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConnectCustomKeyStoreCommand, CreateAliasCommand, CreateCustomKeyStoreCommand, CreateKeyCommand, DecryptCommand,
  DeleteCustomKeyStoreCommand, DescribeCustomKeyStoresCommand, DescribeKeyCommand, DisconnectCustomKeyStoreCommand,
  EnableKeyRotationCommand, EncryptCommand, GenerateRandomCommand, GetParametersForImportCommand, ListKeysCommand, ReplicateKeyCommand,
  ScheduleKeyDeletionCommand, SignCommand, UpdateCustomKeyStoreCommand, UpdatePrimaryRegionCommand, VerifyCommand,
} from '@aws-sdk/client-kms';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

/**
 * The KMS operations of features Coffer does not have (custom key stores, replicas of multi-Region
 * keys) are answered as AWS answers an account without them, not as unknown operations; the
 * multi-Region primary keys it does make work as AWS's do.
 */
describe('custom key stores: an account that has none', () => {
  let t: TestServer;
  before(async () => { t = await startTestServer(); });
  after(() => t.dispose());

  it('lists none', async () => {
    const listed = await t.kms.send(new DescribeCustomKeyStoresCommand({}));
    assert.deepEqual(listed.CustomKeyStores, []);
    assert.equal(listed.Truncated, false);
    assert.equal(listed.NextMarker, undefined);
  });

  it('finds none by id or by name, and refuses bad parameters first', async () => {
    for (const input of [{ CustomKeyStoreId: 'cks-1234567890abcdef0' }, { CustomKeyStoreName: 'ExampleKeyStore' }]) {
      const error = await errorOf(() => t.kms.send(new DescribeCustomKeyStoresCommand(input)));
      assert.equal(error.name, 'CustomKeyStoreNotFoundException', error.message);
    }
    // Other operations that take a store's id answer alike (GenerateRandom generates in a store's HSMs).
    const random = await errorOf(() => t.kms.send(new GenerateRandomCommand({ NumberOfBytes: 8, CustomKeyStoreId: 'cks-1234567890abcdef0' })));
    assert.equal(random.name, 'CustomKeyStoreNotFoundException', random.message);
    assert.equal((await errorOf(() => t.kms.send(new DescribeCustomKeyStoresCommand({ Limit: 0 })))).name, 'ValidationException');
    assert.equal((await errorOf(() => t.kms.send(new DescribeCustomKeyStoresCommand({ Marker: 'bm90LWEtbWFya2Vy' })))).name, 'InvalidMarkerException');
  });

  it('has none to connect, disconnect, update or delete', async () => {
    const CustomKeyStoreId = 'cks-1234567890abcdef0';
    for (const command of [
      new ConnectCustomKeyStoreCommand({ CustomKeyStoreId }), new DisconnectCustomKeyStoreCommand({ CustomKeyStoreId }),
      new UpdateCustomKeyStoreCommand({ CustomKeyStoreId, NewCustomKeyStoreName: 'renamed' }), new DeleteCustomKeyStoreCommand({ CustomKeyStoreId }),
    ]) {
      const error = await errorOf(() => t.kms.send(command as never));
      assert.equal(error.name, 'CustomKeyStoreNotFoundException', `${command.constructor.name}: ${error.message}`);
      assert.match(error.message, /cks-1234567890abcdef0/);
    }
    const missing = await errorOf(() => t.kms.send(new DeleteCustomKeyStoreCommand({} as never)));
    assert.equal(missing.name, 'ValidationException');
  });

  it('makes none', async () => {
    const error = await errorOf(() => t.kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'hsm', CustomKeyStoreType: 'AWS_CLOUDHSM' })));
    assert.equal(error.name, 'UnsupportedOperationException');
    const badType = await errorOf(() => t.kms.send(new CreateCustomKeyStoreCommand({ CustomKeyStoreName: 'hsm', CustomKeyStoreType: 'NOT_A_TYPE' as never })));
    assert.equal(badType.name, 'ValidationException');
  });

  it('refuses malformed store settings with ValidationException before anything else, never showing a secret', async () => {
    const password = 'sekret';
    const create = await errorOf(() => t.kms.send(new CreateCustomKeyStoreCommand({
      CustomKeyStoreName: 'hsm', CloudHsmClusterId: 'cluster-1', KeyStorePassword: password, TrustAnchorCertificate: 'x'.repeat(5001),
    })));
    assert.equal(create.name, 'ValidationException', create.message);
    assert.match(create.message, /^4 validation errors detected: /);
    assert.match(create.message, /Value 'cluster-1' at 'cloudHsmClusterId' failed to satisfy constraint: Member must have length greater than or equal to 19/);
    assert.match(create.message, /Value at 'keyStorePassword' failed to satisfy constraint: Member must have length greater than or equal to 7/);
    assert.match(create.message, /at 'trustAnchorCertificate' failed to satisfy constraint: Member must have length less than or equal to 5000/);

    const secret = 'not/a/valid/secret';
    const update = await errorOf(() => t.kms.send(new UpdateCustomKeyStoreCommand({
      CustomKeyStoreId: 'cks-1234567890abcdef0', XksProxyConnectivity: 'NOT_A_CONNECTIVITY' as never,
      XksProxyUriEndpoint: 'http://proxy.example.com', XksProxyAuthenticationCredential: { RawSecretAccessKey: secret } as never,
    })));
    assert.equal(update.name, 'ValidationException', update.message);
    assert.match(update.message, /Value 'NOT_A_CONNECTIVITY' at 'xksProxyConnectivity' failed to satisfy constraint: Member must satisfy enum value set: \[PUBLIC_ENDPOINT, VPC_ENDPOINT_SERVICE\]/);
    assert.match(update.message, /Value 'http:\/\/proxy.example.com' at 'xksProxyUriEndpoint' failed to satisfy constraint: Member must satisfy regular expression pattern/);
    assert.match(update.message, /Value null at 'xksProxyAuthenticationCredential.accessKeyId' failed to satisfy constraint: Member must not be null/);
    assert.match(update.message, /Value at 'xksProxyAuthenticationCredential.rawSecretAccessKey' failed to satisfy constraint: Member must have length greater than or equal to 43/);
    for (const error of [create, update]) {
      assert.ok(!error.message.includes(password), error.message);
      assert.ok(!error.message.includes(secret), error.message);
    }

    const wrongType = await errorOf(() => t.kms.send(new UpdateCustomKeyStoreCommand({ CustomKeyStoreId: 'cks-1', XksProxyAuthenticationCredential: 'x' as never })));
    assert.equal(wrongType.name, 'SerializationException', wrongType.message);
  });
});

describe('multi-Region operations on single-Region keys', () => {
  let t: TestServer;
  let arn: string;
  before(async () => {
    t = await startTestServer();
    arn = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  });
  after(() => t.dispose());

  it('refuses to replicate a key, or to move its primary Region, naming the key (AWS\'s words)', async () => {
    const replicate = await errorOf(() => t.kms.send(new ReplicateKeyCommand({ KeyId: arn, ReplicaRegion: 'us-west-2' })));
    assert.equal(replicate.name, 'UnsupportedOperationException');
    assert.equal(replicate.message, `${arn} is not a multi-region primary key.`);
    const update = await errorOf(() => t.kms.send(new UpdatePrimaryRegionCommand({ KeyId: arn, PrimaryRegion: 'us-west-2' })));
    assert.equal(update.name, 'UnsupportedOperationException');
    assert.equal(update.message, `${arn} is not a multi-region primary key.`);
  });

  it('checks the key and the Region first', async () => {
    const unknown = await errorOf(() => t.kms.send(new ReplicateKeyCommand({ KeyId: '00000000-0000-4000-8000-000000000000', ReplicaRegion: 'us-west-2' })));
    assert.equal(unknown.name, 'NotFoundException');
    const region = await errorOf(() => t.kms.send(new ReplicateKeyCommand({ KeyId: arn, ReplicaRegion: 'Mars' })));
    assert.equal(region.name, 'ValidationException');
    // The replica's own members are checked too, as AWS checks them before looking at the key.
    const description = await errorOf(() => t.kms.send(new ReplicateKeyCommand({ KeyId: arn, ReplicaRegion: 'us-west-2', Description: 'd'.repeat(8193) })));
    assert.equal(description.name, 'ValidationException');
    assert.match(description.message, /at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192/);
    const policy = await errorOf(() => t.kms.send(new ReplicateKeyCommand({ KeyId: arn, ReplicaRegion: 'us-west-2', Policy: '' })));
    assert.equal(policy.name, 'ValidationException');
    const tags = await errorOf(() => t.kms.send(new ReplicateKeyCommand({ KeyId: arn, ReplicaRegion: 'us-west-2', Tags: [{ TagKey: '', TagValue: 'v' }] })));
    assert.equal(tags.name, 'ValidationException');
  });
});

describe('multi-Region keys: primaries in the server\'s one Region', () => {
  let t: TestServer;
  before(async () => { t = await startTestServer(); });
  after(() => t.dispose());

  it('CreateKey with MultiRegion makes an mrk- key whose metadata names it the primary, without replicas', async () => {
    const meta = (await t.kms.send(new CreateKeyCommand({ MultiRegion: true, Description: 'test multi region key' }))).KeyMetadata!;
    assert.match(meta.KeyId!, /^mrk-[0-9a-f]{32}$/);
    const arn = `arn:aws:kms:${t.server.config.region}:${t.server.config.accountId}:key/${meta.KeyId}`;
    assert.equal(meta.Arn, arn);
    assert.equal(meta.MultiRegion, true);
    assert.deepEqual(meta.MultiRegionConfiguration, {
      MultiRegionKeyType: 'PRIMARY', PrimaryKey: { Arn: arn, Region: t.server.config.region }, ReplicaKeys: [],
    });
    const described = (await t.kms.send(new DescribeKeyCommand({ KeyId: meta.KeyId }))).KeyMetadata!;
    assert.deepEqual(described.MultiRegionConfiguration, meta.MultiRegionConfiguration);
    const single = (await t.kms.send(new CreateKeyCommand({ MultiRegion: false }))).KeyMetadata!;
    assert.equal(single.MultiRegion, false);
    assert.equal(single.MultiRegionConfiguration, undefined);
    const listed = [];
    for (let Marker: string | undefined; ;) {
      const page = await t.kms.send(new ListKeysCommand({ Marker }));
      listed.push(...page.Keys!.map((k) => k.KeyId));
      if (!page.Truncated) break;
      Marker = page.NextMarker;
    }
    assert.ok(listed.includes(meta.KeyId));
  });

  it('works as any key: by id, ARN and alias, symmetric and asymmetric, rotation, imported material, deletion', async () => {
    const keyId = (await t.kms.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.KeyId!;
    await t.kms.send(new CreateAliasCommand({ AliasName: 'alias/multi-region', TargetKeyId: keyId }));
    const plaintext = Buffer.from('across regions');
    const sealed = await t.kms.send(new EncryptCommand({ KeyId: 'alias/multi-region', Plaintext: plaintext }));
    assert.equal(sealed.KeyId, `arn:aws:kms:${t.server.config.region}:${t.server.config.accountId}:key/${keyId}`);
    const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
    assert.deepEqual(Buffer.from(opened.Plaintext!), plaintext);
    assert.equal(opened.KeyId, sealed.KeyId);
    await t.kms.send(new EnableKeyRotationCommand({ KeyId: sealed.KeyId }));

    const signing = (await t.kms.send(new CreateKeyCommand({ MultiRegion: true, KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' }))).KeyMetadata!;
    assert.match(signing.KeyId!, /^mrk-/);
    const { Signature } = await t.kms.send(new SignCommand({ KeyId: signing.KeyId, Message: plaintext, SigningAlgorithm: 'ECDSA_SHA_256' }));
    const verified = await t.kms.send(new VerifyCommand({ KeyId: signing.KeyId, Message: plaintext, Signature, SigningAlgorithm: 'ECDSA_SHA_256' }));
    assert.equal(verified.SignatureValid, true);

    const external = (await t.kms.send(new CreateKeyCommand({ MultiRegion: true, Origin: 'EXTERNAL' }))).KeyMetadata!;
    assert.equal(external.KeyState, 'PendingImport');
    assert.equal(external.MultiRegion, true);
    const params = await t.kms.send(new GetParametersForImportCommand({ KeyId: external.KeyId, WrappingAlgorithm: 'RSAES_OAEP_SHA_256', WrappingKeySpec: 'RSA_2048' }));
    assert.ok(params.ImportToken!.length > 0);

    const scheduled = await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
    assert.equal(scheduled.KeyState, 'PendingDeletion');
  });

  it('refuses to replicate or to move the primary, saying why, once the key is known and the caller may act', async () => {
    const region = t.server.config.region;
    const arn = (await t.kms.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.Arn!;
    const replicate = await errorOf(() => t.kms.send(new ReplicateKeyCommand({ KeyId: arn, ReplicaRegion: 'us-west-2' })));
    assert.equal(replicate.name, 'UnsupportedOperationException');
    assert.equal(replicate.message, `${arn} cannot be replicated to us-west-2: this server serves the one Region ${region} and holds no replica keys.`);
    const update = await errorOf(() => t.kms.send(new UpdatePrimaryRegionCommand({ KeyId: arn, PrimaryRegion: 'us-west-2' })));
    assert.equal(update.name, 'UnsupportedOperationException');
    assert.equal(update.message, `${arn} has no replica in us-west-2 to become its primary key: this server serves the one Region ${region} and holds no replica keys.`);
    // Before, a replica asked for in the key's own Region was refused as if another server could make it.
    const here = await errorOf(() => t.kms.send(new ReplicateKeyCommand({ KeyId: arn, ReplicaRegion: region })));
    assert.equal(here.name, 'UnsupportedOperationException');
    assert.equal(here.message, `${arn} cannot be replicated to ${region}: a replica must be in a Region other than its primary key's, and this key is in ${region}.`);
    const unknown = await errorOf(() => t.kms.send(new ReplicateKeyCommand({ KeyId: `mrk-${'0'.repeat(32)}`, ReplicaRegion: 'us-west-2' })));
    assert.equal(unknown.name, 'NotFoundException');
  });

  it('keeps the key what it was across a restart', async () => {
    const keyId = (await t.kms.send(new CreateKeyCommand({ MultiRegion: true }))).KeyMetadata!.KeyId!;
    const sealed = await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept') }));
    t = await t.restart();
    const meta = (await t.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
    assert.equal(meta.MultiRegion, true);
    assert.equal(meta.MultiRegionConfiguration?.MultiRegionKeyType, 'PRIMARY');
    const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), 'kept');
  });
});
