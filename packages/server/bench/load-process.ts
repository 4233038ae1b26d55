import autocannon from 'autocannon';
import type { LoadOrder, LoadResult } from './load.js';

/**
 * The load generator in a process of its own (forked by load.ts), so that the process under test
 * and the one measuring it never share an event loop: it runs one autocannon run per order it is
 * sent and answers with the result. Keep-alive connections, one request in flight per connection.
 */
async function run(order: LoadOrder): Promise<LoadResult> {
  const result = await autocannon({
    url: order.endpoint,
    method: 'POST',
    headers: order.request.headers,
    body: order.request.body,
    connections: order.connections,
    pipelining: 1,
    duration: order.seconds,
    timeout: 30,
  });
  return {
    requests: result.requests.total,
    durationSeconds: result.duration,
    requestsPerSecond: result.requests.total / result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    latencyP999Ms: (result.latency as unknown as Record<string, number>).p99_9 ?? result.latency.max,
    latencyMaxMs: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

process.on('message', (order: LoadOrder) => {
  run(order).then(
    (result) => process.send!({ ok: true, result }),
    (error: unknown) => process.send!({ ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
process.on('disconnect', () => process.exit(0));
