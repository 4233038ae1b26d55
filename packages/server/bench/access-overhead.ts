import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchArgs } from './bench-args.js';
import { BenchServer, type Usage } from './bench-server.js';
import { runLoad, type LoadResult } from './load.js';
import { formatSummary, summarizeProfile, type ProfileSummary } from './profile-summary.js';
import type { ServerMode as AnyMode } from './server-process.js';
import { readCredentials, send, signKmsRequest, type Credentials } from './signed-request.js';

/**
 * What access control and the audit trail cost on the Encrypt hot path: the real server against
 * the same pipeline without them (SigV4 on in both), each in its own process, under the same
 * pre-signed Encrypt of 1 KiB over keep-alive connections. Reports throughput, latency and the
 * server's own CPU time per request, then profiles both servers under load to show where the
 * difference goes. `npm run bench:access [-- --seconds 10 --warmup 2 --connections 16,64 --rounds 1 --no-profile]`
 */
const args = benchArgs('npm run bench:access --', 'What access control and the audit trail cost on the Encrypt hot path.', {
  seconds: { type: 'string', default: '10', help: 'seconds measured per run' },
  warmup: { type: 'string', default: '2', help: 'seconds of load before each run' },
  connections: { type: 'string', default: '16,64', help: 'keep-alive connections' },
  rounds: { type: 'string', default: '1', help: 'rounds of every run' },
  'profile-connections': { type: 'string', default: '64', help: 'connections of the profiled runs' },
  'no-profile': { type: 'boolean', default: false, help: 'skip the profiled runs' },
});
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const CONNECTIONS = args.connections.split(',').map(Number);
const PROFILE_CONNECTIONS = Number(args['profile-connections']);
/** Every run is repeated this often and the best (highest throughput) kept: others share the machine. */
const ROUNDS = Number(args.rounds);
const PLAINTEXT_BYTES = 1024;
/** A SigV4 signature is accepted for 5 minutes; one warm-up and run must fit well inside. */
const SIGNATURE_BUDGET_MS = 4 * 60_000;

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const RESULTS = join(REPO, 'bench-results');

/** The two servers this bench compares. */
type ServerMode = Exclude<AnyMode, 'bare'>;

const LABEL: Record<ServerMode, string> = { 'access-and-audit': 'A policies+audit', open: 'B without' };

interface Run extends LoadResult {
  readonly server: ServerMode;
  readonly connections: number;
  /** The server process's CPU time per request, µs. */
  readonly cpuPerRequestUs: number;
  /** Share of the run the server's event loop was busy. */
  readonly eventLoopBusy: number;
  /** Audit records the run wrote: one per request from A, none from B. */
  readonly auditRecords: number;
}

interface Target {
  readonly server: BenchServer;
  readonly credentials: Credentials;
  readonly keyId: string;
  served: number;
}

async function prepare(server: BenchServer): Promise<Target> {
  const credentials = readCredentials(server.credentialsFile);
  const created = await send(server.endpoint, await signKmsRequest(server.endpoint, credentials, 'CreateKey', { Description: 'access-overhead bench' }));
  const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
  return { server, credentials, keyId, served: 1 };
}

/** A warm-up, then a measured run between two readings of the server's accounting. */
async function measure(target: Target, connections: number, seconds: number): Promise<Run> {
  if (WARMUP + seconds > SIGNATURE_BUDGET_MS / 1000) throw new Error('a run this long would outlive its SigV4 signature');
  const { server } = target;
  const plaintext = randomBytes(PLAINTEXT_BYTES).toString('base64');
  const request = await signKmsRequest(server.endpoint, target.credentials, 'Encrypt', { KeyId: target.keyId, Plaintext: plaintext });
  await send(server.endpoint, request);
  const warm = WARMUP > 0 ? await runLoad(server.endpoint, request, connections, WARMUP) : undefined;
  const before = await server.usage();
  const load = await runLoad(server.endpoint, request, connections, seconds);
  const after = await server.usage();
  target.served += 1 + (warm?.requests ?? 0) + load.requests;
  if (warm && warm.non2xx + warm.errors > 0) throw new Error(`warm-up of ${server.mode} had ${warm.non2xx} non-2xx and ${warm.errors} errors`);
  const run = { server: server.mode as ServerMode, connections, ...load, ...accounting(before, after, load.requests) };
  // The baseline must really be without audit; the real server must not have skipped any record.
  if (server.mode === 'open' && run.auditRecords !== 0) throw new Error(`the server without audit wrote ${run.auditRecords} audit records`);
  if (server.mode === 'access-and-audit' && run.auditRecords < run.requests) throw new Error(`${run.requests} requests but ${run.auditRecords} audit records`);
  return run;
}

function accounting(before: Usage, after: Usage, requests: number) {
  const active = after.eluActiveMs - before.eluActiveMs;
  const idle = after.eluIdleMs - before.eluIdleMs;
  return {
    cpuPerRequestUs: (after.cpuUs - before.cpuUs) / requests,
    eventLoopBusy: active / (active + idle),
    auditRecords: after.auditSeq - before.auditSeq,
  };
}

/** Per server and concurrency, the run with the highest throughput: the one least disturbed. */
function bestRuns(runs: readonly Run[]): Run[] {
  const best = new Map<string, Run>();
  for (const run of runs) {
    const key = `${run.connections} ${run.server}`;
    const kept = best.get(key);
    if (!kept || run.requestsPerSecond > kept.requestsPerSecond) best.set(key, run);
  }
  return CONNECTIONS.flatMap((c) => (['access-and-audit', 'open'] as const).map((mode) => best.get(`${c} ${mode}`)!));
}

function ratios(runs: readonly Run[]) {
  return CONNECTIONS.map((connections) => {
    const a = runs.find((r) => r.connections === connections && r.server === 'access-and-audit')!;
    const b = runs.find((r) => r.connections === connections && r.server === 'open')!;
    return {
      connections,
      throughput: a.requestsPerSecond / b.requestsPerSecond,
      cpuPerRequest: a.cpuPerRequestUs / b.cpuPerRequestUs,
      cpuPerRequestAddedUs: a.cpuPerRequestUs - b.cpuPerRequestUs,
      latencyP50: a.latencyP50Ms / b.latencyP50Ms,
      latencyP99: a.latencyP99Ms / b.latencyP99Ms,
    };
  });
}

function table(runs: readonly Run[], ratioRows: ReturnType<typeof ratios>): string {
  const head = ['server', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'CPU µs/req', 'loop busy', 'audit recs'];
  const rows = runs.map((r) => [
    LABEL[r.server], String(r.connections), r.requestsPerSecond.toFixed(0), r.latencyP50Ms.toFixed(1), r.latencyP99Ms.toFixed(1),
    String(r.non2xx + r.errors + r.timeouts), r.cpuPerRequestUs.toFixed(0), `${(r.eventLoopBusy * 100).toFixed(0)}%`,
    String(r.auditRecords),
  ]);
  for (const q of ratioRows) {
    rows.push(['A/B', String(q.connections), `x${q.throughput.toFixed(2)}`, `x${q.latencyP50.toFixed(2)}`, `x${q.latencyP99.toFixed(2)}`, '', `x${q.cpuPerRequest.toFixed(2)} (+${q.cpuPerRequestAddedUs.toFixed(0)})`, '', '']);
  }
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: readonly string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** Both servers again, each under --cpu-prof, at one concurrency; self time per request served. */
async function profile(): Promise<Record<ServerMode, ProfileSummary & { file: string; requests: number }>> {
  const out = {} as Record<ServerMode, ProfileSummary & { file: string; requests: number }>;
  for (const mode of ['access-and-audit', 'open'] as const) {
    const name = `access-overhead-${mode}.cpuprofile`;
    const server = await BenchServer.start(mode, { cpuProfile: { dir: RESULTS, name } });
    let served: number;
    try {
      const target = await prepare(server);
      await measure(target, PROFILE_CONNECTIONS, SECONDS);
      served = target.served;
    } finally {
      // The profile is written as the process exits.
      await server.stop();
    }
    const file = join(RESULTS, name);
    out[mode] = { file, requests: served, ...summarizeProfile(file, served) };
  }
  return out;
}

/** Where A's extra main-thread time per request goes: the files whose self time grew most. */
function profileDifference(profiles: Awaited<ReturnType<typeof profile>>) {
  const perRequest = (summary: ProfileSummary) => new Map(summary.byFile.map((e) => [e.name, e.perRequestUs ?? 0]));
  const a = perRequest(profiles['access-and-audit']);
  const b = perRequest(profiles.open);
  return [...new Set([...a.keys(), ...b.keys()])]
    .map((file) => ({ file, addedUsPerRequest: (a.get(file) ?? 0) - (b.get(file) ?? 0) }))
    .sort((x, y) => y.addedUsPerRequest - x.addedUsPerRequest);
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const loadBefore = loadavg();
  const servers = await Promise.all((['access-and-audit', 'open'] as const).map((mode) => BenchServer.start(mode)));
  const runs: Run[] = [];
  try {
    const targets = await Promise.all(servers.map(prepare));
    let turn = 0;
    for (let round = 0; round < ROUNDS; round++) {
      for (const connections of CONNECTIONS) {
        // Alternating which server goes first spreads any drift in the machine's load over both.
        for (const target of turn++ % 2 === 0 ? targets : [...targets].reverse()) {
          const run = await measure(target, connections, SECONDS);
          process.stderr.write(`${LABEL[run.server]} c=${connections}: ${run.requestsPerSecond.toFixed(0)} req/s, ${run.cpuPerRequestUs.toFixed(0)} µs CPU/req\n`);
          runs.push(run);
        }
      }
    }
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
  const best = bestRuns(runs);
  const ratioRows = ratios(best);
  const title = `Encrypt of ${PLAINTEXT_BYTES} B, one pre-signed request over keep-alive connections; ${SECONDS} s per run after ${WARMUP} s warm-up`
    + (ROUNDS > 1 ? `; best of ${ROUNDS} rounds` : '');
  process.stdout.write(`\n${title}\n${table(best, ratioRows)}\n`);

  const profiles = args['no-profile'] ? undefined : await profile();
  const difference = profiles && profileDifference(profiles);
  if (profiles && difference) {
    for (const mode of ['access-and-audit', 'open'] as const) {
      process.stdout.write(`\n${formatSummary(`${LABEL[mode]}, c=${PROFILE_CONNECTIONS}, ${profiles[mode].requests} requests: ${profiles[mode].file}`, profiles[mode], 12)}\n`);
    }
    process.stdout.write(`\nA minus B, main-thread self time per request, by file:\n${difference.slice(0, 12)
      .map((d) => `  ${d.addedUsPerRequest.toFixed(1).padStart(8)} µs  ${d.file}`).join('\n')}\n`);
  }

  const failures = runs.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0);
  const results = {
    benchmark: 'access-overhead',
    title,
    time: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    settings: { seconds: SECONDS, warmupSeconds: WARMUP, connections: CONNECTIONS, plaintextBytes: PLAINTEXT_BYTES, profileConnections: PROFILE_CONNECTIONS },
    runs: best,
    ...(ROUNDS > 1 ? { allRuns: runs } : {}),
    ratios: ratioRows,
    ...(profiles ? { profiles, profileDifference: difference } : {}),
  };
  const file = join(RESULTS, 'access-overhead.json');
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`\nwritten: ${file}\n`);
  if (failures > 0) {
    process.stderr.write(`${failures} requests failed (non-2xx, errors or timeouts): the numbers above are not valid\n`);
    process.exitCode = 1;
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
