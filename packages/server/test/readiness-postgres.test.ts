import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import pg from 'pg';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

/** /readyz follows the store: a node whose database is gone leaves the load balancer's pool, and comes back with it. */
describe('/readyz with PostgreSQL', () => {
  let cluster: TestPostgres;
  let t: TestServer;

  let url: string;

  before(async () => {
    cluster = await startTestPostgres();
    url = await cluster.createDatabase();
    t = await startTestServer({ store: url });
  });
  after(async () => {
    await t.dispose();
    await cluster.destroy();
  });

  const probe = async (path: string) => {
    const res = await fetch(`${t.server.endpoint}${path}`);
    return { status: res.status, text: await res.text() };
  };

  it('is ready while the database answers, 503 with the reason while it is down, ready again after', async () => {
    await t.kms.send(new CreateKeyCommand({}));
    assert.deepEqual(await probe('/readyz'), { status: 200, text: 'ready\n' });
    await cluster.stopServer('fast');
    const down = await probe('/readyz');
    assert.equal(down.status, 503);
    assert.match(down.text, /^not ready: the store (is unreachable|did not answer in time)\n$/);
    assert.equal(down.text.includes('postgres://'), false, 'the reason never shows the connection string');
    // The process itself is alive: liveness stays green, so an orchestrator does not restart it for its database.
    assert.deepEqual(await probe('/healthz'), { status: 200, text: 'ok\n' });
    // /metrics still answers, without the keys it cannot count: the request counters are what show the outage.
    const scraped = await probe('/metrics');
    assert.equal(scraped.status, 200, scraped.text);
    assert.match(scraped.text, /^coffer_requests_total\{operation="CreateKey",outcome="success"\} 1$/m);
    assert.doesNotMatch(scraped.text, /^coffer_keys\{/m);
    // STS GetCallerIdentity answers in STS's terms what a KMS request gets (DependencyTimeoutException):
    // a retryable 503. Before, an opaque 500 InternalFailure.
    const sts = new STSClient({ endpoint: t.server.endpoint, region: 'us-east-1', credentials: t.credentials, maxAttempts: 1 });
    try {
      const error = await errorOf(() => sts.send(new GetCallerIdentityCommand({})));
      assert.equal(error.name, 'ServiceUnavailable');
      assert.equal(error.$metadata?.httpStatusCode, 503);
      assert.match(error.message, /^The key store is unavailable; retry the request\. Request id: [0-9a-f-]{36}$/);
    } finally {
      sts.destroy();
    }
    await cluster.startServer();
    let ready = await probe('/readyz');
    for (let i = 0; i < 50 && ready.status !== 200; i++) {
      await new Promise((done) => setTimeout(done, 100));
      ready = await probe('/readyz');
    }
    assert.deepEqual(ready, { status: 200, text: 'ready\n' });
    const metrics = await (await fetch(`${t.server.endpoint}/metrics`)).text();
    assert.match(metrics, /^coffer_keys\{state="Enabled"\} 1$/m);
  });

  it('answers a write to a database that only reads now (a standby after a failover) 503 DependencyTimeoutException, and writes again after', async () => {
    const database = new URL(url).pathname.slice(1);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    // The node's sessions end, so the new ones it opens take the setting.
    const restartSessions = () => admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [database]);
    try {
      await admin.query(`ALTER DATABASE "${database}" SET default_transaction_read_only = on`);
      await restartSessions();
      for (let i = 0; i < 3; i++) {
        const error = await errorOf(() => t.kms.send(new CreateKeyCommand({})));
        // Before, once connected again: 500 KMSInternalException, as if the server had failed.
        assert.equal(error.name, 'DependencyTimeoutException', `${error.name}: ${error.message}`);
        assert.equal(error.$metadata?.httpStatusCode, 503);
      }
      await admin.query(`ALTER DATABASE "${database}" RESET default_transaction_read_only`);
      await restartSessions();
      // The refusal, or undefined once CreateKey succeeds (errorOf throws on a success).
      const refusal = () => errorOf(() => t.kms.send(new CreateKeyCommand({}))).catch(() => undefined);
      let refused = await refusal();
      for (let i = 0; i < 20 && refused !== undefined; i++) {
        await new Promise((done) => setTimeout(done, 100));
        refused = await refusal();
      }
      assert.equal(refused, undefined, 'CreateKey succeeds once the database takes writes again');
    } finally {
      await admin.query(`ALTER DATABASE "${database}" RESET default_transaction_read_only`).catch(() => {});
      await admin.end();
    }
  });
});
