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
 * one; this file's process makes opening the WAL fail so, as such clients would, once the store is
 * open (each test file runs in a process of its own). The store opens its descriptor when it opens
 * and never again (a -wal gone from its path stops writes: store-sqlite-files.test.ts).
 */
const refused = { async: 0 };
const outOfDescriptors = (path: fs.PathLike) => Object.assign(new Error(`EMFILE: too many open files, open '${String(path)}'`), { code: 'EMFILE', syscall: 'open' });
const isWal = (path: fs.PathLike) => String(path).endsWith('-wal');
const realOpen = fs.open;
fs.open = ((path: fs.PathLike, ...rest: unknown[]) => {
  const callback = rest.at(-1) as (error: NodeJS.ErrnoException | null, fd?: number) => void;
  if (!isWal(path) || refused.async === 0) return (realOpen as (...args: unknown[]) => void)(path, ...rest);
  refused.async -= 1;
  process.nextTick(callback, outOfDescriptors(path));
}) as typeof fs.open;
syncBuiltinESMExports();

describe('the SQLite store\'s WAL descriptor when the process is out of descriptors', () => {
  let t: TestServer | undefined;
  after(async () => {
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
});
