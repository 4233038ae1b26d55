import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  bounded, cleanEnv, coffer, cofferAgainst, jsonOf, removeTempDirs, startTestServer, tempDir, type Credentials, type Finished, type TestServer,
} from './support/cli.js';

/**
 * `coffer principals` and `coffer access-keys` as a subprocess against a real server: what people
 * see (tables, the secret shown once with a warning), what tools read (--json), and the exit codes.
 */
const ALLOW_LIST_KEYS = JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }] });

describe('coffer principals and coffer access-keys', () => {
  let served: TestServer;
  let cli: (args: readonly string[], options?: { input?: string }) => Promise<Finished>;
  before(async () => {
    served = await startTestServer();
    cli = cofferAgainst(served);
  });
  after(async () => {
    await served.dispose();
    removeTempDirs();
  });
  const ok = (finished: Finished) => {
    assert.equal(finished.code, 0, finished.stderr);
    return finished;
  };
  /** `coffer` signed with someone else's key. */
  const as = (credentials: Credentials, args: readonly string[]) => coffer([...args, '--endpoint-url', served.server.endpoint], {
    env: cleanEnv({ AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey }),
  });

  it('creates users and roles and lists them as a table and as JSON', async () => {
    assert.match(ok(await cli(['principals', 'create-user', 'alice'])).stdout, /^created user arn:aws:iam::111122223333:user\/alice \(AIDA[A-Z2-7]{17}\)\n$/);
    const role = jsonOf(await cli(['principals', 'create-role', 'deployer', '--json']));
    assert.equal((role.Role as { Arn: string }).Arn, 'arn:aws:iam::111122223333:role/deployer');
    // Dates in ISO 8601, as every --json output of the CLI.
    assert.match((role.Role as { CreateDate: string }).CreateDate, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const table = ok(await cli(['principals', 'list'])).stdout.split('\n');
    assert.match(table[0]!, /^Kind +Name +Id +Arn +Created$/);
    assert.ok(table.some((l) => /^user +alice +AIDA\S+ +arn:aws:iam::111122223333:user\/alice +\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/.test(l)), table.join('\n'));
    assert.ok(table.some((l) => /^role +deployer +AROA/.test(l)));
    const users = jsonOf(await cli(['principals', 'list', '--users', '--json']));
    assert.deepEqual((users.Users as { UserName: string }[]).map((u) => u.UserName), ['alice']);
    assert.equal(users.Roles, undefined);
  });

  it('prints a new access key\'s secret once, with a warning, and --json for tools; list never shows it', async () => {
    const created = ok(await cli(['access-keys', 'create', 'user/alice']));
    const id = /^AccessKeyId +(AKIA[A-Z2-7]{16})$/m.exec(created.stdout)?.[1];
    const secret = /^SecretAccessKey +(\S{40})$/m.exec(created.stdout)?.[1];
    assert.ok(id && secret, created.stdout);
    assert.match(created.stdout, new RegExp(`^aws_secret_access_key = ${secret.replace(/[+]/g, '\\+')}$`, 'm'));
    assert.match(created.stderr, /^warning: the secret access key is shown only this once/m);
    const asJson = await cli(['access-keys', 'create', 'role/deployer', '--json']);
    const key = jsonOf(asJson).AccessKey as Record<string, string>;
    assert.equal(key.RoleName, 'deployer');
    assert.equal(key.SecretAccessKey?.length, 40);
    assert.match(asJson.stderr, /shown only this once/);

    const listed = ok(await cli(['access-keys', 'list', 'user/alice']));
    assert.match(listed.stdout, new RegExp(`^${id} +Active +user/alice +\\d{4}-`, 'm'));
    assert.equal(listed.stdout.includes(secret), false);
    const listedJson = jsonOf(await cli(['access-keys', 'list', 'user/alice', '--json']));
    assert.deepEqual((listedJson.AccessKeyMetadata as { AccessKeyId: string }[]).map((k) => k.AccessKeyId), [id]);
    assert.equal(JSON.stringify(listedJson).includes(secret), false);
    // Without a principal: the caller's own keys (here the account root's).
    assert.match(ok(await cli(['access-keys', 'list'])).stdout, new RegExp(`^${served.credentials.accessKeyId} +Active +root `, 'm'));
  });

  it('attaches a policy from a file or standard input, and the user can use it at once', async () => {
    const key = jsonOf(await cli(['access-keys', 'create', 'user/alice', '--json'])).AccessKey as Record<string, string>;
    const alice = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
    // No policy yet: refused, exit code 3.
    const refused = await as(alice, ['keys', 'list']);
    assert.equal(refused.code, 3, refused.stderr);
    assert.match(refused.stderr, /^error: AccessDeniedException: User: arn:aws:iam::111122223333:user\/alice is not authorized to perform: kms:ListKeys/m);
    assert.match(refused.stderr, /^hint: /m);

    const file = join(tempDir(), 'policy.json');
    writeFileSync(file, ALLOW_LIST_KEYS);
    assert.equal(ok(await cli(['principals', 'put-policy', 'user/alice', 'list-keys', '--document', file])).stdout, 'put policy list-keys on user/alice\n');
    ok(await as(alice, ['keys', 'list']));
    ok(await cli(['principals', 'put-policy', 'arn:aws:iam::111122223333:user/alice', 'from-stdin', '--document', '-'], { input: ALLOW_LIST_KEYS }));

    assert.deepEqual(jsonOf(await cli(['principals', 'list-policies', 'user/alice', '--json'])).PolicyNames, ['from-stdin', 'list-keys']);
    assert.match(ok(await cli(['principals', 'list-policies', 'user/alice'])).stdout, /^PolicyName\nfrom-stdin\nlist-keys\n$/);
    const got = ok(await cli(['principals', 'get-policy', 'user/alice', 'list-keys'])).stdout;
    assert.deepEqual(JSON.parse(got), JSON.parse(ALLOW_LIST_KEYS));
    assert.equal(jsonOf(await cli(['principals', 'get-policy', 'user/alice', 'list-keys', '--json'])).PolicyDocument, ALLOW_LIST_KEYS);

    ok(await cli(['principals', 'delete-policy', 'user/alice', 'list-keys']));
    ok(await cli(['principals', 'delete-policy', 'user/alice', 'from-stdin']));
    assert.equal((await as(alice, ['keys', 'list'])).code, 3);
  });

  it('deactivates and activates a key (exit 3 while inactive), deletes it, and deletes a user', async () => {
    await cli(['principals', 'create-user', 'bob']);
    await cli(['principals', 'put-policy', 'user/bob', 'list', '--document', '-'], { input: ALLOW_LIST_KEYS });
    const key = jsonOf(await cli(['access-keys', 'create', 'user/bob', '--json'])).AccessKey as Record<string, string>;
    const bob = { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
    ok(await as(bob, ['keys', 'list']));
    assert.equal(ok(await cli(['access-keys', 'deactivate', bob.accessKeyId])).stdout, `${bob.accessKeyId} is now Inactive\n`);
    const inactive = await as(bob, ['keys', 'list']);
    assert.equal(inactive.code, 3);
    assert.match(inactive.stderr, /^error: UnrecognizedClientException: /m);
    assert.match(ok(await cli(['access-keys', 'list', 'user/bob'])).stdout, new RegExp(`^${bob.accessKeyId} +Inactive `, 'm'));
    ok(await cli(['access-keys', 'activate', bob.accessKeyId]));
    ok(await as(bob, ['keys', 'list']));
    // Bob may not administer: the admin API refuses with exit code 3 too.
    const notAdmin = await as(bob, ['principals', 'create-user', 'mallory']);
    assert.equal(notAdmin.code, 3);
    assert.match(notAdmin.stderr, /^error: AccessDeniedException: User: arn:aws:iam::111122223333:user\/bob is not authorized to perform: coffer:CreateUser/m);

    assert.equal(ok(await cli(['access-keys', 'delete', bob.accessKeyId])).stdout, `deleted ${bob.accessKeyId}\n`);
    assert.equal((await as(bob, ['keys', 'list'])).code, 3);
    ok(await cli(['principals', 'delete', 'user/bob']));
    const gone = await cli(['principals', 'delete', 'user/bob']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /^error: NotFoundException: The user with name bob cannot be found\.$/m);
    // The hint points at what lists users, access keys and policies, not at keys and aliases.
    assert.match(gone.stderr, /^hint: `coffer principals list` shows the users and roles there are$/m);
    const noKey = await cli(['access-keys', 'delete', bob.accessKeyId]);
    assert.equal(noKey.code, 1);
    assert.match(noKey.stderr, /^hint: `coffer access-keys list \[user\/NAME \| role\/NAME\]` shows the access keys there are$/m);
    const noPolicy = await cli(['principals', 'get-policy', 'user/alice', 'no-such-policy']);
    assert.equal(noPolicy.code, 1);
    assert.match(noPolicy.stderr, /^hint: `coffer principals list-policies user\/NAME` \(or role\/NAME\) shows the policies there are$/m);
  });

  it('refuses bad command lines with exit code 2, an error and a hint', async () => {
    const lines = [
      ['principals', 'delete', 'alice'],
      ['principals', 'put-policy', 'user/alice', 'p'],
      ['principals', 'list', '--users', '--roles'],
      ['access-keys', 'activate'],
      ['principals', 'create-usr', 'x'],
    ];
    const results = await bounded(4, lines.map((args) => () => cli(args)));
    for (const [i, args] of lines.entries()) {
      const finished = results[i]!;
      assert.equal(finished.code, 2, `${args.join(' ')}: ${finished.stderr}`);
      assert.match(finished.stderr, /^error: .+\n(?:hint: .+\n)?$/, args.join(' '));
      assert.match(finished.stderr, /^hint: /m, args.join(' '));
    }
    const missingFile = await cli(['principals', 'put-policy', 'user/alice', 'p', '--document', join(tempDir(), 'nope.json')]);
    assert.equal(missingFile.code, 5, missingFile.stderr);
    // Past what a request can carry: refused from the first 256 KiB read (a device such as /dev/zero
    // or an endless pipe would otherwise be read into memory without end).
    const huge = join(tempDir(), 'huge.json');
    writeFileSync(huge, ' '.repeat(256 * 1024 + 1));
    const tooLong = await cli(['principals', 'put-policy', 'user/alice', 'p', '--document', huge]);
    assert.equal(tooLong.code, 2, tooLong.stderr);
    assert.match(tooLong.stderr, /^error: the policy document from '.+huge\.json' is longer than 256 KiB, more than a request can carry\nhint: /);
  });

  it('takes a principal\'s ARN only in this server\'s account and partition: another never reaches the local namesake', async () => {
    ok(await cli(['principals', 'create-role', 'namesake']));
    for (const arn of ['arn:aws:iam::999999999999:role/namesake', 'arn:aws-cn:iam::111122223333:role/namesake', 'arn:aws:s3:::role/namesake']) {
      const refused = await cli(['principals', 'delete', arn]);
      assert.equal(refused.code, 2, `${arn}: ${refused.stderr}`);
      assert.match(refused.stderr, /^error: .+\nhint: .+\n$/);
      const keys = await cli(['access-keys', 'create', arn.replace('role/', 'user/')]);
      assert.equal(keys.code, 2, keys.stderr);
    }
    ok(await cli(['principals', 'delete', 'arn:aws:iam::111122223333:role/namesake']));
    assert.equal((await cli(['principals', 'delete', 'role/namesake'])).code, 1, 'deleted by its own ARN');
  });

  it('reports a server refusal of the input with exit code 1: a malformed policy, a bad name', async () => {
    const malformed = await cli(['principals', 'put-policy', 'user/alice', 'bad', '--document', '-'], { input: '{"Statement": 1}' });
    assert.equal(malformed.code, 1);
    assert.match(malformed.stderr, /^error: MalformedPolicyDocumentException: /m);
    const badName = await cli(['principals', 'create-user', 'no spaces']);
    assert.equal(badName.code, 1);
    assert.match(badName.stderr, /^error: ValidationException: 1 validation error detected: Value 'no spaces' at 'userName'/m);
  });

  it('has --help with an example for each command', async () => {
    for (const [group, leaves] of [
      ['principals', ['create-user', 'create-role', 'list', 'delete', 'put-policy', 'get-policy', 'list-policies', 'delete-policy']],
      ['access-keys', ['create', 'list', 'activate', 'deactivate', 'delete']],
    ] as const) {
      const help = await coffer([group, '--help']);
      assert.equal(help.code, 0);
      const helps = await bounded(4, leaves.map((name) => () => coffer([group, name, '--help'])));
      for (const [i, name] of leaves.entries()) {
        assert.match(help.stdout, new RegExp(`^  ${name} `, 'm'), `${group} --help lists ${name}`);
        const own = helps[i]!;
        assert.equal(own.code, 0, own.stderr);
        assert.match(own.stdout, new RegExp(`^Usage: coffer ${group} ${name}`));
        assert.match(own.stdout, new RegExp(`^Examples?:\\n  coffer ${group} ${name}`, 'm'));
      }
    }
    assert.match((await coffer(['--help'])).stdout, /^ {2}principals /m);
  });
});
