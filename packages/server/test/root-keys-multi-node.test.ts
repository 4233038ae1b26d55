import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { admin } from './support/principals.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { kmsClient, startTestServer, tempDataDir, type TestServer } from './support/server.js';

/**
 * Two nodes on one PostgreSQL database with a passphrase root key (no file to copy between
 * machines: each node is given the passphrase). A rotation begun on node A: node B meets values
 * wrapped by a root key it has not opened, re-reads the keyring and opens it from its descriptor.
 */
describe('root-key rotation with two nodes on one PostgreSQL database', () => {
  const passphrase = 'two nodes, one passphrase';
  const rootKeyWork = { refreshMs: 100, settleMs: 400, batchSize: 3 };
  let cluster: TestPostgres;
  let url: string;
  let a: TestServer;
  let b: TestServer;
  let bKms: KMSClient;

  const encrypt = async (kms: KMSClient, text: string) => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    return (await kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text) }))).CiphertextBlob!;
  };
  const decrypt = async (kms: KMSClient, blob: Uint8Array) => Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString();

  before(async () => {
    cluster = await startTestPostgres();
    url = await cluster.createDatabase();
    a = await startTestServer({ store: url, rootKey: { provider: 'passphrase', passphrase }, rootKeyWork });
    b = await startTestServer({ store: url, dataDir: tempDataDir(), rootKey: { passphrase }, rootKeyWork });
    bKms = kmsClient(b.server.endpoint, a.credentials);
  });
  after(async () => {
    await a?.dispose();
    await b?.dispose();
    await cluster?.destroy();
  });

  it('node B decrypts what node A wrapped under the new root key at once, and both decrypt everything after the old key retires', async () => {
    const before = await Promise.all(['b1', 'b2', 'b3', 'b4'].map((text) => encrypt(a.kms, text)));
    const begun = await admin(a, 'RotateRootKey', {});
    // A wraps under the new root key at once; B has never opened it.
    const duringOnA = await encrypt(a.kms, 'made on A during the rotation');
    assert.equal(await decrypt(bKms, duringOnA), 'made on A during the rotation');
    const duringOnB = await encrypt(bKms, 'made on B during the rotation');
    const deadline = Date.now() + 30_000;
    while ((await admin(a, 'GetRootKeyStatus', {})).RotationState !== 'NONE') {
      assert.ok(Date.now() < deadline, 'the rotation finishes');
      await new Promise((done) => setTimeout(done, 50));
    }
    const status = await admin(b, 'GetRootKeyStatus', {});
    assert.deepEqual((status.RootKeys as { RootKeyId: string }[]).map((k) => k.RootKeyId), [begun.RootKeyId], 'B sees the old key retired');
    const afterOnB = await encrypt(bKms, 'made on B after');
    for (const kms of [a.kms, bKms]) {
      assert.deepEqual(await Promise.all(before.map((blob) => decrypt(kms, blob))), ['b1', 'b2', 'b3', 'b4']);
      assert.equal(await decrypt(kms, duringOnB), 'made on B during the rotation');
      assert.equal(await decrypt(kms, afterOnB), 'made on B after');
    }
    // A fresh node needs only the passphrase: the retired key is gone from the keyring.
    const c = await startTestServer({ store: url, dataDir: tempDataDir(), rootKey: { passphrase }, rootKeyWork });
    try {
      const cKms = kmsClient(c.server.endpoint, a.credentials);
      assert.deepEqual(await Promise.all(before.map((blob) => decrypt(cKms, blob))), ['b1', 'b2', 'b3', 'b4']);
      assert.equal((await admin(c, 'VerifyAuditChain', {})).Valid, true);
    } finally {
      await c.dispose();
    }
  });

  it('two nodes started at once on a fresh database make one root key and one administrator key between them', async () => {
    const fresh = await cluster.createDatabase();
    const [x, y] = await Promise.all([0, 1].map(() => startTestServer({ store: fresh, dataDir: tempDataDir(), rootKey: { provider: 'passphrase', passphrase }, rootKeyWork })));
    try {
      assert.deepEqual(x!.credentials, y!.credentials);
      const keys = (await admin(x!, 'ListAccessKeys', {})).AccessKeyMetadata as unknown[];
      assert.equal(keys.length, 1, 'no second administrator key');
      assert.equal(((await admin(y!, 'GetRootKeyStatus', {})).RootKeys as unknown[]).length, 1);
    } finally {
      await x!.dispose();
      await y!.dispose();
    }
  });

  it('a node that cannot open the new current root key stops wrapping and reports itself not ready', async () => {
    // Node B has authenticated the administrator before the rotation: it knows the secret.
    assert.equal((await admin(b, 'GetRootKeyStatus', {})).NodeProblem, undefined);
    await admin(a, 'RotateRootKey', { Provider: 'passphrase', Passphrase: 'only node A was told this one' });
    const deadline = Date.now() + 10_000;
    let ready = await fetch(`${b.server.endpoint}/readyz`);
    while (ready.status === 200) {
      assert.ok(Date.now() < deadline, 'node B notices within a few keyring refreshes');
      await new Promise((done) => setTimeout(done, 50));
      ready = await fetch(`${b.server.endpoint}/readyz`);
    }
    assert.equal(ready.status, 503);
    assert.match(await ready.text(), /^not ready: the current root key cannot be opened on this node: .*passphrase is wrong/);
    // The operator asks node B for the status: the keyring as stored, and what B lacks.
    const onB = await admin(b, 'GetRootKeyStatus', {});
    assert.equal(onB.CurrentRootKeyId, (await admin(a, 'GetRootKeyStatus', {})).CurrentRootKeyId);
    assert.match(String(onB.NodeProblem), /^This node cannot open a root key of the keyring, so it refuses requests that need the root key: .*passphrase is wrong/);
    // Retryable, not an internal error: a client's SDK goes on to a node that can serve it.
    const refused = await bKms.send(new CreateKeyCommand({})).then(() => undefined, (error: Error & { $metadata?: { httpStatusCode?: number } }) => error);
    assert.equal(refused?.name, 'DependencyTimeoutException');
    assert.equal(refused?.$metadata?.httpStatusCode, 503);
    // Saying why: the root key, not the database.
    assert.match(refused?.message ?? '', /^This node cannot use the current root key yet \(it was rotated on another node\); retry the request\. Request id: /);
    assert.ok((await encrypt(a.kms, 'node A goes on')).length > 0);
    // Once node A has re-wrapped everything, node B cannot unwrap either (the access key's secret,
    // a key's material): that too is retryable on another node, not an internal error.
    const blob = await encrypt(a.kms, 'under the new root key');
    for (let status = await admin(a, 'GetRootKeyStatus', {}); status.RotationState !== 'NONE'; status = await admin(a, 'GetRootKeyStatus', {})) {
      assert.ok(Date.now() < deadline + 20_000, 'node A finishes its rotation');
      await new Promise((done) => setTimeout(done, 50));
    }
    // The administrator's secret is now wrapped under a root key node B cannot open, and B still
    // authenticates the administrator with the secret it knew: the operator can still ask it why.
    assert.match(String((await admin(b, 'GetRootKeyStatus', {})).NodeProblem), /passphrase is wrong/);
    for (const send of [() => bKms.send(new CreateKeyCommand({})), () => bKms.send(new DecryptCommand({ CiphertextBlob: blob }))]) {
      const unwrapRefused = await send().then(() => undefined, (error: Error & { $metadata?: { httpStatusCode?: number } }) => error);
      assert.equal(unwrapRefused?.name, 'DependencyTimeoutException', unwrapRefused?.message);
      assert.equal(unwrapRefused?.$metadata?.httpStatusCode, 503);
    }
  });
});
