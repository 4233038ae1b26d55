import assert from 'node:assert/strict';
import { copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import pg from 'pg';
import { PostgresStore } from '../src/store/postgres.js';
import { admin } from './support/principals.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { startTestServer, tempDataDir, type TestServer } from './support/server.js';
import { startServerProcess, type ServerProcess } from './support/server-process.js';

/**
 * A node that stops in the middle of a transaction (SIGSTOP here; a paused VM or a lost network
 * in production) holds its locks until PostgreSQL ends its session. Every write on every node
 * waits for the audit head's row lock, so without a bound one frozen node stopped them all
 * (docs/store.md, "When another node freezes").
 */
describe('PostgreSQL: one frozen node does not stop the others', () => {
  let cluster: TestPostgres;
  let url: string;

  before(async () => {
    cluster = await startTestPostgres();
    url = await cluster.createDatabase();
  });
  after(async () => {
    await cluster?.destroy();
  });

  it('a node stopped while it holds the audit head: the other node\'s writes go through once PostgreSQL ends its idle transaction', async () => {
    const healthy: TestServer = await startTestServer({ store: url });
    const frozenDir = tempDataDir();
    copyFileSync(join(healthy.dataDir, 'root.key'), join(frozenDir, 'root.key'));
    const frozen: ServerProcess = await startServerProcess({ dataDir: frozenDir, store: url });
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    try {
      const keyId = (await healthy.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      // Stop the node under load until it is caught holding the audit head's lock, idle in its transaction.
      let caught = false;
      for (let attempt = 0; attempt < 200 && !caught; attempt++) {
        const burst = Array.from({ length: 32 }, () => frozen.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('load') })).catch(() => {}));
        await sleep(attempt % 7);
        frozen.child.kill('SIGSTOP');
        await sleep(50);
        const { rows } = await watcher.query<{ holders: number }>(`
          SELECT count(*)::int AS holders FROM pg_stat_activity a JOIN pg_locks l ON l.pid = a.pid
          WHERE a.application_name = 'coffer' AND a.state = 'idle in transaction' AND l.relation = 'audit_head'::regclass AND l.granted`);
        caught = rows[0]!.holders > 0;
        if (!caught) {
          frozen.child.kill('SIGCONT');
          await Promise.all(burst);
        }
      }
      assert.ok(caught, 'the node was never caught holding the audit head');

      // The healthy node's write waits for the lock, and gets it when PostgreSQL ends the frozen
      // node's transaction: well within the statement's own timeout, so it is not a 503.
      const sealed = await healthy.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('while the other is frozen') }));
      assert.ok(sealed.CiphertextBlob);
      frozen.child.kill('SIGCONT');

      // The frozen node finds its transaction gone, and serves again.
      let served = false;
      for (let attempt = 0; attempt < 20 && !served; attempt++) {
        served = await frozen.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('after') })).then(() => true, () => false);
        if (!served) await sleep(100);
      }
      assert.ok(served, `the node that was frozen does not serve again:\n${frozen.output().slice(-2000)}`);
      // And nothing it half wrote broke the chain.
      const verdict = await admin(healthy, 'VerifyAuditChain', {});
      assert.equal(verdict.Valid, true, JSON.stringify(verdict));
    } finally {
      frozen.child.kill('SIGCONT');
      await watcher.end();
      await frozen.stop();
      await healthy.dispose();
    }
  });

  it('serialize: a turn whose work runs longer than the idle limit keeps its lock, and the next waits for it', async () => {
    // An idle limit of 1 s, so that the work below outlasts it.
    const first = await PostgresStore.open({ connectionString: url, idleInTransactionMs: 1_000 });
    const second = await PostgresStore.open({ connectionString: url, idleInTransactionMs: 1_000 });
    try {
      const order: string[] = [];
      const held = first.serialize('grants', async () => {
        await sleep(2_500);
        order.push('first');
      });
      await sleep(200);
      await second.serialize('grants', async () => { order.push('second'); });
      await held;
      assert.deepEqual(order, ['first', 'second']);
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('serialize: a write that was waiting on a row lock when its turn\'s lock was lost does not commit', async () => {
    const store = await PostgresStore.open({ connectionString: url });
    const holder = new pg.Client({ connectionString: url });
    const watcher = new pg.Client({ connectionString: url });
    await holder.connect();
    await watcher.connect();
    try {
      const aliasName = 'alias/waited-on-a-row-lock';
      // Another session holds the alias's row (uncommitted): the turn's write waits on it.
      await holder.query('BEGIN');
      await holder.query('INSERT INTO aliases (alias_name, target_key_id, created_at, updated_at) VALUES ($1, $2, 0, 0)', [aliasName, 'x']);
      const write = store.serialize('aliases', () => store.createAlias({ aliasName, targetKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', createdAt: 0, updatedAt: 0 }));
      const waiting = async () => (await watcher.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO aliases%' AND pid <> $1", [0])).rows.length > 0;
      while (!(await waiting())) await sleep(20);
      // Meanwhile the turn's lock goes, as a frozen node's would; then the row is free.
      await watcher.query("SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted");
      while ((await watcher.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2")).rows.length > 0) await sleep(20);
      await holder.query('ROLLBACK');
      await assert.rejects(write, (error: Error) => error.name === 'StoreUnavailableError' && /lost its turn for aliases/.test(error.message));
      assert.equal(await store.getAlias(aliasName), undefined, 'the write did not commit');
    } finally {
      await holder.end();
      await watcher.end();
      await store.close();
    }
  });

  it('serialize: a node whose lock was taken from it (its session ended, as for a frozen node) writes nothing more in that turn', async () => {
    const store = await PostgresStore.open({ connectionString: url });
    const watcher = new pg.Client({ connectionString: url });
    await watcher.connect();
    try {
      const alias = { aliasName: 'alias/written-after-the-turn-was-lost', targetKeyId: '1234abcd-12ab-34cd-56ef-1234567890ab', createdAt: 0, updatedAt: 0 };
      const refused = store.serialize('aliases', async () => {
        // What PostgreSQL does to a frozen node's idle lock, done here at once.
        const { rows } = await watcher.query<{ ended: boolean }>(
          "SELECT pg_terminate_backend(pid) AS ended FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2 AND granted AND pid <> pg_backend_pid()");
        assert.equal(rows.length, 1, 'one session holds the turn');
        // Once the session is gone, its lock is too.
        while ((await watcher.query("SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 2")).rows.length > 0) await sleep(20);
        return store.createAlias(alias);
      });
      await assert.rejects(refused, (error: Error) => error.name === 'StoreUnavailableError' && /lost its turn for aliases/.test(error.message));
      assert.equal(await store.getAlias(alias.aliasName), undefined, 'nothing was written');
      // The next turn is a turn as usual.
      assert.equal(await store.serialize('aliases', async () => 'again'), 'again');
    } finally {
      await watcher.end();
      await store.close();
    }
  });
});
