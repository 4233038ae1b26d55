import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { after, describe, it } from 'node:test';
import { CreateKeyCommand, EncryptCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { admin } from './support/principals.js';
import { startTestServer, type TestServer } from './support/server.js';

/**
 * The SQLite store syncs its write-ahead log through a descriptor of its own (store/sqlite.ts).
 * A process out of descriptors (EMFILE: clients holding every connection it may open) cannot open
 * one; this file's process makes opening the WAL fail so, as such clients would. (Each test file
 * runs in a process of its own.)
 */
const refused = { sync: 0, async: 0 };
const outOfDescriptors = (path: fs.PathLike) => Object.assign(new Error(`EMFILE: too many open files, open '${String(path)}'`), { code: 'EMFILE', syscall: 'open' });
const isWal = (path: fs.PathLike) => String(path).endsWith('-wal');
const realOpen = fs.open;
const realOpenSync = fs.openSync;
fs.open = ((path: fs.PathLike, ...rest: unknown[]) => {
  const callback = rest.at(-1) as (error: NodeJS.ErrnoException | null, fd?: number) => void;
  if (!isWal(path) || refused.async === 0) return (realOpen as (...args: unknown[]) => void)(path, ...rest);
  refused.async -= 1;
  process.nextTick(callback, outOfDescriptors(path));
}) as typeof fs.open;
fs.openSync = ((path: fs.PathLike, ...rest: unknown[]) => {
  if (!isWal(path) || refused.sync === 0) return (realOpenSync as (...args: unknown[]) => number)(path, ...rest);
  refused.sync -= 1;
  throw outOfDescriptors(path);
}) as typeof fs.openSync;
syncBuiltinESMExports();

describe('the SQLite store\'s WAL descriptor when the process is out of descriptors', () => {
  let t: TestServer | undefined;
  after(async () => {
    refused.sync = 0;
    refused.async = 0;
    await t?.dispose();
  });

  const serves = async (server: TestServer) => {
    const keyId = (await server.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    // Requests that change nothing: their audit records go through the batch the WAL sync answers.
    await server.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('x') }));
    await server.kms.send(new ListKeysCommand({}));
    assert.equal((await fetch(`${server.server.endpoint}/readyz`)).status, 200);
    const records = await admin(server, 'QueryAuditRecords', { Operation: 'Encrypt' }) as { Records: unknown[] };
    assert.equal(records.Records.length, 1, 'the request is recorded once');
  };

  it('needs no descriptor to answer once started: the WAL\'s is opened with the store', async () => {
    t = await startTestServer();
    refused.async = Number.MAX_SAFE_INTEGER;
    await serves(t);
    refused.async = 0;
    await t.dispose();
    t = undefined;
  });

  it('waits for a descriptor to open the WAL\'s, and takes that for no failed sync: the store goes on taking writes', async () => {
    refused.sync = 1;
    t = await startTestServer();
    assert.equal(refused.sync, 0, 'the store tried to open the WAL\'s descriptor when it opened');
    refused.async = 3;
    await serves(t);
    assert.equal(refused.async, 0, 'the first batch found no descriptor three times');
  });
});
