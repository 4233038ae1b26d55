import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { MetricsExposition } from '../observe/metrics.js';
import { withTimeout } from '../observe/with-timeout.js';

/** How long /readyz waits for the store before calling it unreachable. */
const READY_TIMEOUT_MS = 2_000;

export interface ProbeDependencies {
  /** This process's metrics (ServerMetrics), or what answers for every process serving the port. */
  readonly metrics: { exposition(): Promise<MetricsExposition> };
  /** Resolves to undefined when ready to serve, or to the reason it is not (never to a secret). */
  readonly readiness: () => Promise<string | undefined>;
  /** A reason not to be ready that is known at once (shutting down), read on every call, never shared. */
  readonly unready?: () => string | undefined;
}

const PATHS = new Set(['/metrics', '/healthz', '/readyz']);

/**
 * `GET /metrics` (Prometheus text format), `GET /healthz` (the process answers) and `GET /readyz`
 * (the store answers within a bound and the root key can be used: root-key-health.ts; 503 with
 * the reason otherwise).
 * Unauthenticated, as scrapers and orchestrators expect: they show counts, latencies and states,
 * never key material, key ids, principals or request contents.
 */
export function isProbeRequest(req: IncomingMessage): boolean {
  return (req.method === 'GET' || req.method === 'HEAD') && PATHS.has((req.url ?? '/').split('?')[0]!);
}

export function createProbeHandler(deps: ProbeDependencies) {
  // Encoded once per rendering: the scrapes sharing one send the same bytes.
  const exposition = sharedWhileRunning(async () => {
    const { contentType, text } = await deps.metrics.exposition();
    return { contentType, body: Buffer.from(text) };
  });
  // Shared too: a readiness check reads the store, and one that outlives its 2 s answer (a slow or
  // locked database) holds a pooled connection until the statement timeout. Unshared, a dozen
  // unauthenticated /readyz calls held every connection the node's requests needed.
  const readiness = sharedWhileRunning(deps.readiness);
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const path = (req.url ?? '/').split('?')[0];
    try {
      if (path === '/metrics') {
        const { contentType, body } = await exposition();
        return send(res, requestId, 200, contentType, body);
      }
      if (path === '/healthz') return send(res, requestId, 200, 'text/plain; charset=utf-8', 'ok\n');
      const reason = deps.unready?.() ?? await withTimeout(readiness(), READY_TIMEOUT_MS, 'the store did not answer in time');
      if (reason === undefined) return send(res, requestId, 200, 'text/plain; charset=utf-8', 'ready\n');
      return send(res, requestId, 503, 'text/plain; charset=utf-8', `not ready: ${reason}\n`);
    } catch {
      // A failed scrape or readiness check says only that it failed: details could name the store's address.
      return send(res, requestId, 503, 'text/plain; charset=utf-8', path === '/readyz' ? 'not ready: the store is unreachable\n' : 'unavailable\n');
    }
  };
}

/**
 * `make`, with the calls that arrive while one runs given that one's result. A scrape renders
 * every series (~1,100, and counts the store's keys) in milliseconds of the event loop's time, and
 * /metrics needs no credentials: a client pipelining hundreds of scrapes made one rendering each,
 * back to back, and held every other client's request for tens of seconds. Sharing keeps what a
 * scrape shows current (nothing is reused once it is answered) while a flood of them costs about
 * one rendering per turn of the event loop.
 */
function sharedWhileRunning<T>(make: () => Promise<T>): () => Promise<T> {
  let running: Promise<T> | undefined;
  return () => {
    if (running) return running;
    const made = running = make();
    const forget = () => { if (running === made) running = undefined; };
    made.then(forget, forget);
    return made;
  };
}

function send(res: ServerResponse, requestId: string, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    'x-amzn-RequestId': requestId,
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
