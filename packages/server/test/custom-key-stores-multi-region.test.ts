import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  ConnectCustomKeyStoreCommand, CreateCustomKeyStoreCommand, CreateKeyCommand, DeleteCustomKeyStoreCommand,
  DescribeCustomKeyStoresCommand, DisconnectCustomKeyStoreCommand, ReplicateKeyCommand, UpdateCustomKeyStoreCommand,
  UpdatePrimaryRegionCommand,
} from '@aws-sdk/client-kms';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

/**
 * The KMS operations of features Coffer does not have (custom key stores, multi-Region keys) are
 * answered as AWS answers an account without them, not as unknown operations.
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
  });
});
