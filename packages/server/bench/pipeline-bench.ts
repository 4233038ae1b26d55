import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { jsonLogger } from '../src/log.js';
import { benchArgs } from './bench-args.js';
import { readCredentials, type SignedRequest } from './signed-request.js';
import { createFixtures, parseWorkloads, signWorkload, WORKLOADS } from './workloads.js';

/**
 * The server's own work per request, without HTTP and without a load generator: the request
 * handler `startServer` gives node:http, called in-process with the requests' exact headers and
 * bodies, 64 at a time. Everything else is as served — SigV4, policies, the operation, the audit
 * record group-committed to SQLite with its fsync, the log line (made, then dropped) — so the CPU
 * time per request is what the pipeline costs. `npm run bench:server` measures through node:http
 * with autocannon on the same two vCPUs; there the load generator's thread shares the core's
 * execution units with the server and every figure comes out about twice this one, which makes it
 * the steadier figure for comparing two versions of the pipeline.
 * `npm run bench:pipeline [-- --workloads encrypt,decrypt --requests 20000 --concurrency 64]`;
 * `node --cpu-prof packages/server/dist/bench/pipeline-bench.js` profiles it.
 */
const args = benchArgs('npm run bench:pipeline --', 'The request pipeline in-process, without HTTP (docs/performance.md).', {
  workloads: { type: 'string', default: Object.keys(WORKLOADS).join(','), help: 'which requests' },
  requests: { type: 'string', default: '20000', help: 'requests per workload' },
  concurrency: { type: 'string', default: '64', help: 'requests in flight at once' },
});
const REQUESTS = Number(args.requests);
const CONCURRENCY = Number(args.concurrency);

// Captures the handler startServer passes to http.createServer; the server still listens as usual.
const http = createRequire(import.meta.url)('node:http') as typeof import('node:http');
const realCreateServer = http.createServer;
let handler: RequestListener | undefined;
http.createServer = ((...params: unknown[]) => {
  handler = params.find((p): p is RequestListener => typeof p === 'function');
  return (realCreateServer as (...p: unknown[]) => ReturnType<typeof realCreateServer>)(...params);
}) as typeof http.createServer;
syncBuiltinESMExports();
const { startServer } = await import('../src/server.js');

const dataDir = mkdtempSync(join(tmpdir(), 'coffer-pipeline-bench-'));
// Every line is made as the server makes it; the request lines (level info) are then dropped.
const log = jsonLogger((line) => { if (!line.includes('"level":"info"')) process.stderr.write(line); });
const server = await startServer({ dataDir, port: 0, quotas: false, logger: log });
if (!handler) throw new Error('startServer did not create an HTTP server');
const serve = handler;

/** One request through the handler, with a request and a response that carry only what it reads and calls. */
function once(request: SignedRequest, headers: Record<string, string>, socket: StandInSocket): Promise<void> {
  return new Promise((done, fail) => {
    const req = Object.assign(new Readable({ read() {} }), {
      headers, method: 'POST', url: '/', socket, complete: false,
      // node:http builds this on first read, per request: so here too.
      get headersDistinct() { return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]])); },
    });
    req.once('end', () => { req.complete = true; });
    req.push(request.body);
    req.push(null);
    let status = 0;
    // 'close' is emitted after the answer, as node:http does: the server keeps each unanswered
    // response in a set until then (server.ts, for draining at shutdown). A response that never
    // closed stayed in that set, so every request's objects were kept and the heap grew through
    // the run (87 MiB live after 80,000 requests), its collections counted in the pipeline's CPU.
    const onClose: (() => void)[] = [];
    const res = {
      // The request it answers, as node:http sets it (server.ts reads its socket when it closes).
      req,
      headersSent: false,
      setHeader() {},
      on(event: string, listener: () => void) { if (event === 'close') onClose.push(listener); },
      once(event: string, listener: () => void) { if (event === 'close') onClose.push(listener); },
      writeHead(code: number) { status = code; this.headersSent = true; },
      end(body: string) {
        for (const listener of onClose.splice(0)) listener.call(res);
        if (status === 200) done(); else fail(new Error(`HTTP ${status}: ${body}`));
      },
      destroy() { fail(new Error('the handler destroyed the response')); },
    };
    void serve(req as unknown as IncomingMessage, res as unknown as ServerResponse);
  });
}

/**
 * A keep-alive connection, one per request in flight, as under the load generator. It never
 * closes (server.ts listens for that once per connection). One per request, as this bench first
 * had it, filled the server's set of idle connections with connections that never closed: a
 * request's socket goes there when it is answered and leaves when it closes or is reused.
 */
interface StandInSocket { remoteAddress: string; destroyed: boolean; once(): void }
const standInSocket = (): StandInSocket => ({ remoteAddress: '127.0.0.1', destroyed: false, once() {} });

async function run(request: SignedRequest, count: number): Promise<void> {
  const headers: Record<string, string> = { 'content-length': String(Buffer.byteLength(request.body)) };
  for (const [name, value] of Object.entries(request.headers)) headers[name.toLowerCase()] = value;
  let started = 0;
  await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
    const socket = standInSocket();
    while (started++ < count) await once(request, headers, socket);
  }));
}

try {
  const credentials = readCredentials(server.credentialsFile);
  const fixtures = await createFixtures(server.endpoint, credentials);
  console.log(`Coffer pipeline bench: ${REQUESTS} requests per workload, ${CONCURRENCY} at a time, in-process (no HTTP), SQLite`);
  for (const workload of parseWorkloads(args.workloads)) {
    const request = await signWorkload(server.endpoint, credentials, workload, fixtures);
    await run(request, Math.min(3000, REQUESTS));
    const cpu = process.cpuUsage();
    const started = performance.now();
    await run(request, REQUESTS);
    const used = process.cpuUsage(cpu);
    const wallUs = (performance.now() - started) * 1000;
    console.log(`${workload.padEnd(18)} ${((used.user + used.system) / REQUESTS).toFixed(1).padStart(6)} µs CPU/req (user ${(used.user / REQUESTS).toFixed(1)}, system ${(used.system / REQUESTS).toFixed(1)}), ${(wallUs / REQUESTS).toFixed(1)} µs wall/req`);
  }
} finally {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
}
