import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand,
  EncryptCommand, GenerateDataKeyCommand, ListKeyRotationsCommand, RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { openAuditKey } from '../src/audit/audit-key.js';
import { verifyChain } from '../src/audit/chain.js';
import type { AuditRecord } from '../src/audit/record.js';
import { FileRootKey } from '../src/root/file-root-key.js';
import { StartupError } from '../src/root/root-key.js';
import { PostgresStore } from '../src/store/postgres.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { rawRequest, startTestServer, tempDataDir, type TestServer } from './support/server.js';

/**
 * Two real server nodes on one PostgreSQL database, each with its own data directory holding a
 * copy of the same root.key (as two machines would). Node B's credentials file is written from the
 * administrator's key that node A stored in the database.
 */
describe('two server nodes on one PostgreSQL database', () => {
  let cluster: TestPostgres;
  let url: string;
  let a: TestServer;
  let b: TestServer;

  before(async () => {
    cluster = await startTestPostgres();
    url = await cluster.createDatabase();
    a = await startTestServer({ store: url });
    const dataDirB = tempDataDir();
    copyFileSync(join(a.dataDir, 'root.key'), join(dataDirB, 'root.key'));
    b = await startTestServer({ store: url, dataDir: dataDirB });
  });
  after(async () => {
    await a?.dispose();
    await b?.dispose();
    await cluster?.destroy();
  });

  it('both nodes serve the same administrator', () => {
    assert.deepEqual(b.credentials, a.credentials);
  });

  it('refuses to start a node without root.key, or with another root.key, on the shared database', async () => {
    const dataDir = tempDataDir();
    try {
      const refused = (pattern: RegExp) => (error: unknown) => {
        assert.ok(error instanceof StartupError, String(error));
        assert.match(error.message, pattern);
        return true;
      };
      await assert.rejects(startTestServer({ store: url, dataDir }), refused(/root\.key is missing/));
      writeFileSync(join(dataDir, 'root.key'), randomBytes(32), { mode: 0o600 });
      await assert.rejects(startTestServer({ store: url, dataDir }), refused(/is not the root key the store .* was written with/));
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a key created on node A encrypts on node B and decrypts on node A', async () => {
    const keyId = (await a.kms.send(new CreateKeyCommand({ Description: 'made on A' }))).KeyMetadata!.KeyId!;
    assert.equal((await b.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.Description, 'made on A');
    const sealed = await b.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('across nodes') }));
    const opened = await a.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob! }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), 'across nodes');
  });

  it('DisableKey on node A is refused on node B on the very next request', async () => {
    const keyId = (await a.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // Node B has used the key (and cached what it caches) before the change.
    await b.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('before') }));
    await a.kms.send(new DisableKeyCommand({ KeyId: keyId }));
    await assert.rejects(b.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('after') })), { name: 'DisabledException' });
    await b.kms.send(new EnableKeyCommand({ KeyId: keyId }));
    await a.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('enabled again') }));
  });

  it('concurrent CreateAlias of one name on A and B: one success, one AlreadyExistsException', async () => {
    const keyId = (await a.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (let round = 0; round < 5; round++) {
      const AliasName = `alias/race-${round}`;
      const results = await Promise.allSettled([a, b].map((node) => node.kms.send(new CreateAliasCommand({ AliasName, TargetKeyId: keyId }))));
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, `round ${round}: ${JSON.stringify(results)}`);
      const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
      assert.equal((refused.reason as Error).name, 'AlreadyExistsException');
    }
  });

  it('concurrent on-demand rotations on A and B add one version each', async () => {
    const keyId = (await a.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await Promise.all([a, b].map((node) => node.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId }))));
    const rotations = await b.kms.send(new ListKeyRotationsCommand({ KeyId: keyId }));
    assert.equal(rotations.Rotations?.length, 2);
  });

  it('scheduled work runs once across nodes: a due deletion is done, and audited, by one node', async () => {
    const keyIds: string[] = [];
    let due = 0;
    for (let i = 0; i < 5; i++) {
      const keyId = (await a.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const scheduled = await (i % 2 ? a : b).kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
      due = Math.max(due, scheduled.DeletionDate!.getTime());
      keyIds.push(keyId);
    }
    await Promise.all([a, b, a, b].map((node) => node.server.runScheduledWork(due + 1)));
    const store = await PostgresStore.open({ connectionString: url });
    try {
      for (const keyId of keyIds) {
        assert.equal(await store.getKey(keyId), undefined);
        const deletions = await store.queryAudit({ operation: 'DeleteKey', keyArn: `arn:aws:kms:us-east-1:111122223333:key/${keyId}`, limit: 10 });
        assert.equal(deletions.length, 1, `DeleteKey records of ${keyId}: ${deletions.length}`);
      }
    } finally {
      await store.close();
    }
  });

  it('the audit chain verifies after mixed load on both nodes', async () => {
    const keyId = (await b.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const work: Promise<unknown>[] = [];
    for (let i = 0; i < 60; i++) {
      const node = i % 2 ? a : b;
      const request = i % 3 === 0
        ? node.kms.send(new GenerateDataKeyCommand({ KeyId: keyId, KeySpec: 'AES_256' }))
        : i % 3 === 1
          ? node.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`load ${i}`) }))
          : node.kms.send(new CreateAliasCommand({ AliasName: `alias/load-${i % 4}`, TargetKeyId: keyId }));
      work.push(request.catch((error: Error) => assert.equal(error.name, 'AlreadyExistsException')));
    }
    await Promise.all(work);

    const store = await PostgresStore.open({ connectionString: url });
    try {
      const auditKey = await openAuditKey(store, FileRootKey.load(join(a.dataDir, 'root.key')));
      const records: AuditRecord[] = [];
      for (let afterSeq = 0; ;) {
        const page = await store.readAudit({ afterSeq, limit: 500 });
        if (page.length === 0) break;
        records.push(...page);
        afterSeq = page[page.length - 1]!.seq;
      }
      assert.deepEqual(verifyChain(auditKey, records, await store.getAuditHead()), { ok: true, records: records.length });
      assert.ok(records.filter((r) => r.operation === 'Encrypt').length >= 20);
    } finally {
      await store.close();
    }
  });

  it('a node that loses the database answers 503 DependencyTimeoutException, and recovers when it is back', async () => {
    const keyId = (await a.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const plaintext = Buffer.from('retry me').toString('base64');
    await cluster.stopServer();
    try {
      const refused = await rawRequest(a.server.endpoint, a.credentials, 'Encrypt', { KeyId: keyId, Plaintext: plaintext });
      assert.equal(refused.status, 503, refused.text);
      assert.equal(refused.body.__type, 'DependencyTimeoutException');
      assert.match(String(refused.body.message), /store is unavailable; retry/);
      const write = await rawRequest(b.server.endpoint, b.credentials, 'DisableKey', { KeyId: keyId });
      assert.equal(write.status, 503, write.text);
    } finally {
      await cluster.startServer();
    }
    for (const node of [a, b]) {
      const res = await rawRequest(node.server.endpoint, node.credentials, 'Encrypt', { KeyId: keyId, Plaintext: plaintext });
      assert.equal(res.status, 200, res.text);
    }
    // The DisableKey that was answered 503 was not committed.
    assert.equal((await b.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState, 'Enabled');
  });
});
