import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import type { Logger } from '../src/log.js';
import { checkStore, verifyAuditTrail } from '../src/index.js';
import { StartupError } from '../src/root/root-key.js';
import { admin } from './support/principals.js';
import { errorOf, startTestServer, tempDataDir, type TestServer } from './support/server.js';

/**
 * A SQLite server whose data directory is removed or moved while it serves (docs/store.md, "When
 * the store's files are removed, moved or replaced"). SQLite writes on into the files it holds
 * open, so before, every change and every audit record was answered 200 into files that the next
 * start does not read: CreateKey said committed, and the key was gone after a restart.
 */
describe('a server whose SQLite files are taken away while it serves', () => {
  const dirs: string[] = [];
  // Every server started, stopped in `after` whatever the tests' outcome (stopping twice is harmless).
  const servers: TestServer[] = [];
  after(async () => {
    for (const t of servers) await t.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  const logger: Logger = (level, msg, fields) => { lines.push({ level, msg, fields: fields ?? {} }); };
  const start = async (dataDir: string): Promise<TestServer> => {
    const t = await startTestServer({ dataDir, logger });
    servers.push(t);
    return t;
  };
  const probe = async (t: TestServer, path: string) => {
    const res = await fetch(`${t.server.endpoint}${path}`);
    return { status: res.status, text: await res.text() };
  };
  const REFUSED = /^The key store takes no writes until the server is restarted: the request was not carried out\. Request id: ([0-9a-f-]{36})$/;
  /** The write that finds the files gone was committed into them: its caller is not told it was not. */
  const OUTCOME_UNKNOWN = /^The key store takes no writes until the server is restarted: this request may have been carried out, so check its effect before retrying\. Request id: ([0-9a-f-]{36})$/;

  it('refuses every change and audited request once the data directory is removed: 500 KMSInternalException, /readyz 503 with the reason, each refusal logged', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const t = await start(dataDir);
    const keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('before') }));

    rmSync(dataDir, { recursive: true });
    const refusedIds: string[] = [];
    for (const [request, message] of [
      [() => t.kms.send(new CreateKeyCommand({})), OUTCOME_UNKNOWN],
      [() => t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('after') })), REFUSED],
    ] as const) {
      const error = await errorOf(request);
      assert.equal(error.name, 'KMSInternalException');
      assert.equal(error.$metadata?.httpStatusCode, 500);
      const id = message.exec(error.message)?.[1];
      assert.ok(id, error.message);
      refusedIds.push(id);
    }
    // The STS endpoint answers in its own protocol, with the same message.
    const sts = new STSClient({ endpoint: t.server.endpoint, region: 'us-east-1', credentials: t.credentials, maxAttempts: 1 });
    try {
      const error = await errorOf(() => sts.send(new GetCallerIdentityCommand({})));
      assert.equal(error.name, 'InternalFailure');
      assert.equal(error.$metadata?.httpStatusCode, 500);
      refusedIds.push(REFUSED.exec(error.message)?.[1] ?? assert.fail(error.message));
    } finally {
      sts.destroy();
    }

    const reason = 'the store\'s file coffer.db is gone from its directory (removed, or moved with it): nothing more is written until the server restarts';
    assert.deepEqual(await probe(t, '/readyz'), { status: 503, text: `not ready: ${reason}\n` });
    assert.deepEqual(await probe(t, '/healthz'), { status: 200, text: 'ok\n' }, 'the process itself is alive');
    for (const requestId of refusedIds) {
      const logged = lines.filter((line) => line.fields.requestId === requestId && line.level === 'error');
      assert.deepEqual(logged.map((line) => [line.msg, line.fields.error]), [['store unusable', reason]], `one error line for ${requestId}`);
    }
  });

  it('refuses writes while the data directory is moved away, still once it is back, and after a restart serves everything answered before', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir, `${dataDir}-moved`);
    let t = await start(dataDir);
    const keyId = (await t.kms.send(new CreateKeyCommand({ Description: 'before the move' }))).KeyMetadata!.KeyId!;
    const blob = (await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('kept') }))).CiphertextBlob!;

    renameSync(dataDir, `${dataDir}-moved`);
    // An audited request that changes nothing: its record goes through the WAL sync, after which the files are checked.
    const moved = await errorOf(() => t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })));
    assert.match(moved.message, OUTCOME_UNKNOWN);
    renameSync(`${dataDir}-moved`, dataDir);
    const back = await errorOf(() => t.kms.send(new CreateKeyCommand({})));
    assert.match(back.message, REFUSED, 'the files are back, but what they hold of the meantime is not known: no write until the restart');
    assert.equal((await probe(t, '/readyz')).status, 503);

    t = await t.restart();
    servers.push(t);
    assert.deepEqual(await probe(t, '/readyz'), { status: 200, text: 'ready\n' });
    assert.equal((await t.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!.Description, 'before the move');
    assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'kept');
    assert.equal((await admin(t, 'VerifyAuditChain', {})).Valid, true);
  });

  it('does not start on a data directory that lost coffer.db: no new empty store, the -wal, root.key and credentials left as they were', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir);
    const t = await start(dataDir);
    await t.kms.send(new CreateKeyCommand({ Description: 'in the lost store' }));
    rmSync(join(dataDir, 'coffer.db'));
    await t.stop();
    const before = Object.fromEntries(['coffer.db-wal', 'root.key', 'credentials'].map((f) => [f, readFileSync(join(dataDir, f))]));
    await assert.rejects(startTestServer({ dataDir, logger }), (e: unknown) => e instanceof StartupError
      && e.message.startsWith(`${join(dataDir, 'coffer.db')} is missing, but ${dataDir} holds coffer.db-wal, coffer.db-shm, root.key, credentials: a store was made here`));
    assert.equal(existsSync(join(dataDir, 'coffer.db')), false, 'no new store was made');
    for (const [file, bytes] of Object.entries(before)) assert.ok(readFileSync(join(dataDir, file)).equals(bytes), `${file} is as it was`);
    // An empty coffer.db (a copy back that failed) is no store either.
    writeFileSync(join(dataDir, 'coffer.db'), '');
    await assert.rejects(startTestServer({ dataDir, logger }), (e: unknown) => e instanceof StartupError && /coffer\.db is empty, but .* a store was made here/.test(e.message));
    for (const [file, bytes] of Object.entries(before)) assert.ok(readFileSync(join(dataDir, file)).equals(bytes), `${file} is as it was`);
    // The tools that only read refuse it too: before, SQLite opening the empty file deleted the -wal (the whole store).
    await assert.rejects(checkStore({ dataDir }), (e: unknown) => e instanceof StartupError && /coffer\.db is empty, but .* a store was made here/.test(e.message));
    await assert.rejects(verifyAuditTrail(dataDir), (e: unknown) => e instanceof StartupError && /coffer\.db is empty, but .* a store was made here/.test(e.message));
    for (const [file, bytes] of Object.entries(before)) assert.ok(readFileSync(join(dataDir, file)).equals(bytes), `${file} is as it was after the tools`);
  });

  it('does not start on a coffer.db that holds no table beside root.key and credentials: a young store\'s -wal lost, or only coffer.db copied', async () => {
    const dataDir = tempDataDir();
    const copy = tempDataDir();
    dirs.push(dataDir, copy);
    const t = await start(dataDir);
    await t.kms.send(new CreateKeyCommand({ Description: 'in the -wal only' }));
    // A young store keeps everything in its -wal until SQLite's first checkpoint: coffer.db is its first page.
    assert.ok(statSync(join(dataDir, 'coffer.db')).size <= 4096, 'coffer.db is still only the header');
    for (const file of ['coffer.db', 'root.key', 'credentials']) copyFileSync(join(dataDir, file), join(copy, file));
    const credentials = readFileSync(join(copy, 'credentials'));
    // A start that wrongly succeeds is stopped in `after`, not left to hold the test process open.
    await assert.rejects(start(copy), (e: unknown) => e instanceof StartupError
      && e.message.startsWith(`${join(copy, 'coffer.db')} holds no Coffer store (no table: its -wal`)
      && e.message.includes(`but ${copy} holds root.key, credentials: a store was made here`));
    assert.ok(readFileSync(join(copy, 'credentials')).equals(credentials), 'no new credentials over the old ones');
    // The tools that read a store say so too, and make no tables there (a start after them would take those for the store).
    const noStore = (e: unknown) => e instanceof StartupError && e.message.startsWith(`${copy} holds no Coffer store (${join(copy, 'coffer.db')} has no table`);
    await assert.rejects(checkStore({ dataDir: copy }), noStore);
    await assert.rejects(verifyAuditTrail(copy), noStore);
    await assert.rejects(start(copy), (e: unknown) => e instanceof StartupError && e.message.includes('holds no Coffer store (no table'));
    await t.stop();
  });

  it('/readyz reports a data directory moved away while no write comes, and the next write is refused as not carried out', async () => {
    const dataDir = tempDataDir();
    dirs.push(dataDir, `${dataDir}-moved`);
    const t = await start(dataDir);
    assert.deepEqual(await probe(t, '/readyz'), { status: 200, text: 'ready\n' });
    renameSync(dataDir, `${dataDir}-moved`);
    const probed = await probe(t, '/readyz');
    assert.equal(probed.status, 503);
    assert.match(probed.text, /^not ready: the store's file coffer\.db is gone from its directory/);
    const refused = await errorOf(() => t.kms.send(new CreateKeyCommand({})));
    assert.match(refused.message, REFUSED);
  });
});
