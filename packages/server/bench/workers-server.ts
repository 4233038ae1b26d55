import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/store/open-store.js';
import type { Store } from '../src/store/store.js';
import type { Usage } from './bench-server.js';

/** The built CLI: a workers server is `coffer serve --workers N`, as an operator starts it. */
const CLI_MAIN = resolve(dirname(fileURLToPath(import.meta.url)), '../../../cli/dist/src/main.js');
/** Linux's clock ticks per second, the unit of the CPU times in /proc/<pid>/stat (sysconf(_SC_CLK_TCK)). */
const CLOCK_TICKS = 100;

/**
 * `coffer serve --workers N` on a PostgreSQL database and a fresh data directory, for the bench:
 * the same questions as BenchServer answers, asked of the whole process tree (the primary and its
 * workers) through /proc, and of the store for the audit head.
 */
export class WorkersServer {
  readonly endpoint: string;
  readonly credentialsFile: string;
  readonly #child: ChildProcess;
  readonly #dataDir: string;
  readonly #logFile: string;
  readonly #audit: Store;

  private constructor(child: ChildProcess, dataDir: string, logFile: string, endpoint: string, audit: Store) {
    this.#child = child;
    this.#dataDir = dataDir;
    this.#logFile = logFile;
    this.endpoint = endpoint;
    this.credentialsFile = join(dataDir, 'credentials');
    this.#audit = audit;
  }

  static async start(store: string, workers: number): Promise<WorkersServer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'coffer-bench-workers-'));
    // The log lines go to a file, as an operator's would; the banner is read from stdout.
    const logFile = `${dataDir}.log`;
    const log = openSync(logFile, 'w', 0o600);
    const child = spawn(process.execPath, [
      CLI_MAIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir, '--store', store, '--quotas', 'off', '--workers', String(workers),
    ], { stdio: ['ignore', 'pipe', log] });
    closeSync(log);
    const endpoint = await new Promise<string>((done, fail) => {
      let printed = '';
      child.once('exit', (code, signal) => fail(new Error(`coffer serve --workers exited (${signal ?? code}) before it listened:\n${readFileSync(logFile, 'utf8').slice(-4000)}`)));
      child.stdout!.on('data', (chunk: Buffer) => {
        printed += chunk.toString('utf8');
        // The banner is written at once, once every worker listens.
        const match = /listening on (http:\/\/\S+)[\s\S]*Workers:/.exec(printed);
        if (match) done(match[1]!);
      });
    });
    child.stdout!.resume();
    return new WorkersServer(child, dataDir, logFile, endpoint, await openStore({ store, dataDir }));
  }

  /** CPU time and RSS summed over the primary and its workers now, and the audit head. */
  async usage(): Promise<Usage> {
    let ticks = 0;
    let rssKiB = 0;
    for (const pid of [this.#child.pid!, ...childrenOf(this.#child.pid!)]) {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime: fields 14 and 15 of stat, 12 and 13 after the command name.
      ticks += Number(fields[11]) + Number(fields[12]);
      rssKiB += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
    }
    const head = await this.#audit.getAuditHead();
    return { cpuUs: ticks * (1e6 / CLOCK_TICKS), eluActiveMs: 0, eluIdleMs: 0, auditSeq: head?.seq ?? 0, rssBytes: rssKiB * 1024 };
  }

  /** SIGTERM (every worker finishes its requests), then the data directory is removed. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      const exited = new Promise<void>((done) => this.#child.once('exit', () => done()));
      this.#child.kill('SIGTERM');
      await exited;
    }
    await this.#audit.close();
    rmSync(this.#dataDir, { recursive: true, force: true });
    rmSync(this.#logFile, { force: true });
  }
}

/** The processes whose parent is `pid` (the workers), from /proc. */
function childrenOf(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid) children.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}
