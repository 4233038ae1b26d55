/**
 * A PostgreSQL store whose database stops answering without closing anything (a frozen host, a
 * network partition): statements on connections the pool already holds fail as unavailable within
 * the query timeout instead of waiting for TCP, and close() returns. The partition is a TCP relay
 * between the store and a real PostgreSQL that stops relaying.
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { StoreUnavailableError } from '../src/store/store.js';
import { PostgresStore } from '../src/store/postgres.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';

/** A relay to `port` that can stop relaying, both ways, while keeping every connection open. */
async function relay(port: number): Promise<{ port: number; freeze(): void; close(): Promise<void> }> {
  let frozen = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('data', (chunk) => { if (!frozen) upstream.write(chunk); });
    upstream.on('data', (chunk) => { if (!frozen) client.write(chunk); });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    port: (server.address() as { port: number }).port,
    freeze: () => { frozen = true; },
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}

describe('PostgreSQL store: a database that stops answering', () => {
  let cluster: TestPostgres;
  before(async () => { cluster = await startTestPostgres(); });
  after(() => cluster.destroy());

  // Without the query timeout the statement waits for TCP, for hours: the time limit makes that a failure.
  it('fails statements as unavailable within the query timeout, and closes', { timeout: 60_000 }, async () => {
    const url = new URL(await cluster.createDatabase());
    const partition = await relay(Number(url.port));
    url.port = String(partition.port);
    const store = await PostgresStore.open({ connectionString: url.toString(), queryTimeoutMs: 1_000 });
    try {
      assert.equal(await store.getKey('00000000-0000-4000-8000-000000000000'), undefined);
      partition.freeze();
      const started = Date.now();
      await assert.rejects(store.getKey('00000000-0000-4000-8000-000000000000'), StoreUnavailableError);
      await assert.rejects(store.listKeys({ limit: 10 }), StoreUnavailableError);
      assert.ok(Date.now() - started < 15_000, `failed after ${Date.now() - started} ms, not at TCP's pace`);
    } finally {
      const closing = Date.now();
      await store.close();
      assert.ok(Date.now() - closing < 15_000, 'close() returned');
      await partition.close();
    }
  });
});
