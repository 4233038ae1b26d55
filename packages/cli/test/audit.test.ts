import assert from 'node:assert/strict';
import { cpSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import Database from 'better-sqlite3';
import { bounded, cleanEnv, coffer, MAIN, removeTempDirs, run as runProgram, tempDir, type Finished } from './support/cli.js';

/**
 * `coffer audit query` and `coffer audit verify` as subprocesses against a real server started
 * in this process, and `coffer audit verify --data-dir` on a stopped server's (tampered) files.
 */

// From packages/cli/dist/test/ to packages/server/dist/test/support/: the server's own helpers,
// loaded at run time so this package does not build against the server's test sources.
const SERVER_SUPPORT = new URL('../../../server/dist/test/support/server.js', import.meta.url);

interface Credentials { readonly accessKeyId: string; readonly secretAccessKey: string }
interface TestServer {
  readonly server: { readonly endpoint: string };
  readonly dataDir: string;
  readonly credentials: Credentials;
  readonly kms: KMSClient;
  stop(): Promise<void>;
  dispose(): Promise<void>;
}
type Start = (options?: { dataDir?: string; seed?: object }) => Promise<TestServer>;
const startTestServer: Start = async (options = {}) =>
  ((await import(SERVER_SUPPORT.href)) as { startTestServer: Start }).startTestServer(options);

/** `coffer ARGS` signed with the server's administrator key from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY. */
function against(t: TestServer, credentials: Credentials = t.credentials) {
  const env = cleanEnv({ AWS_ACCESS_KEY_ID: credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey });
  return (args: readonly string[]) => coffer([...args, '--endpoint-url', t.server.endpoint], { env });
}

function ok(finished: Finished): Finished {
  assert.equal(finished.code, 0, `exit ${finished.code}: ${finished.stderr}`);
  return finished;
}

type Event = Record<string, unknown> & { seq: number; eventName: string; errorCode?: string; requestID: string; resources: { ARN: string }[] };

after(removeTempDirs);

describe('coffer audit query', () => {
  let t: TestServer;
  let run: (args: readonly string[]) => Promise<Finished>;
  let keyId: string;
  let keyArn: string;
  let encryptIds: string[];
  before(async () => {
    t = await startTestServer();
    run = against(t);
    const key = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
    keyId = key.KeyId!;
    keyArn = key.Arn!;
    encryptIds = [];
    for (let i = 0; i < 4; i++) {
      const sealed = await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(`secret ${i}`) }));
      encryptIds.push(sealed.$metadata.requestId!);
      await t.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob }));
    }
    await t.kms.send(new DescribeKeyCommand({ KeyId: 'alias/missing' })).catch(() => undefined);
  });
  after(() => t.dispose());

  it('shows the newest records as a table: time, principal, operation, key, outcome', async () => {
    const { stdout, stderr } = ok(await run(['audit', 'query', '--limit', '3']));
    const lines = stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^time +principal +operation +key +outcome$/);
    assert.equal(lines.length, 4, stdout);
    // The newest is the failed DescribeKey, then the last Decrypt and Encrypt.
    assert.match(lines[1]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ +root +DescribeKey +NotFoundException$/);
    assert.match(lines[2]!, new RegExp(`^\\S+ +root +Decrypt +${keyId} +success$`));
    assert.match(lines[3]!, new RegExp(`^\\S+ +root +Encrypt +${keyId} +success$`));
    assert.match(stderr, /the newest 3 shown; --limit N shows more/);
    const failures = ok(await run(['audit', 'query', '--outcome', 'failure']));
    assert.deepEqual(failures.stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/ +/)[2]), ['DescribeKey']);
    assert.equal(failures.stderr, '');
  });

  it('shows an alias operation\'s key by its id, and its alias by name', async () => {
    const key = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await t.kms.send(new CreateAliasCommand({ AliasName: 'alias/app/prod', TargetKeyId: key }));
    const { stdout } = ok(await run(['audit', 'query', '--operation', 'CreateAlias', '--limit', '1']));
    // Before, the last part of each ARN: `prod +1`.
    assert.match(stdout.trimEnd().split('\n')[1]!, new RegExp(`^\\S+ +root +CreateAlias +${key} \\+1 +success$`));
    const [event] = JSON.parse(ok(await run(['audit', 'query', '--operation', 'CreateAlias', '--limit', '1', '--json'])).stdout) as Event[];
    assert.deepEqual(event!.resources.map((r) => r.ARN.split(':').slice(5).join(':')), [`key/${key}`, 'alias/app/prod']);
  });

  it('exports every matching record with --json, newest first, filters combined', async () => {
    const root = `arn:aws:iam::111122223333:root`;
    const answers = await bounded(4, [
      ['--json'],
      ['--json', '--operation', 'Encrypt', '--key', keyArn, '--outcome', 'success', '--start', '1h'],
      ['--json', '--key', keyId, '--operation', 'Decrypt'],
      ['--json', '--principal', root, '--outcome', 'NotFoundException'],
      ['--json', '--end', '1h'],
      ['--json', '--start', '2999-01-01'],
      ['--json', '--limit', '2'],
    ].map((flags) => async () => JSON.parse(ok(await run(['audit', 'query', ...flags])).stdout) as Event[]));
    const [all, encrypts, decrypts, notFound, older, future, limited] = answers as [Event[], Event[], Event[], Event[], Event[], Event[], Event[]];
    assert.deepEqual(all.map((e) => e.seq), Array.from({ length: all[0]!.seq }, (_, i) => all[0]!.seq - i), 'every record once, newest first');
    assert.equal(all.at(-1)!.seq, 1);
    assert.deepEqual(encrypts.map((e) => e.requestID), [...encryptIds].reverse());
    assert.ok(encrypts.every((e) => e.eventName === 'Encrypt' && e.resources[0]!.ARN === keyArn && e.errorCode === undefined));
    assert.equal(encrypts[0]!.eventSource, 'kms.amazonaws.com');
    assert.deepEqual(Object.keys(encrypts[0]!).filter((k) => ['seq', 'prevHash', 'hash', 'eventID', 'userIdentity'].includes(k)).sort(),
      ['eventID', 'hash', 'prevHash', 'seq', 'userIdentity']);
    assert.equal(decrypts.length, 4);
    assert.ok(decrypts.every((e) => e.eventName === 'Decrypt'));
    assert.deepEqual(notFound.map((e) => e.eventName), ['DescribeKey']);
    assert.deepEqual(older, [], 'nothing is older than an hour');
    assert.deepEqual(future, []);
    assert.equal(limited.length, 2);
  });

  it('writes JSON Lines with --output, the same records as --json', async () => {
    const file = join(tempDir(), 'audit.jsonl');
    const [written, exported] = await bounded(2, [
      () => run(['audit', 'query', '--key', keyId, '--output', file]),
      () => run(['audit', 'query', '--json', '--key', keyId]),
    ]);
    const { stdout, stderr } = ok(written!);
    assert.equal(stdout, '');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Event);
    assert.equal(stderr, `wrote ${lines.length} records to ${file}\n`);
    const json = JSON.parse(ok(exported!).stdout) as Event[];
    assert.deepEqual(lines, json);
    assert.ok(lines.length >= 8);
  });

  it('keeps an earlier export: an --output that exists is replaced only with --force, and never by a failed export', async () => {
    const dir = tempDir();
    const file = join(dir, 'earlier.jsonl');
    writeFileSync(file, 'the earlier export\n');
    const refused = await run(['audit', 'query', '--key', keyId, '--output', file]);
    assert.equal(refused.code, 5, refused.stderr);
    assert.match(refused.stderr, /^error: '.+earlier\.jsonl' exists\nhint: pass --force to replace it/);
    assert.equal(readFileSync(file, 'utf8'), 'the earlier export\n');
    // The server cannot be reached: nothing is written, the earlier export stays, no partial file is left.
    const unreachable = await coffer(['audit', 'query', '--output', file, '--force', '--endpoint-url', 'http://127.0.0.1:1'],
      { env: cleanEnv({ AWS_ACCESS_KEY_ID: t.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: t.credentials.secretAccessKey }) });
    assert.equal(unreachable.code, 1, unreachable.stderr);
    assert.equal(readFileSync(file, 'utf8'), 'the earlier export\n');
    assert.deepEqual(readdirSync(dir), ['earlier.jsonl']);
    const replaced = ok(await run(['audit', 'query', '--key', keyId, '--output', file, '--force']));
    assert.match(replaced.stderr, /^wrote \d+ records to /);
    assert.ok(readFileSync(file, 'utf8').split('\n').filter(Boolean).every((line) => (JSON.parse(line) as Event).seq > 0));
    const directory = await run(['audit', 'query', '--output', dir, '--force']);
    assert.equal(directory.code, 5, directory.stderr);
    assert.match(directory.stderr, /exists and is not a regular file/);
  });

  it('keeps an earlier export when the new one cannot be written (a full disk): exit 5, no partial file, no crash', async () => {
    const dir = tempDir();
    const file = join(dir, 'earlier.jsonl');
    writeFileSync(file, 'the earlier export\n');
    // A file size limit of 1 KiB makes the export's writes fail part-way (EFBIG), as a full disk
    // does (ENOSPC), for this process only and without root. Before, the failed write was an
    // unhandled 'error' event: a stack trace, exit 1, and the partial file left behind.
    const env = cleanEnv({ AWS_ACCESS_KEY_ID: t.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: t.credentials.secretAccessKey });
    const full = await runProgram('/bin/sh', ['-c', 'ulimit -f 1 && exec "$@"', 'sh', process.execPath, MAIN,
      'audit', 'query', '--output', file, '--force', '--endpoint-url', t.server.endpoint], { env });
    assert.equal(full.code, 5, full.stderr);
    assert.match(full.stderr, /^error: cannot write '.+earlier\.jsonl': EFBIG\n/);
    assert.doesNotMatch(full.stderr, /\n +at /);
    assert.equal(readFileSync(file, 'utf8'), 'the earlier export\n');
    assert.deepEqual(readdirSync(dir), ['earlier.jsonl']);
  });

  it('refuses bad flags with a hint, and a caller without permission with exit code 3', async () => {
    const [badStart, badLimit, badOutcome, strangerRun] = await bounded(4, [
      () => run(['audit', 'query', '--start', 'last tuesday']),
      () => run(['audit', 'query', '--limit', '0']),
      () => run(['audit', 'query', '--outcome', 'not ok']),
      () => against(t, { accessKeyId: 'AKIANOBODYNOBODY0000', secretAccessKey: 'x'.repeat(40) })(['audit', 'query']),
    ]);
    for (const bad of [badStart!, badLimit!, badOutcome!]) {
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, /^error: .*\nhint: /);
    }
    assert.match(badStart!.stderr, /--start 'last tuesday' is neither an ISO 8601 time nor a relative one/);
    // Dates that are no day of the calendar, or with text after them, are refused, not moved on
    // (Date.parse reads 2026-02-30 as 2 March); real ones in each form are taken.
    const dates = ['2026-02-30', '2026-02-29', '2026-04-31', '2026-01-01junk', '2026-01-01T24:30:00Z', '2026-13-01', '2028-02-29', '2026-01-31T12:00:00Z', '2026-01-31T12:00:00.5+02:00', '2026-01-31 12:00', '2026-01-31T24:00:00Z'];
    const answers = await bounded(4, dates.map((date) => () => run(['audit', 'query', '--start', date, '--limit', '1'])));
    assert.deepEqual(answers.map((a) => a!.code), [2, 2, 2, 2, 2, 2, 0, 0, 0, 0, 0], answers.map((a) => a!.stderr).join(''));
    const stranger = strangerRun!;
    assert.equal(stranger.code, 3, stranger.stderr);
    assert.match(stranger.stderr, /^error: UnrecognizedClientException: /);
  });

  // Last: it adds records the cases above do not expect.
  it('records the CLI\'s own admin and STS calls with its user agent, as its KMS calls carry the SDK\'s', async () => {
    ok(await run(['audit', 'query', '--limit', '1']));
    const [event] = JSON.parse(ok(await run(['audit', 'query', '--operation', 'QueryAuditRecords', '--limit', '1', '--json'])).stdout) as Event[];
    // Before, null: the operator's CLI could not be told from an unknown client.
    const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    assert.equal(event!.userAgent, `coffer-cli/${version} node/${process.versions.node} os/${process.platform}`);
  });

  it('shows an STS request as recorded, sts:GetCallerIdentity, found by that name and the bare one', async () => {
    const sts = new STSClient({ endpoint: t.server.endpoint, region: 'us-east-1', credentials: t.credentials, maxAttempts: 1 });
    await sts.send(new GetCallerIdentityCommand({}));
    sts.destroy();
    for (const name of ['sts:GetCallerIdentity', 'GetCallerIdentity']) {
      const { stdout } = ok(await run(['audit', 'query', '--operation', name]));
      const rows = stdout.trimEnd().split('\n').slice(1);
      assert.equal(rows.length, 1, stdout);
      assert.match(rows[0]!, /^\S+ +root +sts:GetCallerIdentity +success$/);
    }
    const [event] = JSON.parse(ok(await run(['audit', 'query', '--operation', 'GetCallerIdentity', '--json'])).stdout) as Event[];
    assert.equal(event?.eventName, 'GetCallerIdentity');
    assert.equal(event?.eventSource, 'sts.amazonaws.com');
  });

  it('shows the server\'s own actions (an AWS managed key made on first use) as the server\'s, not as unauthenticated requests', async () => {
    await t.kms.send(new DescribeKeyCommand({ KeyId: 'alias/aws/ebs' }));
    const { stdout } = ok(await run(['audit', 'query', '--limit', '3']));
    const rows = stdout.trimEnd().split('\n').slice(1);
    // Newest first: the caller's DescribeKey, then the alias and the key it made.
    assert.match(rows[0]!, /^\S+ +root +DescribeKey +\S+ +success$/);
    // The alias record names its key, then its alias (as a request's CreateAlias does).
    assert.match(rows[1]!, /^\S+ +\(the server\) +CreateAlias +\S+ \+1 +success$/);
    assert.match(rows[2]!, /^\S+ +\(the server\) +CreateKey +\S+ +success$/);
  });
});

// Each case works on its own copy of the files and its own server: they can run side by side.
describe('coffer audit query of a seeded server', () => {
  it('shows a seed\'s records by their recorded names, KMS and admin alike, as --operation takes them', async () => {
    const t = await startTestServer({ seed: { principals: [{ user: 'seeded' }], keys: [{ keyId: '1234abcd-12ab-34cd-56ef-1234567890ab', material: Buffer.alloc(32, 7).toString('base64'), aliases: ['alias/seeded'] }] } });
    try {
      const run = against(t);
      const operations = ok(await run(['audit', 'query'])).stdout.trimEnd().split('\n').slice(1).map((l) => l.split(/ +/)[2]);
      assert.ok(operations.includes('CofferSeed.CreateUser'), operations.join(' '));
      assert.ok(operations.includes('CofferSeed.CreateKey'), operations.join(' '));
      assert.equal(operations.some((o) => o?.startsWith('CofferAdmin.CofferSeed')), false, operations.join(' '));
      const filtered = ok(await run(['audit', 'query', '--operation', 'CofferSeed.CreateUser'])).stdout.trimEnd().split('\n');
      assert.equal(filtered.length, 2, filtered.join('\n'));
    } finally {
      await t.dispose();
    }
  });
});

describe('coffer audit verify', { concurrency: 3 }, () => {
  let source: string;
  let records: number;
  before(async () => {
    const t = await startTestServer();
    source = t.dataDir;
    const key = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    for (let i = 0; i < 7; i++) await t.kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from(`p${i}`) }));
    const verified = ok(await against(t)(['audit', 'verify']));
    records = Number(/intact: (\d+) records checked/.exec(verified.stdout)?.[1]);
    assert.equal(records, 8);
    await t.stop();
    // The stopped server's last record is the VerifyAuditChain call itself.
    records += 1;
  });
  after(() => rmSync(source, { recursive: true, force: true }));

  /** A copy of the stopped server's data directory, changed through SQL on its file. */
  function tampered(tamper: (db: Database.Database) => void): string {
    const dir = tempDir();
    cpSync(source, dir, { recursive: true });
    const db = new Database(join(dir, 'coffer.db'));
    try {
      tamper(db);
    } finally {
      db.close();
    }
    return dir;
  }
  const recordJson = (db: Database.Database, seq: number) => JSON.parse((db.prepare('SELECT record FROM audit WHERE seq = ?').get(seq) as { record: string }).record);

  /** `coffer audit verify` both ways: offline on the directory, and through a server running on it. */
  async function verifyBothWays(dir: string): Promise<[Finished, Finished]> {
    // Offline first, so that the server's own records cannot hide what was done to the files.
    const offline = await coffer(['audit', 'verify', '--data-dir', dir], { env: cleanEnv() });
    const t = await startTestServer({ dataDir: dir });
    try {
      return [offline, await against(t)(['audit', 'verify'])];
    } finally {
      await t.stop();
    }
  }

  it('says an untouched chain is intact, both ways, with exit code 0', async () => {
    const [[offline, online], json] = await Promise.all([
      verifyBothWays(tampered(() => {})),
      coffer(['audit', 'verify', '--data-dir', tampered(() => {}), '--json'], { env: cleanEnv() }),
    ]);
    // The last record's seq and hash: what to keep elsewhere (docs/audit.md).
    const db = new Database(join(source, 'coffer.db'), { readonly: true });
    const lastHash = (() => {
      try {
        return String(recordJson(db, records).hash);
      } finally {
        db.close();
      }
    })();
    assert.equal(ok(offline).stdout, `the audit chain is intact: ${records} records checked\nlast record: ${records} ${lastHash}\n`);
    assert.match(ok(online).stdout, new RegExp(`^the audit chain is intact: ${records} records checked\nlast record: ${records} [0-9a-f]{64}\n$`));
    assert.deepEqual(JSON.parse(ok(json).stdout), { Valid: true, Records: records, LastHash: lastHash });
  });

  const cases: Array<[string, (db: Database.Database) => void, number, string]> = [
    ['an altered record', (db) => {
      db.prepare('UPDATE audit SET record = ? WHERE seq = 4').run(JSON.stringify({ ...recordJson(db, 4), sourceIp: '203.0.113.9' }));
    }, 4, 'record 4 was altered'],
    ['a deleted record', (db) => db.prepare('DELETE FROM audit WHERE seq = 6').run(), 6, 'record 6 is missing (record 7 follows record 5)'],
    ['the newest record deleted', (db) => db.prepare('DELETE FROM audit WHERE seq = (SELECT max(seq) FROM audit)').run(),
      -1, 'the chain ends at record N-1 but record N was written'],
    ['two records swapped', (db) => {
      const [a, b] = [recordJson(db, 2), recordJson(db, 3)];
      db.prepare('UPDATE audit SET record = ? WHERE seq = 2').run(JSON.stringify(b));
      db.prepare('UPDATE audit SET record = ? WHERE seq = 3').run(JSON.stringify(a));
    }, 2, 'record 2 was altered'],
    ['a record renumbered as the next', (db) => {
      db.prepare('UPDATE audit SET record = ? WHERE seq = 3').run(JSON.stringify({ ...recordJson(db, 3), seq: 4 }));
    }, 3, 'record 3 was altered'],
  ];
  for (const [what, tamper, seq, problem] of cases) {
    it(`fails on ${what} and names the record, offline and through the server`, async () => {
      const at = seq === -1 ? records : seq;
      const expected = problem.replace('N-1', String(records - 1)).replace('N', String(records));
      const [offline, online] = await verifyBothWays(tampered(tamper));
      for (const [how, finished] of [['offline', offline], ['through the server', online]] as const) {
        assert.equal(finished.code, 4, `${how}: ${finished.stderr}`);
        assert.equal(finished.stdout, '', how);
        assert.equal(finished.stderr.split('\n')[0], `error: the audit chain breaks at record ${at}: ${expected}`, how);
        assert.match(finished.stderr, /\nhint: /);
      }
    });
  }

  it('explains a directory that holds no Coffer data, with exit code 1', async () => {
    const empty = tempDir();
    const finished = await coffer(['audit', 'verify', '--data-dir', empty], { env: cleanEnv() });
    assert.equal(finished.code, 1, finished.stderr);
    assert.match(finished.stderr, /^error: .* holds no Coffer store \(no coffer\.db\).*\nhint: point --data-dir \(and --store, and the root-key options\) at what `coffer serve` uses$/m);
  });
});
