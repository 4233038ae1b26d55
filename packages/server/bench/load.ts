import autocannon from 'autocannon';
import type { SignedRequest } from './signed-request.js';

export interface LoadResult {
  readonly requests: number;
  readonly durationSeconds: number;
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly timeouts: number;
}

/**
 * Sends the same signed request over `connections` keep-alive connections for `seconds`, one
 * request in flight per connection (autocannon, in this process).
 */
export async function runLoad(endpoint: string, request: SignedRequest, connections: number, seconds: number): Promise<LoadResult> {
  const result = await autocannon({
    url: endpoint,
    method: 'POST',
    headers: request.headers,
    body: request.body,
    connections,
    pipelining: 1,
    duration: seconds,
    timeout: 30,
  });
  return {
    requests: result.requests.total,
    durationSeconds: result.duration,
    requestsPerSecond: result.requests.total / result.duration,
    latencyP50Ms: result.latency.p50,
    latencyP99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}
