import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, it } from 'node:test';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  acknowledged, assertAcknowledgedSurvived, assertStoreChecks, crashClient, crashSeed, seededRandom, startLoad, totalAcknowledged,
} from './support/crash-load.js';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { assertAuditedAcknowledged } from './support/audit-load.js';
import { startServerProcess } from './support/server-process.js';
import { tempDataDir } from './support/server.js';

/**
 * Durability of the PostgreSQL store under crashes, as crash-sqlite.test.ts for SQLite: a `coffer
 * serve` process under load is killed with SIGKILL at random (seeded) moments and restarted. In
 * one round the database server itself is crashed (`pg_ctl stop -m immediate`, no checkpoint)
 * and started again mid-load: while it is down every request fails with a retryable 503
 * DependencyTimeoutException and none is acknowledged falsely, and the node recovers by itself.
 * After each crash, every request answered with a 200 (the SDK workers' and those of a pre-signed
 * Encrypt flood over 32 keep-alive connections) has its audit record, and the chain verifies.
 */
const ROUNDS = 4;
const DATABASE_CRASH_ROUND = 2;
const WORKERS = 8;
/** Keep-alive connections of a pre-signed Encrypt flood beside the workers: audit records at a high rate. */
const FLOOD_CONNECTIONS = 32;
/** Answers a round gives at least before its kill (the kill moment is random past that). */
const ANSWERS_BEFORE_KILL = 600;
const seed = crashSeed(20261130);

let cluster: TestPostgres;
let url: string;
const dataDir = tempDataDir();
before(async () => {
  cluster = await startTestPostgres();
  url = await cluster.createDatabase();
});
after(async () => {
  await cluster?.destroy();
  rmSync(dataDir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

it(`PostgreSQL: ${ROUNDS} SIGKILLs and a database crash under load lose nothing acknowledged (seed ${seed})`, async () => {
  const random = seededRandom(seed);
  const ack = acknowledged();
  let outageRefusals = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const name = `round ${round} (seed ${seed})`;
    const server = await startServerProcess({ dataDir, store: url });
    const client = crashClient(server.endpoint, server.credentials);
    try {
      await assertAcknowledgedSurvived(client, ack, name);
      if (ack.keys.size === 0) ack.keys.add((await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!);
      const load = startLoad(client, ack, random, {
        workers: WORKERS, prefix: `crash-${round}`,
        flood: { endpoint: server.endpoint, credentials: server.credentials, connections: FLOOD_CONNECTIONS },
      });
      await sleep(200 + Math.floor(random() * 600));
      if (round === DATABASE_CRASH_ROUND) {
        await cluster.stopServer('immediate');
        await sleep(500);
        await cluster.startServer();
        // The node recovers by itself: acknowledged answers resume without a restart of Coffer.
        const resumedFrom = load.successes();
        const deadline = Date.now() + 15_000;
        while (load.successes() < resumedFrom + 20 && Date.now() < deadline) await sleep(20);
        assert.ok(load.successes() >= resumedFrom + 20, `${name}: the node did not recover after the database came back`);
        outageRefusals = load.answeredErrors.length;
      }
      await sleep(200 + Math.floor(random() * 800));
      // Mid-load, with many answers given and batches of audit records in flight.
      const deadline = Date.now() + 10_000;
      while (load.successes() < ANSWERS_BEFORE_KILL && Date.now() < deadline) await sleep(10);
      await server.kill();
      await load.stop();
      const wrong = load.answeredErrors.filter((e) => e.name !== 'DependencyTimeoutException' || e.status !== 503);
      assert.deepEqual(wrong, [], `${name}: answered errors other than 503 DependencyTimeoutException`);
      if (round !== DATABASE_CRASH_ROUND) assert.deepEqual(load.answeredErrors, [], `${name}: errors with the database up`);
      assert.ok(load.successes() > 0, `${name}: nothing was acknowledged`);
    } finally {
      client.destroy();
      await server.kill();
    }
    assertStoreChecks(['--data-dir', dataDir, '--store', url], name);
    await assertAuditedAcknowledged({ dataDir, store: url }, ack.requestIds, name);
  }
  assert.ok(outageRefusals > 0, 'no request was refused while the database was down: the outage was not exercised');
  const server = await startServerProcess({ dataDir, store: url });
  const client = crashClient(server.endpoint, server.credentials);
  try {
    await assertAcknowledgedSurvived(client, ack, 'after the last crash');
  } finally {
    client.destroy();
    await server.stop();
  }
  console.log(`crash-postgres: seed ${seed}, ${ROUNDS} kills and a database crash, ${outageRefusals} requests refused with 503 during the outage, `
    + `${totalAcknowledged(ack)} acknowledged answers checked (${ack.keys.size} keys, ${ack.aliases.size} aliases, `
    + `${ack.ciphertexts.length} ciphertexts, ${ack.dataKeys.length} data keys), ${ack.requestIds.length} answered requests found audited`);
});
