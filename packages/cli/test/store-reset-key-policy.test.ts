import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, GetKeyPolicyCommand,
  KMSClient, PutKeyPolicyCommand, ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { coffer, cofferAgainst, jsonOf, removeTempDirs, startTestServer, tempDir, type Finished, type TestServer } from './support/cli.js';

/**
 * `coffer store reset-key-policy`, the operator's way back to a key nobody can manage
 * (docs/operations.md, "A key nobody can manage"): the lockout made through the real server with
 * the official AWS SDK and the admin API, the command run on the stopped server's store (or beside
 * running PostgreSQL nodes), and the account root back in charge of the key.
 */

// The server's own test helpers, compiled: packages/cli/dist/test/ -> packages/server/dist/test/support/.
const support = (name: string) => import(new URL(`../../../server/dist/test/support/${name}.js`, import.meta.url).href);

type Served = TestServer;
interface User { readonly arn: string; readonly kms: KMSClient }
interface Helpers {
  startTestServer(options: object): Promise<Served>;
  createUser(t: Served, name: string, policies?: Record<string, object>): Promise<User>;
  admin(t: Served, operation: string, body: unknown): Promise<Record<string, unknown>>;
}

let helpers: Helpers;
before(async () => {
  const principals = await support('principals');
  helpers = { startTestServer, createUser: principals.createUser, admin: principals.admin };
});
after(removeTempDirs);

const DEFAULT_POLICY = `{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {
      "AWS" : "arn:aws:iam::111122223333:root"
    },
    "Action" : "kms:*",
    "Resource" : "*"
  } ]
}`;

async function accessDenied(call: Promise<unknown>): Promise<void> {
  await assert.rejects(call, (error: Error) => error.name === 'AccessDeniedException');
}

/**
 * The tester's lockout: a user with kms:* makes keys and gives them a policy naming only itself
 * (the lockout safety check passes: the user can still change it), then the account root deletes
 * the user. Returns the keys, one of them pending deletion, and a ciphertext under the first.
 */
async function lockOut(t: Served, userName: string): Promise<{ keyId: string; pendingKeyId: string; blob: Uint8Array }> {
  const user = await helpers.createUser(t, userName, { all: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } });
  const onlyMe = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: 'only me', Effect: 'Allow', Principal: { AWS: user.arn }, Action: 'kms:*', Resource: '*' }] });
  const keyId = (await user.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const blob = (await user.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept under a locked key') }))).CiphertextBlob!;
  const pendingKeyId = (await user.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  for (const id of [keyId, pendingKeyId]) await user.kms.send(new PutKeyPolicyCommand({ KeyId: id, PolicyName: 'default', Policy: onlyMe }));
  await user.kms.send(new ScheduleKeyDeletionCommand({ KeyId: pendingKeyId, PendingWindowInDays: 7 }));
  user.kms.destroy();
  await helpers.admin(t, 'DeleteUser', { UserName: userName });
  // Nobody is left: the root can neither read, use, manage nor delete the key.
  await accessDenied(t.kms.send(new DescribeKeyCommand({ KeyId: keyId })));
  await accessDenied(t.kms.send(new DecryptCommand({ CiphertextBlob: blob })));
  await accessDenied(t.kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: DEFAULT_POLICY })));
  await accessDenied(t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 })));
  await accessDenied(t.kms.send(new CancelKeyDeletionCommand({ KeyId: pendingKeyId })));
  return { keyId, pendingKeyId, blob };
}

/** The account root has the key again: it reads it, decrypts under it, and sees the default policy. */
async function rootIsBack(kms: KMSClient, keyId: string, blob: Uint8Array): Promise<void> {
  assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.KeyState, 'Enabled');
  assert.equal(Buffer.from((await kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'kept under a locked key');
  assert.equal((await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))).Policy, DEFAULT_POLICY);
}

function refused(finished: Finished, code: number, message: RegExp): void {
  assert.equal(finished.code, code, `exit ${finished.code}: ${finished.stderr}`);
  assert.match(finished.stderr, message);
  assert.match(finished.stderr, /^hint: .*nothing was changed/im);
  assert.equal(finished.stdout, '');
}

describe('coffer store reset-key-policy (SQLite)', () => {
  it('gives the account root a locked-out key back once the server is stopped, in the audit chain; refused while it serves', async () => {
    let t = await helpers.startTestServer({ dataDir: tempDir() });
    try {
      const { keyId, pendingKeyId, blob } = await lockOut(t, 'alice');
      const reset = (id: string, ...more: string[]) => coffer(['store', 'reset-key-policy', id, '--data-dir', t.dataDir, ...more]);

      // Precondition: a SQLite store is changed by one process at a time.
      refused(await reset(keyId), 1, /^error: A Coffer server is serving the data directory .* \(or another reset is running: it holds server\.lock\)/m);
      await accessDenied(t.kms.send(new DescribeKeyCommand({ KeyId: keyId })));

      await t.stop();
      const report = jsonOf(await reset(keyId, '--json'));
      assert.equal(report.KeyId, keyId);
      assert.equal(report.KeyArn, `arn:aws:kms:us-east-1:111122223333:key/${keyId}`);
      assert.equal(report.KeyState, 'Enabled');
      assert.equal(report.PreviousStatements, 1);
      assert.match(String(report.PreviousPolicy), /"only me"/);
      assert.match(String(report.PreviousPolicySha256), /^[0-9a-f]{64}$/);
      assert.equal(report.Policy, DEFAULT_POLICY);
      assert.equal(typeof report.AuditSeq, 'number');
      // A key pending deletion is reset and stays pending; its text report says how to keep it.
      const pending = await reset(pendingKeyId);
      assert.equal(pending.code, 0, pending.stderr);
      assert.match(pending.stdout, new RegExp(`^reset the key policy of arn:aws:kms:us-east-1:111122223333:key/${pendingKeyId} \\(PendingDeletion\\) in .*coffer\\.db$`, 'm'));
      assert.match(pending.stdout, /^previous policy: 1 statement, sha256 [0-9a-f]{64}$/m);
      assert.match(pending.stdout, /^new policy:\n\{\n {2}"Version" : "2012-10-17",/m);
      assert.match(pending.stdout, /still pending deletion: the account root can cancel it/);

      const intact = await coffer(['store', 'check', '--data-dir', t.dataDir]);
      assert.equal(intact.code, 0, intact.stderr);
      assert.match(intact.stdout, /the store is intact/);
      const verified = await coffer(['audit', 'verify', '--data-dir', t.dataDir]);
      assert.equal(verified.code, 0, verified.stderr);

      t = await t.restart();
      await rootIsBack(t.kms, keyId, blob);
      assert.equal((await t.kms.send(new DescribeKeyCommand({ KeyId: pendingKeyId }))).KeyMetadata!.KeyState, 'PendingDeletion');
      await t.kms.send(new CancelKeyDeletionCommand({ KeyId: pendingKeyId }));

      // The reset's record: PutKeyPolicy with the new policy, no caller, the tool as user agent.
      const { Records } = await helpers.admin(t, 'QueryAuditRecords', { KeyId: keyId, Operation: 'PutKeyPolicy', Limit: 1 }) as { Records: Record<string, unknown>[] };
      const record = Records[0]!;
      assert.equal(record.seq, report.AuditSeq);
      assert.equal(record.requestID, report.AuditRequestId);
      assert.equal(record.userAgent, 'coffer-store-reset-key-policy');
      assert.equal((record.userIdentity as { arn?: string }).arn, undefined);
      assert.deepEqual(record.requestParameters, { keyId, policyName: 'default', policy: DEFAULT_POLICY });
      assert.equal((await helpers.admin(t, 'VerifyAuditChain', {})).Valid, true);
      // The table names the tool, not an unauthenticated request.
      const table = await cofferAgainst(t)(['audit', 'query', '--key', keyId, '--operation', 'PutKeyPolicy', '--limit', '1']);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout.trimEnd().split('\n')[1]!, /^\S+ +\(operator: coffer-store-reset-key-policy\) +PutKeyPolicy /);
    } finally {
      await t.dispose();
    }
  });

  it('refuses an AWS managed key, an unknown key, an alias and another account, each with its exit code, changing nothing', async () => {
    let t = await helpers.startTestServer({ dataDir: tempDir() });
    try {
      // DescribeKey of a predefined alias makes its AWS managed key.
      const managedKeyId = (await t.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }))).KeyMetadata!.KeyId!;
      const { keyId } = await lockOut(t, 'bob');
      await t.stop();
      const reset = (id: string, ...more: string[]) => coffer(['store', 'reset-key-policy', id, '--data-dir', t.dataDir, ...more]);
      const seqBefore = jsonOf(await coffer(['audit', 'verify', '--data-dir', t.dataDir, '--json']));

      refused(await reset(managedKeyId), 3, new RegExp(`^error: Key 'arn:aws:kms:us-east-1:111122223333:key/${managedKeyId}' is an AWS managed key: its key policy is AWS's, fixed`, 'm'));
      refused(await reset('alias/aws/s3'), 3, /^error: alias\/aws\/s3 names an AWS managed key/m);
      const unknown = randomUUID();
      refused(await reset(unknown), 1, new RegExp(`^error: Key 'arn:aws:kms:us-east-1:111122223333:key/${unknown}' does not exist in .*coffer\\.db$`, 'm'));
      refused(await reset('alias/payments'), 2, /^error: 'alias\/payments' is an alias; a reset names the key itself/m);
      refused(await reset('not-a-key'), 2, /^error: 'not-a-key' is not a key id or key ARN$/m);
      // The default policy would name another account's root: the key would stay as locked as it was.
      refused(await reset(keyId, '--account-id', '444455556666'), 2, /^error: No audit record names arn:aws:kms:us-east-1:444455556666:key\/.*: the key was made under another partition, region or account/m);
      refused(await reset(`arn:aws:kms:eu-west-1:111122223333:key/${keyId}`), 2, /names partition aws, region eu-west-1 and account 111122223333; this server's are aws, us-east-1 and 111122223333/);

      // Nothing was written: no record was appended, and the key is as locked as it was.
      assert.deepEqual(jsonOf(await coffer(['audit', 'verify', '--data-dir', t.dataDir, '--json'])), seqBefore);
      t = await t.restart();
      await accessDenied(t.kms.send(new DescribeKeyCommand({ KeyId: keyId })));
      await assert.rejects(t.kms.send(new PutKeyPolicyCommand({ KeyId: managedKeyId, PolicyName: 'default', Policy: DEFAULT_POLICY })), { name: 'AccessDeniedException' });
    } finally {
      await t.dispose();
    }
  });
});

describe('coffer store reset-key-policy (PostgreSQL)', () => {
  it('resets the key beside a running node, which enforces the new policy on its next request; the store checks out', async () => {
    const cluster = await (await support('postgres')).startTestPostgres() as { createDatabase(): Promise<string>; destroy(): Promise<void> };
    try {
      const store = await cluster.createDatabase();
      const t = await helpers.startTestServer({ dataDir: tempDir(), store });
      try {
        const { keyId, blob } = await lockOut(t, 'carol');
        const report = jsonOf(await coffer(['store', 'reset-key-policy', `arn:aws:kms:us-east-1:111122223333:key/${keyId}`, '--data-dir', t.dataDir, '--store', store, '--json']));
        assert.equal(report.KeyId, keyId);
        assert.doesNotMatch(String(report.Store), /:[^:@/]*@/, 'no password in the store\'s name');
        // The running node reads the key's new revision on its next request.
        await rootIsBack(t.kms, keyId, blob);
        const { Records } = await helpers.admin(t, 'QueryAuditRecords', { KeyId: keyId, Operation: 'PutKeyPolicy', Limit: 1 }) as { Records: Record<string, unknown>[] };
        assert.equal(Records[0]!.userAgent, 'coffer-store-reset-key-policy');
        assert.equal(Records[0]!.seq, report.AuditSeq);
        assert.equal((await helpers.admin(t, 'VerifyAuditChain', {})).Valid, true);
        const intact = await coffer(['store', 'check', '--data-dir', t.dataDir, '--store', store]);
        assert.equal(intact.code, 0, intact.stderr);
      } finally {
        await t.dispose();
      }
    } finally {
      await cluster.destroy();
    }
  });
});
