import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, uptime } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTestPostgres, type TestPostgres } from '../test/support/postgres.js';
import { benchArgs } from './bench-args.js';
import { runLoad, type LoadResult } from './load.js';
import { readCredentials, send, signKmsRequest } from './signed-request.js';

/**
 * Encrypt throughput by store: SQLite with one node, PostgreSQL with one node, PostgreSQL with two
 * nodes on one database (load sent to both at once, summed). Each server is a real `coffer serve`
 * process; the load is the same pre-signed Encrypt of 1 KiB over keep-alive connections
 * (autocannon, in this process: on a small machine it shares the CPUs with the servers). The
 * PostgreSQL cluster is a throwaway one (test/support/postgres.ts, fsync on). Reported as ratios
 * to SQLite measured in the same run.
 * `npm run bench:store [-- --seconds 10 --warmup 2 --connections 64]`
 */
const args = benchArgs('npm run bench:store --', 'Encrypt throughput by store: SQLite, PostgreSQL, two PostgreSQL nodes.', {
  seconds: { type: 'string', default: '10', help: 'seconds measured per run' },
  warmup: { type: 'string', default: '2', help: 'seconds of load before each run' },
  connections: { type: 'string', default: '64', help: 'keep-alive connections' },
});
const SECONDS = Number(args.seconds);
const WARMUP = Number(args.warmup);
const CONNECTIONS = Number(args.connections);
const PLAINTEXT_BYTES = 1024;

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../../..');
const CLI_MAIN = join(REPO, 'packages/cli/dist/src/main.js');
const RESULTS = join(REPO, 'bench-results');

interface Node {
  readonly endpoint: string;
  readonly dataDir: string;
  readonly child: ChildProcess;
}

/** `coffer serve` in a process of its own, on a free port; resolves once it listens. */
async function startNode(dataDir: string, store?: string): Promise<Node> {
  const child = spawn(process.execPath, [CLI_MAIN, 'serve', '--port', '0', '--data-dir', dataDir, '--quotas', 'off', ...(store ? ['--store', store] : [])], {
    // Its per-request log lines (stderr) are written, the cost being part of the server's, but not shown.
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const endpoint = await new Promise<string>((done, fail) => {
    child.once('exit', (code) => fail(new Error(`coffer serve exited with ${code}:\n${output}`)));
    const onData = (chunk: Buffer) => {
      output += chunk.toString('utf8');
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match) done(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
  });
  child.stdout!.removeAllListeners('data').resume();
  child.stderr!.removeAllListeners('data').resume();
  return { endpoint, dataDir, child };
}

async function stopNode(node: Node): Promise<void> {
  if (node.child.exitCode !== null) return;
  const exited = new Promise<void>((done) => node.child.once('exit', () => done()));
  node.child.kill('SIGTERM');
  await exited;
}

interface Row {
  readonly store: string;
  readonly nodes: number;
  readonly requestsPerSecond: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  readonly requests: number;
  readonly non2xx: number;
  readonly errors: number;
  readonly perNode: LoadResult[];
}

/** Creates a key on the first node, then loads every node at once with its share of the connections. */
async function measure(store: string, nodes: Node[]): Promise<Row> {
  const credentials = readCredentials(join(nodes[0]!.dataDir, 'credentials'));
  const created = await send(nodes[0]!.endpoint, await signKmsRequest(nodes[0]!.endpoint, credentials, 'CreateKey', { Description: 'store-throughput bench' }));
  const keyId = (created.KeyMetadata as { KeyId: string }).KeyId;
  const plaintext = randomBytes(PLAINTEXT_BYTES).toString('base64');
  const requests = await Promise.all(nodes.map((n) => signKmsRequest(n.endpoint, credentials, 'Encrypt', { KeyId: keyId, Plaintext: plaintext })));
  for (const [i, n] of nodes.entries()) await send(n.endpoint, requests[i]!);
  const share = Math.floor(CONNECTIONS / nodes.length);
  if (WARMUP > 0) await Promise.all(nodes.map((n, i) => runLoad(n.endpoint, requests[i]!, share, WARMUP)));
  const perNode = await Promise.all(nodes.map((n, i) => runLoad(n.endpoint, requests[i]!, share, SECONDS)));
  const total = perNode.reduce((sum, r) => sum + r.requests, 0);
  const weighted = (pick: (r: LoadResult) => number) => perNode.reduce((sum, r) => sum + pick(r) * r.requests, 0) / Math.max(total, 1);
  return {
    store, nodes: nodes.length,
    requestsPerSecond: perNode.reduce((sum, r) => sum + r.requestsPerSecond, 0),
    // Across nodes: the per-node percentiles weighted by requests (an approximation, not a merged histogram).
    latencyP50Ms: weighted((r) => r.latencyP50Ms),
    latencyP99Ms: Math.max(...perNode.map((r) => r.latencyP99Ms)),
    requests: total,
    non2xx: perNode.reduce((sum, r) => sum + r.non2xx, 0),
    errors: perNode.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
    perNode,
  };
}

async function main(): Promise<void> {
  mkdirSync(RESULTS, { recursive: true });
  const temp = mkdtempSync(join(tmpdir(), 'coffer-bench-store-'));
  const loadBefore = loadavg();
  const uptimeBefore = uptime();
  const rows: Row[] = [];
  let cluster: TestPostgres | undefined;
  try {
    const sqlite = await startNode(join(temp, 'sqlite'));
    try {
      rows.push(await measure('sqlite', [sqlite]));
    } finally {
      await stopNode(sqlite);
    }

    cluster = await startTestPostgres();
    const one = await startNode(join(temp, 'pg-one'), await cluster.createDatabase('bench_one_node'));
    try {
      rows.push(await measure('postgres', [one]));
    } finally {
      await stopNode(one);
    }

    const url = await cluster.createDatabase('bench_two_nodes');
    const a = await startNode(join(temp, 'pg-a'), url);
    mkdirSync(join(temp, 'pg-b'), { mode: 0o700 });
    copyFileSync(join(a.dataDir, 'root.key'), join(temp, 'pg-b', 'root.key'));
    const b = await startNode(join(temp, 'pg-b'), url);
    try {
      rows.push(await measure('postgres', [a, b]));
    } finally {
      await stopNode(a);
      await stopNode(b);
    }
  } finally {
    await cluster?.destroy();
    rmSync(temp, { recursive: true, force: true });
  }

  const baseline = rows[0]!.requestsPerSecond;
  const table = [
    'store      nodes  Encrypt req/s  vs SQLite  p50 ms  p99 ms  non-2xx',
    ...rows.map((r) => [
      r.store.padEnd(10), String(r.nodes).padStart(5), r.requestsPerSecond.toFixed(0).padStart(14),
      `${(r.requestsPerSecond / baseline).toFixed(2)}x`.padStart(10), r.latencyP50Ms.toFixed(1).padStart(7),
      r.latencyP99Ms.toFixed(1).padStart(7), String(r.non2xx + r.errors).padStart(8),
    ].join(' ')),
  ].join('\n');
  const machine = {
    cpus: cpus().length, cpuModel: cpus()[0]?.model, node: process.version,
    uptimeSeconds: uptimeBefore, loadavgBefore: loadBefore, loadavgAfter: loadavg(),
  };
  process.stdout.write(`Encrypt of ${PLAINTEXT_BYTES} B, ${CONNECTIONS} connections in all, ${WARMUP} s warm-up, ${SECONDS} s measured per row\n`
    + `${table}\nmachine: ${machine.cpus} CPUs (${machine.cpuModel}), load average before ${loadBefore.map((l) => l.toFixed(2)).join(' ')}, `
    + `after ${machine.loadavgAfter.map((l) => l.toFixed(2)).join(' ')}\n`);
  const file = join(RESULTS, 'store-throughput.json');
  writeFileSync(file, `${JSON.stringify({
    date: new Date().toISOString(), settings: { seconds: SECONDS, warmup: WARMUP, connections: CONNECTIONS, plaintextBytes: PLAINTEXT_BYTES },
    machine, rows: rows.map((r) => ({ ...r, ratioToSqlite: r.requestsPerSecond / baseline })),
  }, null, 2)}\n`);
  process.stdout.write(`results: ${file}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
