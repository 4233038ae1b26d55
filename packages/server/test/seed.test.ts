import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { after, describe, it } from 'node:test';
import { DecryptCommand, DescribeKeyCommand, EncryptCommand, ListAliasesCommand, ListKeysCommand, ScheduleKeyDeletionCommand } from '@aws-sdk/client-kms';
import { SeedError } from '../src/index.js';
import { admin } from './support/principals.js';
import { kmsClient, startTestServer, tempDataDir, type TestServer } from './support/server.js';

const KEY_ID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const MATERIAL = Buffer.alloc(32, 7).toString('base64');
const CI = { accessKeyId: 'AKIASEEDTEST000001', secretAccessKey: 'seed-test-secret-0123456789' };
const SEED = {
  keys: [{ keyId: KEY_ID, description: 'seeded', material: MATERIAL, aliases: ['alias/seeded'] }],
  principals: [{
    role: 'app',
    accessKeys: [CI],
    policies: { encrypt: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:Encrypt', 'kms:Decrypt'], Resource: '*' }] } },
  }],
};

const servers: TestServer[] = [];
after(async () => {
  for (const t of servers) await t.dispose();
});

describe('startServer({ seed })', () => {
  it('creates the seed once; a restart with the same seed changes nothing and the seeded role can use the key', async () => {
    const t = await startTestServer({ seed: SEED });
    servers.push(t);
    assert.equal(t.server.seeded?.created.length, 5);
    assert.equal(t.server.seeded?.unchanged, 0);
    const app = kmsClient(t.server.endpoint, { ...CI });
    const sealed = await app.send(new EncryptCommand({ KeyId: 'alias/seeded', Plaintext: Buffer.from('x') }));
    app.destroy();
    const again = await t.restart();
    servers.push(again);
    assert.deepEqual(again.server.seeded, { created: [], unchanged: 5 });
    const opened = await again.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
    assert.equal(Buffer.from(opened.Plaintext!).toString(), 'x');
    assert.deepEqual((await again.kms.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId), [KEY_ID]);
  });

  it('records its changes as changes (readOnly false), its principals and access keys as the admin API\'s, its keys and aliases as KMS\'s', async () => {
    const t = await startTestServer({ seed: SEED });
    servers.push(t);
    const records = (await admin(t, 'QueryAuditRecords', { Limit: 100 })).Records as { eventName: string; eventSource: string; readOnly: boolean }[];
    const seeded = records.filter((r) => r.eventName.startsWith('CofferSeed.')).map((r) => [r.eventName, r.eventSource, r.readOnly]);
    assert.deepEqual(seeded.sort(), [
      ['CofferSeed.CreateAccessKey', 'coffer', false],
      ['CofferSeed.CreateAlias', 'kms.amazonaws.com', false],
      ['CofferSeed.CreateKey', 'kms.amazonaws.com', false],
      ['CofferSeed.CreateRole', 'coffer', false],
      ['CofferSeed.PutPrincipalPolicy', 'coffer', false],
    ]);
    // The alias is among CreateAlias's resources, as the API's CreateAlias records it (before, only the key).
    const alias = records.find((r) => r.eventName === 'CofferSeed.CreateAlias') as unknown as { resources: { ARN: string }[] };
    assert.deepEqual(alias.resources.map((r) => r.ARN).sort(), [
      `arn:aws:kms:${t.server.config.region}:${t.server.config.accountId}:alias/seeded`,
      `arn:aws:kms:${t.server.config.region}:${t.server.config.accountId}:key/${KEY_ID}`,
    ]);
  });

  it('refuses a conflicting entry with a SeedError naming it', async () => {
    const t = await startTestServer({ seed: SEED });
    servers.push(t);
    await t.stop();
    const conflicting = { ...SEED, keys: [{ ...SEED.keys[0]!, material: Buffer.alloc(32, 8).toString('base64') }] };
    await assert.rejects(startTestServer({ seed: conflicting, dataDir: t.dataDir }),
      (error: unknown) => error instanceof SeedError && /^seed entry keys\[0\] \(1234abcd-12ab-34cd-56ef-1234567890ab\): .*other key material/.test(error.message));
  });

  it('refuses a malformed seed before writing anything', async () => {
    for (const [seed, problem] of [
      [{ keys: [{ keyId: 'not-a-uuid' }] }, /keys\[0\]: keyId must be a lowercase UUID/],
      [{ keys: [{ keyId: KEY_ID, keySpec: 'RSA_2048' }] }, /only SYMMETRIC_DEFAULT/],
      [{ principals: [{ user: 'a', role: 'b' }] }, /principals\[0\]: give exactly one of user and role/],
      [{ principals: [{ user: 'a', policies: { p: { Statement: 'nonsense' } } }] }, /principals\[0\] \(user a\) policy p: /],
      [{ extra: [] }, /unknown field 'extra'/],
      // The admin API's quotas: two access keys, and 2048 characters of policies for a user.
      [{ principals: [{ user: 'a', accessKeys: [1, 2, 3].map((i) => ({ accessKeyId: `AKIASEEDTEST000000${i}`, secretAccessKey: 'a-secret-for-tests-only' })) }] }, /at most two access keys/],
      [{ principals: [{ user: 'a', policies: { p: { Version: '2012-10-17', Statement: [{ Sid: 'x'.repeat(2100), Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } } }] }, /the quota is 2048/],
      // The admin API's checks of an identity policy: IAM's Sid rules.
      [{ principals: [{ user: 'a', policies: { p: { Version: '2012-10-17', Statement: [{ Sid: 'use keys', Effect: 'Allow', Action: 'kms:*', Resource: '*' }] } } }] },
        /policy p: Statement IDs \(SID\) must be alpha-numeric/],
      // CreateAlias's rules: names the API could not name (so never delete), and 50 aliases a key.
      ...['alias/my key', 'alias/été', `alias/${'a'.repeat(251)}`].map((alias) => [{ keys: [{ keyId: KEY_ID, aliases: [alias] }] }, /an alias name is alias\/ and then letters/] as const),
      [{ keys: [{ keyId: KEY_ID, aliases: Array.from({ length: 51 }, (_, i) => `alias/a${i}`) }] }, /alias alias\/a50: a key has at most 50 aliases/],
      // A secret YAML read as a number (unquoted digits) is said as such, not as missing.
      [{ principals: [{ user: 'a', accessKeys: [{ accessKeyId: CI.accessKeyId, secretAccessKey: 12345678901234567890 }] }] },
        /accessKeys\[0\]: accessKeyId and secretAccessKey must be strings \(in YAML, quote one that reads as a number\)/],
      // A secret no credentials file or environment variable could carry (before, accepted as given).
      ...['a-secret-for-tests-only\n', 'a secret for tests only', 'a-secret-for-tésts-only'].map((secret) =>
        [{ principals: [{ user: 'a', accessKeys: [{ accessKeyId: CI.accessKeyId, secretAccessKey: secret }] }] },
          /accessKeys\[0\]: secretAccessKey must be printable ASCII with no spaces, tabs or line breaks$/] as const),
      // One access key id for two principals.
      [{ principals: [{ user: 'a', accessKeys: [CI] }, { user: 'b', accessKeys: [CI] }] }, /principals\[1\] \(user b\) accessKeys\[0\] \(AKIASEEDTEST000001\): the access key id appears twice/],
    ] as const) {
      const dataDir = tempDataDir();
      // A seed accepted after all is a failure, not a server left running.
      await assert.rejects(startTestServer({ seed, dataDir }).then((t) => t.stop()), (error: unknown) => error instanceof SeedError && problem.test(error.message), String(problem));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('a seed refused for an entry that conflicts with the store writes nothing, not even the entries before it', async () => {
    const t = await startTestServer({ seed: SEED });
    servers.push(t);
    await t.stop();
    const later = {
      keys: [{ keyId: 'aaaaaaaa-12ab-34cd-56ef-1234567890ab', aliases: ['alias/later'] }],
      principals: [{ user: 'ci' }, { role: 'app', policies: { encrypt: { Version: '2012-10-17', Statement: [{ Effect: 'Deny', Action: 'kms:*', Resource: '*' }] } } }],
    };
    await assert.rejects(startTestServer({ seed: later, dataDir: t.dataDir }),
      (error: unknown) => error instanceof SeedError && /principals\[1\] \(role app\) policy encrypt: the store holds another document/.test(error.message));
    const again = await startTestServer({ dataDir: t.dataDir });
    servers.push(again);
    assert.deepEqual((await again.kms.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId), [KEY_ID]);
    assert.deepEqual((await again.kms.send(new ListAliasesCommand({}))).Aliases!.map((a) => a.AliasName).filter((name) => !name!.startsWith('alias/aws/')), ['alias/seeded']);
  });

  it('a key may have at most 50 aliases, counting those the store already holds', async () => {
    const t = await startTestServer({ seed: { keys: [{ keyId: KEY_ID, aliases: Array.from({ length: 50 }, (_, i) => `alias/a${i}`) }] } });
    servers.push(t);
    await t.stop();
    await assert.rejects(startTestServer({ seed: { keys: [{ keyId: KEY_ID, aliases: ['alias/one-more'] }] }, dataDir: t.dataDir }),
      (error: unknown) => error instanceof SeedError && /alias alias\/one-more: a key has at most 50 aliases/.test(error.message));
  });

  it('counts what the store already holds toward the quotas, and gives no alias to a key pending deletion', async () => {
    const key = (i: number) => ({ accessKeyId: `AKIASEEDQUOTA00000${i}`, secretAccessKey: 'seed-quota-secret-0123456789' });
    const first = { keys: [{ keyId: KEY_ID }], principals: [{ user: 'alice', accessKeys: [key(1), key(2)],
      policies: { p0: { Version: '2012-10-17', Statement: [{ Sid: 'x'.repeat(1500), Effect: 'Allow', Action: 'kms:Encrypt', Resource: '*' }] } } }] };
    const t = await startTestServer({ seed: first });
    servers.push(t);
    await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: KEY_ID, PendingWindowInDays: 7 }));
    await t.stop();
    for (const [seed, problem] of [
      [{ principals: [{ user: 'alice', accessKeys: [key(3)] }] }, /would have 3 access keys with those the store holds; a principal has at most 2/],
      [{ principals: [{ user: 'alice', policies: { big: { Version: '2012-10-17', Statement: [{ Sid: 'y'.repeat(600), Effect: 'Allow', Action: 'kms:Decrypt', Resource: '*' }] } } }] }, /with those the store holds, hold \d+ characters .*the quota is 2048/],
      [{ keys: [{ keyId: KEY_ID, aliases: ['alias/late'] }] }, /alias alias\/late: the key is pending deletion/],
    ] as const) {
      await assert.rejects(startTestServer({ seed, dataDir: t.dataDir }), (error: unknown) => error instanceof SeedError && problem.test(error.message), String(problem));
    }
  });

  it('finds a seeded access key an operator deactivated made, and leaves it inactive; another secret is still a conflict', async () => {
    const t = await startTestServer({ seed: SEED });
    servers.push(t);
    await admin(t, 'UpdateAccessKey', { AccessKeyId: CI.accessKeyId, Status: 'Inactive' });
    await t.stop();
    // Before, the start stopped: "the access key is inactive in the store".
    const again = await startTestServer({ seed: SEED, dataDir: t.dataDir });
    servers.push(again);
    assert.deepEqual(again.server.seeded, { created: [], unchanged: 5 });
    const listed = (await admin(again, 'ListAccessKeys', { RoleName: 'app' })).AccessKeyMetadata as { Status: string }[];
    assert.deepEqual(listed.map((k) => k.Status), ['Inactive']);
    await again.stop();
    const otherSecret = { ...SEED, principals: [{ ...SEED.principals[0]!, accessKeys: [{ ...CI, secretAccessKey: 'another-secret-0123456789' }] }] };
    await assert.rejects(startTestServer({ seed: otherSecret, dataDir: t.dataDir }),
      (error: unknown) => error instanceof SeedError && /accessKeys\[0\] \(AKIASEEDTEST000001\): the store holds another secret/.test(error.message));
  });

  it('refuses to name an AWS managed key, which would take aliases nobody could delete or move', async () => {
    const t = await startTestServer();
    servers.push(t);
    const managed = (await t.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/s3' }))).KeyMetadata!;
    await t.stop();
    const seed = { keys: [{ keyId: managed.KeyId!, description: managed.Description!, aliases: ['alias/mine'] }] };
    await assert.rejects(startTestServer({ seed, dataDir: t.dataDir }),
      (error: unknown) => error instanceof SeedError && /keys\[0\] \([0-9a-f-]+\): the store's key of that id is an AWS managed key, which a seed may not name/.test(error.message));
  });

  it('keeps applying a seed whose aliases an earlier release made though they break today\'s rules (they exist: nothing is made)', async () => {
    const t = await startTestServer({ seed: { keys: [{ keyId: KEY_ID }] } });
    servers.push(t);
    await t.stop();
    // As e9b68de's seeds made them: more than 50 on a key, and a name the API could not give.
    const db = new Database(join(t.dataDir, 'coffer.db'));
    try {
      const insert = db.prepare('INSERT INTO aliases (alias_name, target_key_id, created_at, updated_at) VALUES (?, ?, 1, 1)');
      const names = [...Array.from({ length: 51 }, (_, i) => `alias/old${i}`), 'alias/payments.prod'];
      for (const name of names) insert.run(name, KEY_ID);
      const again = await startTestServer({ seed: { keys: [{ keyId: KEY_ID, aliases: names }] }, dataDir: t.dataDir });
      servers.push(again);
      assert.deepEqual(again.server.seeded?.created, []);
    } finally {
      db.close();
    }
  });
});
