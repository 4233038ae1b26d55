import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, DescribeKeyCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import { admin } from './support/principals.js';
import { errorOf, startTestServer, tempDataDir } from './support/server.js';

/**
 * A sync of the SQLite store's write-ahead log that fails (EIO from a failing disk). The store
 * syncs its WAL with fs.fdatasync on libuv's pool (store/sqlite.ts); this file's process makes
 * that call fail once, as a disk would. (Each test file runs in a process of its own.)
 */
let failNextSync = false;
const realFdatasync = fs.fdatasync;
fs.fdatasync = ((fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => {
  if (!failNextSync) return realFdatasync(fd, callback);
  failNextSync = false;
  process.nextTick(callback, Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO', syscall: 'fdatasync' }));
}) as typeof fs.fdatasync;
syncBuiltinESMExports();

/**
 * SQLite syncs a change's commit itself (synchronous = FULL), and a failed fsync there comes back
 * from the COMMIT statement as SQLITE_IOERR_FSYNC. This file's process makes the next COMMIT fail so,
 * in better-sqlite3's Statement (the store's transactions commit through a prepared COMMIT).
 */
let failNextCommit = false;
const statementPrototype = (() => {
  const probe = new Database(':memory:');
  try {
    return Object.getPrototypeOf(probe.prepare('SELECT 1')) as { run: (...args: unknown[]) => unknown; source: string };
  } finally {
    probe.close();
  }
})();
const realRun = statementPrototype.run;
statementPrototype.run = function run(this: { source: string }, ...args: unknown[]) {
  if (failNextCommit && this.source === 'COMMIT') {
    failNextCommit = false;
    throw new Database.SqliteError('disk I/O error', 'SQLITE_IOERR_FSYNC');
  }
  return realRun.apply(this, args);
};

describe('a failed sync of the SQLite store\'s write-ahead log', () => {
  const dataDir = tempDataDir();
  let stop = async () => {};
  // Stopped whatever the test's outcome: a server left listening would keep the test's process alive.
  after(async () => {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('fails its requests and every write after them, takes the server out of /readyz, and records no request twice; a restart serves again', async () => {
    let t = await startTestServer({ dataDir });
    stop = () => t.stop();
    const keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const before = (await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('before') }))).CiphertextBlob!;

    failNextSync = true;
    const failed = await errorOf(() => t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })));
    assert.equal(failed.name, 'KMSInternalException');
    // Before, the next batch was answered durable after a sync that proved nothing.
    const next = await errorOf(() => t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('y') })));
    assert.equal(next.name, 'KMSInternalException', 'no answer is given as durable after a failed sync');
    assert.equal((await errorOf(() => t.kms.send(new CreateKeyCommand({})))).name, 'KMSInternalException', 'no change is made either');
    const ready = await fetch(`${t.server.endpoint}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(await ready.text(), 'not ready: a sync of the store\'s write-ahead log failed (EIO): nothing more is written until the server restarts on a sound disk\n');
    assert.equal((await fetch(`${t.server.endpoint}/healthz`)).status, 200, 'the process itself is alive');

    await t.stop();
    // Stopped as a crash would leave it: closing the connection would have checkpointed the WAL into
    // the database (copying pages the disk may have lost) and deleted it. The next start's recovery
    // reads the WAL from the disk instead, keeping only frames whose checksums hold.
    assert.equal(fs.existsSync(join(dataDir, 'coffer.db-wal')), true, 'the WAL is left for recovery');
    t = await t.restart();
    stop = () => t.stop();
    assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: before }))).Plaintext!).toString(), 'before');
    assert.equal((await fetch(`${t.server.endpoint}/readyz`)).status, 200);
    assert.equal((await admin(t, 'VerifyAuditChain', {})).Valid, true);
    await t.stop();
    stop = async () => {};
    // Each request at most once in the trail: the failed batch's requests were not recorded again as failures.
    const db = new Database(join(dataDir, 'coffer.db'), { readonly: true });
    try {
      const ids = (db.prepare('SELECT record FROM audit').all() as { record: string }[]).map((r) => (JSON.parse(r.record) as { requestId: string }).requestId);
      assert.equal(new Set(ids).size, ids.length, 'no request id recorded twice');
    } finally {
      db.close();
    }
  });
});

describe('a failed fsync inside a change\'s commit (SQLite\'s own sync)', () => {
  const dataDir = tempDataDir();
  let stop = async () => {};
  after(async () => {
    await stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('fails the change and every write after it, takes the server out of /readyz; a restart serves again without the change', async () => {
    let t = await startTestServer({ dataDir });
    stop = () => t.stop();
    const keyId = (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const before = (await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('before') }))).CiphertextBlob!;

    failNextCommit = true;
    const failed = await errorOf(() => t.kms.send(new CreateKeyCommand({ Description: 'never made' })));
    assert.equal(failed.name, 'KMSInternalException');
    assert.equal(failNextCommit, false, 'the change reached its commit');
    // Before, the store went on: the next commit could succeed and prove nothing of the one that failed.
    assert.equal((await errorOf(() => t.kms.send(new CreateKeyCommand({})))).name, 'KMSInternalException', 'no change after it');
    assert.equal((await errorOf(() => t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') })))).name, 'KMSInternalException', 'no audit record after it');
    const ready = await fetch(`${t.server.endpoint}/readyz`);
    assert.equal(ready.status, 503);
    assert.equal(await ready.text(), 'not ready: SQLite\'s sync of the store\'s files failed (SQLITE_IOERR_FSYNC): nothing more is written until the server restarts on a sound disk\n');

    await t.stop();
    t = await t.restart();
    stop = () => t.stop();
    assert.equal((await fetch(`${t.server.endpoint}/readyz`)).status, 200);
    assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: before }))).Plaintext!).toString(), 'before');
    const keys = (await t.kms.send(new ListKeysCommand({}))).Keys!.map((k) => k.KeyId!);
    for (const id of keys) {
      const described = (await t.kms.send(new DescribeKeyCommand({ KeyId: id }))).KeyMetadata!;
      assert.notEqual(described.Description, 'never made', 'the failed change is not in the store');
    }
    assert.equal((await admin(t, 'VerifyAuditChain', {})).Valid, true);
    await t.kms.send(new CreateKeyCommand({}));
  });
});
