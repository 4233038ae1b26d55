import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, it } from 'node:test';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import {
  acknowledged, assertAcknowledgedSurvived, assertStoreChecks, crashClient, crashSeed, seededRandom, startLoad, totalAcknowledged,
} from './support/crash-load.js';
import { assertAuditedAcknowledged } from './support/audit-load.js';
import { startServerProcess } from './support/server-process.js';
import { tempDataDir } from './support/server.js';

/**
 * Durability of the SQLite store under crashes: a `coffer serve` process under a concurrent load
 * of CreateKey, CreateAlias, Encrypt and GenerateDataKey is killed with SIGKILL at a random
 * (seeded) moment, several times, and restarted on the same data directory. After each crash the
 * store passes `coffer store check` (the audit chain verifies), every request answered with a 200
 * (by x-amzn-RequestId: the SDK workers' and those of a pre-signed Encrypt flood over 32 keep-alive
 * connections, the rate at which audit records are group-committed) has its audit record, and after
 * each restart everything the server acknowledged is there and every ciphertext and data key it
 * returned decrypts to what it returned.
 */
const ROUNDS = 4;
const WORKERS = 8;
/** Keep-alive connections of a pre-signed Encrypt flood beside the workers: audit records at a high rate. */
const FLOOD_CONNECTIONS = 32;
/** Answers a round gives at least before its kill (the kill moment is random past that). */
const ANSWERS_BEFORE_KILL = 600;
const seed = crashSeed(20261129);

const dataDir = tempDataDir();
after(() => rmSync(dataDir, { recursive: true, force: true }));

it(`SQLite: ${ROUNDS} SIGKILLs under load lose nothing acknowledged (seed ${seed}; COFFER_CRASH_SEED replays)`, async () => {
  const random = seededRandom(seed);
  const ack = acknowledged();
  for (let round = 1; round <= ROUNDS; round++) {
    const name = `round ${round} (seed ${seed})`;
    const server = await startServerProcess({ dataDir });
    const client = crashClient(server.endpoint, server.credentials);
    try {
      await assertAcknowledgedSurvived(client, ack, name);
      if (ack.keys.size === 0) ack.keys.add((await client.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!);
      const load = startLoad(client, ack, random, {
        workers: WORKERS, prefix: `crash-${round}`,
        flood: { endpoint: server.endpoint, credentials: server.credentials, connections: FLOOD_CONNECTIONS },
      });
      const killAfter = 300 + Math.floor(random() * 1200);
      await new Promise((done) => setTimeout(done, killAfter));
      // Mid-load, with many answers given and batches of audit records in flight.
      const deadline = Date.now() + 10_000;
      while (load.successes() < ANSWERS_BEFORE_KILL && Date.now() < deadline) await new Promise((done) => setTimeout(done, 10));
      await server.kill();
      await load.stop();
      assert.deepEqual(load.answeredErrors, [], `${name}: the server answered errors under load`);
      assert.ok(load.successes() > 0, `${name}: nothing was acknowledged in ${killAfter} ms`);
    } finally {
      client.destroy();
      await server.kill();
    }
    assertStoreChecks(['--data-dir', dataDir], name);
    await assertAuditedAcknowledged({ dataDir }, ack.requestIds, name);
  }
  const server = await startServerProcess({ dataDir });
  const client = crashClient(server.endpoint, server.credentials);
  try {
    await assertAcknowledgedSurvived(client, ack, 'after the last crash');
  } finally {
    client.destroy();
    await server.stop();
  }
  console.log(`crash-sqlite: seed ${seed}, ${ROUNDS} kills, ${totalAcknowledged(ack)} acknowledged answers checked `
    + `(${ack.keys.size} keys, ${ack.aliases.size} aliases, ${ack.ciphertexts.length} ciphertexts, ${ack.dataKeys.length} data keys), `
    + `${ack.requestIds.length} answered requests found audited`);
});
