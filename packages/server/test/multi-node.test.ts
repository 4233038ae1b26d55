import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { copyFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand,
  EncryptCommand, GenerateDataKeyCommand, KMSClient, ListKeyRotationsCommand, ListKeysCommand, PutKeyPolicyCommand, RevokeGrantCommand,
  RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { openAuditKey } from '../src/audit/audit-key.js';
import { verifyChain } from '../src/audit/chain.js';
import type { AuditRecord } from '../src/audit/record.js';
import { FileRootKey } from '../src/root/file-root-key.js';
import { StartupError } from '../src/root/root-key.js';
import { PostgresStore } from '../src/store/postgres.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { kmsClient, rawRequest, startTestServer, tempDataDir, type TestServer } from './support/server.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

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
      await assert.rejects(startTestServer({ store: url, dataDir }), refused(/^The root key file .*root\.key is not the root key the store was written with\. /));
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
      assert.deepEqual(verifyChain(auditKey, records, await store.getAuditHead()), { ok: true, records: records.length, lastHash: records.at(-1)!.hash });
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

/**
 * Two `coffer serve` processes on one PostgreSQL database. A change acknowledged by node A must be
 * enforced by node B within one second (docs/store.md, "Several nodes"): each case warms node B
 * up on the thing first (so whatever it caches is cached), makes the change on A, then asks B
 * again and again until it refuses, and records how long that took after A's answer.
 */
describe('two server processes: a change on node A is enforced by node B within one second', () => {
  const BOUND_MS = 1000;
  let cluster: TestPostgres;
  let a: ServerProcess;
  let b: ServerProcess;
  const delays: Record<string, number> = {};

  before(async () => {
    cluster = await startTestPostgres();
    const url = await cluster.createDatabase();
    a = await startServerProcess({ dataDir: tempDataDir(), store: url });
    const dataDirB = tempDataDir();
    copyFileSync(join(a.dataDir, 'root.key'), join(dataDirB, 'root.key'));
    b = await startServerProcess({ dataDir: dataDirB, store: url });
  });
  after(async () => {
    await a?.stop();
    await b?.stop();
    for (const node of [a, b]) if (node) rmSync(node.dataDir, { recursive: true, force: true });
    await cluster?.destroy();
    console.log(`propagation delays node A -> node B (ms): ${JSON.stringify(delays)}`);
  });

  const adminOn = async (node: ServerProcess, operation: string, body: unknown): Promise<Record<string, unknown>> => {
    const answer = await rawRequest(node.endpoint, node.credentials, operation, body, { headers: { 'x-amz-target': `CofferAdmin.${operation}` } });
    assert.equal(answer.status, 200, `CofferAdmin.${operation}: ${answer.text}`);
    return answer.body;
  };
  /** The error name a request got, or 'ok'. */
  const outcome = async (request: Promise<unknown>): Promise<string> => request.then(() => 'ok', (error: Error) => error.name);

  /**
   * Precondition: node B allows `probe` before the change. Makes the change on A, then measures
   * until B answers `refusal`, failing if that takes longer than the bound.
   */
  async function measure(name: string, probe: () => Promise<unknown>, change: () => Promise<unknown>, refusal: string): Promise<void> {
    assert.equal(await outcome(probe()), 'ok', `${name}: node B refuses before the change`);
    await change();
    const acknowledged = performance.now();
    for (;;) {
      const seen = await outcome(probe());
      const elapsed = performance.now() - acknowledged;
      if (seen === refusal) {
        delays[name] = Math.round(elapsed);
        break;
      }
      assert.equal(seen, 'ok', `${name}: node B answered ${seen}`);
      assert.ok(elapsed <= BOUND_MS, `${name}: node B still allows it ${Math.round(elapsed)} ms after node A acknowledged the change`);
      await new Promise((done) => setTimeout(done, 5));
    }
    assert.ok(delays[name]! <= BOUND_MS, `${name}: enforced on node B after ${delays[name]} ms`);
  }

  const newKey = async () => (await a.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const encryptOn = (client: KMSClient, KeyId: string) => client.send(new EncryptCommand({ KeyId, Plaintext: Buffer.from('probe') }));

  it('DisableKey', async () => {
    const keyId = await newKey();
    await measure('DisableKey', () => encryptOn(b.kms, keyId), () => a.kms.send(new DisableKeyCommand({ KeyId: keyId })), 'DisabledException');
  });

  it('ScheduleKeyDeletion', async () => {
    const keyId = await newKey();
    await measure('ScheduleKeyDeletion', () => encryptOn(b.kms, keyId),
      () => a.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })), 'KMSInvalidStateException');
  });

  it('PutKeyPolicy (a policy that denies the administrator kms:Encrypt)', async () => {
    const keyId = await newKey();
    const root = 'arn:aws:iam::111122223333:root';
    const Policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'Enable IAM User Permissions', Effect: 'Allow', Principal: { AWS: root }, Action: 'kms:*', Resource: '*' },
        { Sid: 'No Encrypt', Effect: 'Deny', Principal: { AWS: root }, Action: 'kms:Encrypt', Resource: '*' },
      ],
    });
    await measure('PutKeyPolicy', () => encryptOn(b.kms, keyId),
      () => a.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy })), 'AccessDeniedException');
  });

  it('RevokeGrant', async () => {
    const keyId = await newKey();
    const user = (await adminOn(a, 'CreateUser', { UserName: 'grantee' })).User as { Arn: string };
    const key = (await adminOn(a, 'CreateAccessKey', { UserName: 'grantee' })).AccessKey as { AccessKeyId: string; SecretAccessKey: string };
    const grantee = kmsClient(b.endpoint, { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey });
    try {
      const { GrantId } = await a.kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: user.Arn, Operations: ['Encrypt'] }));
      await measure('RevokeGrant', () => encryptOn(grantee, keyId),
        () => a.kms.send(new RevokeGrantCommand({ KeyId: keyId, GrantId: GrantId! })), 'AccessDeniedException');
    } finally {
      grantee.destroy();
    }
  });

  it('UpdateAccessKey to Inactive', async () => {
    await adminOn(a, 'CreateUser', { UserName: 'lister' });
    await adminOn(a, 'PutPrincipalPolicy', {
      UserName: 'lister', PolicyName: 'list',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }] }),
    });
    const key = (await adminOn(a, 'CreateAccessKey', { UserName: 'lister' })).AccessKey as { AccessKeyId: string; SecretAccessKey: string };
    const lister = kmsClient(b.endpoint, { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey });
    try {
      await measure('UpdateAccessKey', () => lister.send(new ListKeysCommand({})),
        () => adminOn(a, 'UpdateAccessKey', { UserName: 'lister', AccessKeyId: key.AccessKeyId, Status: 'Inactive' }), 'UnrecognizedClientException');
    } finally {
      lister.destroy();
    }
  });

  it('PutPrincipalPolicy (an identity policy that denies kms:ListKeys)', async () => {
    await adminOn(a, 'CreateUser', { UserName: 'denied' });
    await adminOn(a, 'PutPrincipalPolicy', {
      UserName: 'denied', PolicyName: 'list',
      PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }] }),
    });
    const key = (await adminOn(a, 'CreateAccessKey', { UserName: 'denied' })).AccessKey as { AccessKeyId: string; SecretAccessKey: string };
    const user = kmsClient(b.endpoint, { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey });
    try {
      await measure('PutPrincipalPolicy', () => user.send(new ListKeysCommand({})),
        () => adminOn(a, 'PutPrincipalPolicy', {
          UserName: 'denied', PolicyName: 'deny',
          PolicyDocument: JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'kms:ListKeys', Resource: '*' }] }),
        }), 'AccessDeniedException');
    } finally {
      user.destroy();
    }
  });
});
