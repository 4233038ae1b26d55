import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { CreateKeyCommand, DescribeKeyCommand, TagResourceCommand } from '@aws-sdk/client-kms';
import { bounded, jsonOf, serverForTests, tempDir, type Finished } from './support/cli.js';

const suite = serverForTests();

const ok = (finished: Finished) => {
  assert.equal(finished.code, 0, finished.stderr);
  assert.equal(finished.stderr, '');
  return finished.stdout;
};

const policyFor = (sid: string) => JSON.stringify({
  Version: '2012-10-17',
  Statement: [{ Sid: sid, Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${suite.served.server.config.accountId}:root` }, Action: 'kms:*', Resource: '*' }],
});

async function newKey(): Promise<{ KeyId: string; Arn: string }> {
  const { KeyMetadata } = await suite.served.kms.send(new CreateKeyCommand({}));
  return { KeyId: KeyMetadata!.KeyId!, Arn: KeyMetadata!.Arn! };
}

// Every test makes its own keys, so the suites run side by side: each command is a Node.js start.
describe('coffer keys', { concurrency: 4 }, () => {
  describe('coffer keys create and describe', { concurrency: true }, () => {
    it('creates a key with a description, tags, an alias and a policy file, and describes it by alias', async () => {
      const file = join(tempDir(), 'policy.json');
      writeFileSync(file, policyFor('FromAFile'));
      const created = jsonOf(await suite.coffer(['keys', 'create', '--description', 'payments data', '--tag', 'team=payments', '--tag', 'env=prod',
        '--alias', 'alias/payments', '--policy', file, '--json']));
      const metadata = created.KeyMetadata as Record<string, unknown>;
      assert.equal(metadata.Description, 'payments data');
      assert.match(String(metadata.Arn), /^arn:aws:kms:us-east-1:111122223333:key\/[0-9a-f-]{36}$/);
      assert.match(String(metadata.CreationDate), /^\d{4}-\d\d-\d\dT/);

      const described = jsonOf(await suite.coffer(['keys', 'describe', 'alias/payments', '--json']));
      assert.equal((described.KeyMetadata as Record<string, unknown>).KeyId, metadata.KeyId);
      const tags = jsonOf(await suite.coffer(['keys', 'tags', 'alias/payments', '--json']));
      assert.deepEqual(tags.Tags, [{ TagKey: 'env', TagValue: 'prod' }, { TagKey: 'team', TagValue: 'payments' }]);
      const policy = JSON.parse(ok(await suite.coffer(['keys', 'policy', 'get', String(metadata.KeyId)]))) as { Statement: { Sid: string }[] };
      assert.equal(policy.Statement[0]!.Sid, 'FromAFile');
    });

    it('prints a key for people: one field a line, with its alias after create', async () => {
      const created = ok(await suite.coffer(['keys', 'create', '--alias', 'alias/for-people']));
      assert.match(created, /^KeyId +[0-9a-f-]{36}$/m);
      assert.match(created, /^Alias +alias\/for-people$/m);
      const described = ok(await suite.coffer(['keys', 'describe', 'alias/for-people']));
      assert.match(described, /^KeyState +Enabled$/m);
      assert.match(described, /^Arn +arn:aws:kms:/m);
    });

    it('creates a multi-Region primary key with --multi-region', async () => {
      const created = jsonOf(await suite.coffer(['keys', 'create', '--multi-region', '--json']));
      const metadata = created.KeyMetadata as { KeyId: string; MultiRegion: boolean; MultiRegionConfiguration: { MultiRegionKeyType: string } };
      assert.match(metadata.KeyId, /^mrk-[0-9a-f]{32}$/);
      assert.equal(metadata.MultiRegion, true);
      assert.equal(metadata.MultiRegionConfiguration.MultiRegionKeyType, 'PRIMARY');
    });

    it('refuses an unknown --key-spec before calling the server, exit code 2', async () => {
      const finished = await suite.coffer(['keys', 'create', '--key-spec', 'AES_999']);
      assert.equal(finished.code, 2);
      assert.match(finished.stderr, /^error: --key-spec 'AES_999'/m);
      assert.match(finished.stderr, /^hint: use one of: .*\bSYMMETRIC_DEFAULT\b/m);
    });

    it('refuses an alias that exists or that AWS would refuse before it makes the key: a retry leaves no key behind', async () => {
      ok(await suite.coffer(['keys', 'create', '--alias', 'alias/taken']));
      const finished = await suite.coffer(['keys', 'create', '--alias', 'alias/taken']);
      assert.equal(finished.code, 1);
      assert.match(finished.stderr, /^error: AlreadyExistsException: the alias alias\/taken exists already \(it names arn:aws:kms:\S+\); no key was created$/m);
      for (const [name, error] of [['alias/with space', /is not a valid alias name/], ['alias/aws/mine', /is reserved for AWS managed keys/], [`alias/${'x'.repeat(251)}`, /is not a valid alias name/]] as const) {
        const refused = await suite.coffer(['keys', 'create', '--alias', name]);
        assert.equal(refused.code, 2, refused.stderr);
        assert.match(refused.stderr, error);
      }
      ok(await suite.coffer(['keys', 'create', '--alias', `alias/${'x'.repeat(250)}`]));
    });
  });

  describe('coffer keys list', { concurrency: true }, () => {
    it('lists every key across pages (more than one ListKeys page), as JSON and as a table', async () => {
      await bounded(8, Array.from({ length: 105 }, () => newKey));
      const listed = jsonOf(await suite.coffer(['keys', 'list', '--json']));
      const keys = listed.Keys as { KeyId: string; KeyArn: string }[];
      assert.ok(keys.length > 105, `only ${keys.length} keys: one page`);
      assert.equal(new Set(keys.map((k) => k.KeyId)).size, keys.length);
      const table = ok(await suite.coffer(['keys', 'list'])).trimEnd().split('\n');
      assert.match(table[0]!, /^KeyId +KeyArn$/);
      assert.ok(table.length > keys.length, 'a line per key after the header');
    });
  });

  describe('coffer keys enable, disable, deletion', { concurrency: true }, () => {
    it('disables and enables a key named by alias, id or ARN', async () => {
      const key = await newKey();
      ok(await suite.coffer(['aliases', 'create', 'alias/switch', key.KeyId]));
      assert.match(ok(await suite.coffer(['keys', 'disable', 'alias/switch'])), /^disabled alias\/switch$/m);
      assert.equal((await suite.served.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState, 'Disabled');
      ok(await suite.coffer(['keys', 'enable', key.Arn]));
      assert.equal((await suite.served.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState, 'Enabled');
      ok(await suite.coffer(['keys', 'disable', key.KeyId]));
      const aliasArn = `arn:aws:kms:us-east-1:111122223333:alias/switch`;
      ok(await suite.coffer(['keys', 'enable', aliasArn]));
      assert.equal((await suite.served.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState, 'Enabled');
    });

    it('schedules a deletion with --days and cancels it; the key comes back disabled', async () => {
      const key = await newKey();
      const scheduled = jsonOf(await suite.coffer(['keys', 'schedule-deletion', key.KeyId, '--days', '7', '--json']));
      assert.equal(scheduled.KeyState, 'PendingDeletion');
      assert.equal(scheduled.PendingWindowInDays, 7);
      assert.equal(scheduled.KeyId, key.Arn);
      const cancelled = ok(await suite.coffer(['keys', 'cancel-deletion', key.KeyId]));
      assert.match(cancelled, /the key is disabled: `coffer keys enable /);
      assert.equal((await suite.served.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState, 'Disabled');
      const table = ok(await suite.coffer(['keys', 'schedule-deletion', key.KeyId]));
      assert.match(table, /^PendingWindowInDays +30$/m);
      assert.deepEqual(jsonOf(await suite.coffer(['keys', 'cancel-deletion', key.KeyId, '--json'])), { KeyId: key.Arn });
    });

    it('refuses --days outside 7..30 with exit code 2 and a hint', async () => {
      const finished = await suite.coffer(['keys', 'schedule-deletion', 'alias/x', '--days', '3']);
      assert.equal(finished.code, 2);
      assert.match(finished.stderr, /^error: --days must be a whole number from 7 to 30, not '3'$/m);
      assert.match(finished.stderr, /^hint: /m);
    });

    it('answers KMSInvalidStateException with exit code 1 and a hint for a key pending deletion', async () => {
      const key = await newKey();
      ok(await suite.coffer(['keys', 'schedule-deletion', key.KeyId]));
      const finished = await suite.coffer(['keys', 'enable', key.KeyId]);
      assert.equal(finished.code, 1);
      assert.match(finished.stderr, /^error: KMSInvalidStateException: /m);
      assert.match(finished.stderr, /^hint: `coffer keys describe KEY`/m);
    });
  });

  describe('values an API caller stored, printed to a terminal', { concurrency: true }, () => {
    // Clear the screen, retitle the window, a forged hyperlink, a forged field line, a right-to-left override.
    const description = 'ok\x1b[2J\x1b]0;pwned\x07\nKeyState  Enabled\u202eevil';
    it('shows control and bidi-override characters escaped in tables and fields, and exactly in --json', async () => {
      const { KeyMetadata } = await suite.served.kms.send(new CreateKeyCommand({ Description: description }));
      const keyId = KeyMetadata!.KeyId!;
      await suite.served.kms.send(new TagResourceCommand({ KeyId: keyId, Tags: [{ TagKey: 'link', TagValue: '\x1b]8;;http://evil.example/\x07click\x1b]8;;\x07' }] }));
      for (const args of [['keys', 'describe', keyId], ['keys', 'tags', keyId]]) {
        const out = ok(await suite.coffer(args));
        assert.doesNotMatch(out, /[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/, `${args.join(' ')} printed a control character`);
      }
      const described = ok(await suite.coffer(['keys', 'describe', keyId]));
      assert.match(described, /^Description +ok\\x1b\[2J\\x1b\]0;pwned\\x07\\x0aKeyState  Enabled\\u202eevil$/m);
      assert.equal(described.match(/^KeyState/gm)?.length, 1);
      assert.match(ok(await suite.coffer(['keys', 'tags', keyId])), /^link +\\x1b\]8;;http:\/\/evil\.example\/\\x07click\\x1b\]8;;\\x07$/m);
      const json = jsonOf(await suite.coffer(['keys', 'describe', keyId, '--json']));
      assert.equal((json.KeyMetadata as Record<string, unknown>).Description, description);
    });

    it('writes C1 controls and bidi overrides in JSON output and key policies as \\u escapes, the same JSON', async () => {
      // U+009B is CSI and U+009D OSC to a terminal that reads C1 controls; JSON.stringify leaves them raw.
      const sid = 'a\u009b2J\u009d0;x';
      const policy = JSON.stringify({ Version: '2012-10-17', Statement: [{ Sid: sid, Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }] });
      const { KeyMetadata } = await suite.served.kms.send(new CreateKeyCommand({ Description: 'x\u202ey\u009b', Policy: policy }));
      const keyId = KeyMetadata!.KeyId!;
      for (const args of [['keys', 'describe', keyId, '--json'], ['keys', 'policy', 'get', keyId]]) {
        const out = ok(await suite.coffer(args));
        assert.doesNotMatch(out, /[\x7f-\x9f\u202a-\u202e\u2066-\u2069]/, `${args.join(' ')} printed a control character`);
      }
      assert.equal(((jsonOf(await suite.coffer(['keys', 'describe', keyId, '--json'])).KeyMetadata) as Record<string, unknown>).Description, 'x\u202ey\u009b');
      const printed = JSON.parse(ok(await suite.coffer(['keys', 'policy', 'get', keyId]))) as { Statement: { Sid: string }[] };
      assert.equal(printed.Statement[0]!.Sid, sid);
    });
  });
});
