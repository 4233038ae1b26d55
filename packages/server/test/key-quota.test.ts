/**
 * AWS's quota of 100,000 KMS keys per account and Region. Making 100,000 keys would take the
 * suite minutes, so the store's count is offset: the server sees itself a few keys short of the
 * quota, and a burst of CreateKey must stop exactly at it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, mock } from 'node:test';
import { CreateKeyCommand, ListKeysCommand } from '@aws-sdk/client-kms';
import { MAX_KEYS } from '../src/operations/create-key.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

describe('CreateKey: the quota of keys per account and Region', () => {
  let t: TestServer;
  let offset = 0;
  before(async () => {
    const count = SqliteStore.prototype.countKeys;
    mock.method(SqliteStore.prototype, 'countKeys', async function counted(this: SqliteStore) {
      return (await count.call(this)) + offset;
    });
    t = await startTestServer();
  });
  after(async () => {
    await t.dispose();
    mock.restoreAll();
  });

  it('a burst at the quota makes exactly the keys left, and refuses the rest with LimitExceededException in AWS\'s words', async () => {
    const existing = (await t.kms.send(new ListKeysCommand({}))).Keys!.length;
    offset = MAX_KEYS - 3 - existing;
    const answers = await Promise.all(Array.from({ length: 10 }, () => t.kms.send(new CreateKeyCommand({})).then(() => undefined, (error: unknown) => error)));
    assert.equal(answers.filter((a) => a === undefined).length, 3);
    for (const refused of answers.filter((a) => a !== undefined)) {
      assert.equal((refused as Error).name, 'LimitExceededException');
      assert.equal((refused as Error).message, `Keys per account quota for this account in this region is ${MAX_KEYS}, current usage is ${MAX_KEYS}.`);
    }
    assert.equal((await t.kms.send(new ListKeysCommand({}))).Keys!.length, existing + 3);
    offset = 0;
    await t.kms.send(new CreateKeyCommand({}));
    assert.equal((await errorOf(async () => { offset = MAX_KEYS; await t.kms.send(new CreateKeyCommand({})); })).name, 'LimitExceededException');
  });
});
