import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';
import { startTestPostgres, type TestPostgres } from './support/postgres.js';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

/** /readyz follows the store: a node whose database is gone leaves the load balancer's pool, and comes back with it. */
describe('/readyz with PostgreSQL', () => {
  let cluster: TestPostgres;
  let t: TestServer;

  before(async () => {
    cluster = await startTestPostgres();
    t = await startTestServer({ store: await cluster.createDatabase() });
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
});
