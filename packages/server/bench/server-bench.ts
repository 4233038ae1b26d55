import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestPostgres, type TestPostgres } from '../test/support/postgres.js';
import { benchArgs } from './bench-args.js';
import { BenchServer, type Usage } from './bench-server.js';
import { runLoad, type LoadResult } from './load.js';
import { formatSummary, summarizeProfile } from './profile-summary.js';
import { readCredentials, type Credentials, type SignedRequest } from './signed-request.js';
import { createFixtures, parseWorkloads, signWorkload, WORKLOADS, type Fixtures, type Workload } from './workloads.js';
import { WorkersServer } from './workers-server.js';

/**
 * The server's throughput, latency and cost per request, against the ceiling of a bare node:http
 * server measured in the same run. Every server is a process of its own on a fresh data directory;
 * the load generator (autocannon) is another process; requests are real KMS requests, SigV4-signed
 * by the AWS SDK's signer (pre-signed, re-signed for every run), with access control and the audit
 * trail on. See docs/performance.md.
 *
 * `npm run bench:server [-- --duration 15 --warmup 3 --workloads encrypt,decrypt,generate-data-key,generate-random,sign
 *   --stores sqlite,postgres --connections 16,64 --workers 2 --json FILE --soak SECONDS --cpu-prof DIR]`
 */
const args = benchArgs('npm run bench:server --', 'The server against a bare node:http ceiling, under autocannon (docs/performance.md).', {
  duration: { type: 'string', default: '15', help: 'seconds measured per run' },
  warmup: { type: 'string', default: '3', help: 'seconds of the same load before each run' },
  workloads: { type: 'string', default: Object.keys(WORKLOADS).join(','), help: 'which requests' },
  stores: { type: 'string', default: 'sqlite,postgres', help: 'which stores' },
  connections: { type: 'string', default: '16,64', help: 'keep-alive connections, one request in flight on each' },
  json: { type: 'string', help: 'where the figures go (default bench-results/server-bench.json)' },
  soak: { type: 'string', help: 'instead: Encrypt for this many seconds, RSS sampled every 5 s' },
  'cpu-prof': { type: 'string', help: 'profile each workload\'s server into this directory' },
  workers: { type: 'string', default: '2', help: 'also measure coffer serve --workers N on PostgreSQL (1: not)' },
});
const DURATION = Number(args.duration);
const WARMUP = Number(args.warmup);
const WORKLOAD_LIST = parseWorkloads(args.workloads);
const STORES = args.stores.split(',').filter(Boolean).map((s): 'sqlite' | 'postgres' => {
  if (s !== 'sqlite' && s !== 'postgres') throw new Error(`--stores takes sqlite and postgres, not '${s}'`);
  return s;
});
const CONNECTIONS = args.connections.split(',').map(Number);
const SOAK_SECONDS = args.soak === undefined ? undefined : Number(args.soak);
const PROFILE_DIR = args['cpu-prof'] === undefined ? undefined : resolve(args['cpu-prof']);
/** `coffer serve --workers N` on PostgreSQL is measured too when N > 1 (not under --cpu-prof). */
const WORKERS = Number(args.workers);
if (!Number.isInteger(WORKERS) || WORKERS < 1) throw new Error(`--workers takes a number of processes, not '${args.workers}'`);
/** A SigV4 signature is accepted for 5 minutes: a warm-up and a run must fit well inside. */
const SIGNATURE_BUDGET_SECONDS = 4 * 60;
if (WARMUP + DURATION > SIGNATURE_BUDGET_SECONDS) throw new Error('--warmup plus --duration must stay under 4 minutes: the requests are pre-signed');

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const JSON_FILE = resolve(args.json ?? join(REPO, 'bench-results', 'server-bench.json'));

export interface Row extends LoadResult {
  /** `ceiling`, or the store the Coffer server ran on (`postgres --workers 2`: several processes). */
  readonly server: string;
  readonly workload: Workload | 'bare';
  readonly connections: number;
  /** The server process's CPU time (user + system) per request answered, µs. */
  readonly cpuPerRequestUs: number;
  /** The server's resident set size at the end of the run, MiB. */
  readonly rssMiB: number;
  /** Audit records the run wrote (the ceiling writes none). */
  readonly auditRecords: number;
  /**
   * The share of the run the server's event loop was busy: near 1, the server's one thread is the
   * bound and CPU per request decides requests/s; well below, it waits (on the audit batch's sync,
   * or on the load generator). Absent for `--workers`, whose processes do not report it.
   */
  readonly eventLoopBusy?: number;
  /** Requests/s over the ceiling's at the same concurrency. */
  readonly throughputRatio?: number;
  /** CPU µs per request over the ceiling's. */
  readonly cpuRatio?: number;
}

const failures = (r: LoadResult) => r.non2xx + r.errors + r.timeouts;

/** A server under load: one process (BenchServer) or `coffer serve --workers` (WorkersServer). */
type ServerUnderTest = Pick<BenchServer, 'endpoint' | 'credentialsFile' | 'usage' | 'stop'>;

/** A warm-up, then a measured run between two readings of the server's own accounting. */
async function measure(server: ServerUnderTest, request: Pick<SignedRequest, 'headers' | 'body'>, connections: number, label: string): Promise<{ load: LoadResult; before: Usage; after: Usage }> {
  if (WARMUP > 0) {
    const warm = await runLoad(server.endpoint, request, connections, WARMUP);
    if (failures(warm) > 0) throw new Error(`${label}: the warm-up had ${warm.non2xx} non-2xx, ${warm.errors} errors, ${warm.timeouts} timeouts`);
  }
  const before = await server.usage();
  const load = await runLoad(server.endpoint, request, connections, DURATION);
  const after = await server.usage();
  return { load, before, after };
}

function row(server: Row['server'], workload: Row['workload'], connections: number, m: Awaited<ReturnType<typeof measure>>): Row {
  const busyMs = m.after.eluActiveMs - m.before.eluActiveMs;
  const loopMs = busyMs + m.after.eluIdleMs - m.before.eluIdleMs;
  return {
    server, workload, connections, ...m.load,
    cpuPerRequestUs: (m.after.cpuUs - m.before.cpuUs) / Math.max(m.load.requests, 1),
    rssMiB: m.after.rssBytes / 2 ** 20,
    auditRecords: m.after.auditSeq - m.before.auditSeq,
    ...(loopMs > 0 ? { eventLoopBusy: busyMs / loopMs } : {}),
  };
}

function progress(r: Row): void {
  process.stderr.write(`${r.server} ${r.workload} c=${r.connections}: ${r.requestsPerSecond.toFixed(0)} req/s, `
    + `${r.cpuPerRequestUs.toFixed(0)} µs CPU/req, p99 ${r.latencyP99Ms} ms, ${failures(r)} failed\n`);
}

/** The ceiling: a bare node:http server under the same load, the same request bytes in. */
async function measureCeiling(request: Pick<SignedRequest, 'headers' | 'body'>): Promise<Row[]> {
  const server = await BenchServer.start('bare');
  try {
    const rows: Row[] = [];
    for (const connections of CONNECTIONS) {
      const r = row('ceiling', 'bare', connections, await measure(server, request, connections, `ceiling c=${connections}`));
      progress(r);
      rows.push(r);
    }
    return rows;
  } finally {
    await server.stop();
  }
}

interface Target {
  readonly server: ServerUnderTest;
  readonly credentials: Credentials;
  readonly fixtures: Fixtures;
}

async function startTarget(store: string | undefined, profileName?: string, workers = 1): Promise<Target> {
  const server = workers > 1 ? await WorkersServer.start(store!, workers) : await BenchServer.start('access-and-audit', {
    ...(store ? { store } : {}),
    ...(profileName && PROFILE_DIR ? { cpuProfile: { dir: PROFILE_DIR, name: profileName } } : {}),
  });
  const credentials = readCredentials(server.credentialsFile);
  return { server, credentials, fixtures: await createFixtures(server.endpoint, credentials) };
}

/** Every workload at every concurrency on one store; with --cpu-prof, a profiled server per workload. */
async function measureStore(store: 'sqlite' | 'postgres', cluster: TestPostgres | undefined, workers = 1): Promise<{ rows: Row[]; profiles: string[] }> {
  const name = workers > 1 ? `${store} --workers ${workers}` : store;
  const database = async (suffix: string) => (cluster ? cluster.createDatabase(`bench_${workers > 1 ? `w${workers}_` : ''}${suffix}`.replace(/-/g, '_')) : undefined);
  const rows: Row[] = [];
  const profiles: string[] = [];
  let shared: Target | undefined;
  try {
    for (const workload of WORKLOAD_LIST) {
      const profileName = PROFILE_DIR ? `server-${name}-${workload}.cpuprofile` : undefined;
      const target = profileName ? await startTarget(await database(workload), profileName) : (shared ??= await startTarget(await database('all'), undefined, workers));
      let served = 0;
      try {
        for (const connections of CONNECTIONS) {
          const label = `${name} ${workload} c=${connections}`;
          const request = await signWorkload(target.server.endpoint, target.credentials, workload, target.fixtures);
          const m = await measure(target.server, request, connections, label);
          const r = row(name, workload, connections, m);
          progress(r);
          // Every answered request leaves its audit record: a run that wrote fewer is not a valid run.
          if (r.auditRecords < r.requests) throw new Error(`${label}: ${r.requests} requests but ${r.auditRecords} audit records`);
          // With a server of its own, every record it holds is a request it served.
          served = m.after.auditSeq;
          rows.push(r);
        }
      } finally {
        if (profileName) {
          // The profile is written as the process exits.
          await target.server.stop();
          const file = join(PROFILE_DIR!, profileName);
          profiles.push(formatSummary(`${name} ${workload}, ${served} requests (all concurrencies, warm-ups included): ${file}`, summarizeProfile(file, served, 20), 20));
        }
      }
    }
  } finally {
    await shared?.server.stop();
  }
  return { rows, profiles };
}

const fixed = (n: number, digits = 0) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function table(rows: readonly Row[]): string {
  const head = ['server', 'workload', 'conns', 'req/s', 'x ceiling', 'p50 ms', 'p99 ms', 'p99.9 ms', 'errors', 'CPU µs/req', 'x ceiling', 'loop busy', 'RSS MiB'];
  const cells = rows.map((r) => [
    r.server, r.workload, String(r.connections), fixed(r.requestsPerSecond),
    r.throughputRatio === undefined ? '' : fixed(r.throughputRatio, 2), fixed(r.latencyP50Ms, 1), fixed(r.latencyP99Ms, 1),
    fixed(r.latencyP999Ms, 1), String(failures(r)), fixed(r.cpuPerRequestUs), r.cpuRatio === undefined ? '' : fixed(r.cpuRatio, 2),
    r.eventLoopBusy === undefined ? '' : `${fixed(r.eventLoopBusy * 100)} %`, fixed(r.rssMiB),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: readonly string[]) => c.map((v, i) => (i < 2 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

/**
 * The flat-memory check: Encrypt under load at the highest concurrency for `seconds`, the server's
 * RSS sampled every 5 s; a least-squares slope over the samples, and the first and last minutes'
 * averages. Requests are re-signed every 2 minutes, well inside a signature's 5 minutes.
 */
async function soak(seconds: number, store: string | undefined) {
  const target = await startTarget(store);
  const connections = Math.max(...CONNECTIONS);
  const samples: { t: number; rssMiB: number }[] = [];
  const started = Date.now();
  const sample = async () => samples.push({ t: (Date.now() - started) / 1000, rssMiB: (await target.server.usage()).rssBytes / 2 ** 20 });
  let requests = 0;
  let failed = 0;
  const timer = setInterval(() => void sample(), 5_000);
  try {
    await sample();
    while (Date.now() - started < seconds * 1000) {
      const chunk = Math.min(120, Math.ceil(seconds - (Date.now() - started) / 1000));
      const request = await signWorkload(target.server.endpoint, target.credentials, 'encrypt', target.fixtures);
      const load = await runLoad(target.server.endpoint, request, connections, chunk);
      requests += load.requests;
      failed += failures(load);
      process.stderr.write(`soak: ${fixed((Date.now() - started) / 1000)} s, ${fixed(load.requestsPerSecond)} req/s, RSS ${fixed(samples.at(-1)!.rssMiB, 1)} MiB\n`);
    }
  } finally {
    clearInterval(timer);
    await target.server.stop();
  }
  // The first minute (a quarter of a short run) fills caches and grows the heap to its working
  // size: the trend is taken after it.
  const warm = Math.min(60, seconds / 4);
  const steady = samples.filter((p) => p.t >= warm);
  const n = steady.length;
  const meanT = steady.reduce((s, p) => s + p.t, 0) / n;
  const meanR = steady.reduce((s, p) => s + p.rssMiB, 0) / n;
  const slope = steady.reduce((s, p) => s + (p.t - meanT) * (p.rssMiB - meanR), 0) / steady.reduce((s, p) => s + (p.t - meanT) ** 2, 0);
  const window = Math.min(60, seconds / 4);
  const average = (from: number, to: number) => {
    const inside = samples.filter((p) => p.t >= from && p.t <= to);
    return inside.reduce((s, p) => s + p.rssMiB, 0) / Math.max(inside.length, 1);
  };
  const last = samples.at(-1)!.t;
  return {
    seconds, connections, requests, failed, samples,
    slopeMiBPerMinute: slope * 60,
    warmupSeconds: warm,
    firstWindowMiB: average(warm, warm + window),
    lastWindowMiB: average(last - window, last),
    windowSeconds: window,
  };
}

async function main(): Promise<void> {
  if (PROFILE_DIR) mkdirSync(PROFILE_DIR, { recursive: true });
  mkdirSync(dirname(JSON_FILE), { recursive: true });
  const loadBefore = loadavg();
  const started = new Date();
  let cluster: TestPostgres | undefined;
  const rows: Row[] = [];
  const profiles: string[] = [];
  let soaked: Awaited<ReturnType<typeof soak>> | undefined;
  try {
    if (SOAK_SECONDS !== undefined) {
      soaked = await soak(SOAK_SECONDS, undefined);
    } else {
      // The ceiling gets the Encrypt request's exact bytes: same headers, same body size.
      const probe = await startTarget(undefined);
      const encrypt = await signWorkload(probe.server.endpoint, probe.credentials, 'encrypt', probe.fixtures);
      await probe.server.stop();
      const ceiling = await measureCeiling(encrypt);
      rows.push(...ceiling);
      // --workers needs PostgreSQL (SQLite is served by one process), and profiles are per process.
      const runs = STORES.map((store) => ({ store, workers: 1 }));
      if (WORKERS > 1 && STORES.includes('postgres') && !PROFILE_DIR) runs.push({ store: 'postgres', workers: WORKERS });
      for (const { store, workers } of runs) {
        if (store === 'postgres') cluster ??= await startTestPostgres();
        const measured = await measureStore(store, store === 'postgres' ? cluster : undefined, workers);
        profiles.push(...measured.profiles);
        for (const r of measured.rows) {
          const base = ceiling.find((c) => c.connections === r.connections)!;
          rows.push({ ...r, throughputRatio: r.requestsPerSecond / base.requestsPerSecond, cpuRatio: r.cpuPerRequestUs / base.cpuPerRequestUs });
        }
      }
    }
  } finally {
    await cluster?.destroy();
  }

  const machine = { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadavg() };
  const settings = { durationSeconds: DURATION, warmupSeconds: WARMUP, workloads: WORKLOAD_LIST, stores: STORES, connections: CONNECTIONS, workers: WORKERS, cpuProfile: PROFILE_DIR !== undefined };
  const out = process.stdout;
  if (rows.length > 0) {
    out.write(`\nCoffer server bench, ${started.toISOString()}: ${DURATION} s per run after ${WARMUP} s warm-up, keep-alive, one request in flight per connection\n`);
    out.write(`${table(rows)}\n`);
    out.write(`machine: ${machine.cpus} CPUs (${machine.cpuModel}), Node ${machine.node}, load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, after ${machine.loadavgAfter.map((l) => l.toFixed(2)).join(' ')}\n`);
    if (PROFILE_DIR) out.write('note: the servers ran under --cpu-prof; the profiler adds to their CPU time\n');
  }
  for (const p of profiles) out.write(`\n${p}\n`);
  if (soaked) {
    out.write(`\nsoak: Encrypt c=${soaked.connections} for ${soaked.seconds} s, ${soaked.requests} requests, ${soaked.failed} failed, ${soaked.samples.length} RSS samples\n`
      + `  RSS slope after ${soaked.warmupSeconds} s of warm-up ${soaked.slopeMiBPerMinute.toFixed(3)} MiB/min (least squares); `
      + `average of the first ${soaked.windowSeconds} s after warm-up ${soaked.firstWindowMiB.toFixed(1)} MiB, `
      + `of the last ${soaked.windowSeconds} s ${soaked.lastWindowMiB.toFixed(1)} MiB\n`);
  }
  writeFileSync(JSON_FILE, `${JSON.stringify({ benchmark: 'server', time: started.toISOString(), machine, settings, rows, ...(soaked ? { soak: soaked } : {}) }, null, 2)}\n`);
  out.write(`\nwritten: ${JSON_FILE}\n`);
  const failed = rows.reduce((n, r) => n + failures(r), 0) + (soaked?.failed ?? 0);
  if (failed > 0) {
    process.stderr.write(`${failed} requests failed (non-2xx, errors or timeouts): the numbers above are not valid\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
