import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FromServer, ServerMode, ToServer } from './server-process.js';

const SERVER_PROCESS = fileURLToPath(new URL('./server-process.js', import.meta.url));

export interface Usage {
  /** CPU time the server process used, µs (user + system). */
  readonly cpuUs: number;
  /** Event-loop time, ms: busy and idle. */
  readonly eluActiveMs: number;
  readonly eluIdleMs: number;
  /** The audit chain's last record number. */
  readonly auditSeq: number;
  /** Resident set size, bytes. */
  readonly rssBytes: number;
}

/** A benchmark server in a child process of its own, on a fresh data directory. */
export class BenchServer {
  readonly mode: ServerMode;
  readonly endpoint: string;
  readonly credentialsFile: string;
  readonly pid: number;
  readonly #child: ChildProcess;
  readonly #dataDir: string;
  readonly #logFile: string;

  private constructor(mode: ServerMode, child: ChildProcess, dataDir: string, logFile: string, ready: Extract<FromServer, { type: 'ready' }>) {
    this.mode = mode;
    this.#child = child;
    this.#dataDir = dataDir;
    this.#logFile = logFile;
    this.endpoint = ready.endpoint;
    this.credentialsFile = ready.credentialsFile;
    this.pid = ready.pid;
  }

  /**
   * Starts one; `cpuProfile` names a .cpuprofile file that `node --cpu-prof` writes when it stops;
   * `store` is a PostgreSQL connection string (default: SQLite in the fresh data directory).
   */
  static async start(mode: ServerMode, options: { cpuProfile?: { dir: string; name: string }; store?: string } = {}): Promise<BenchServer> {
    const { cpuProfile, store } = options;
    const dataDir = mkdtempSync(join(tmpdir(), `coffer-bench-${mode}-`));
    // The server's stderr (its log lines, one per request) goes to a file, as an operator's would.
    const logFile = `${dataDir}.log`;
    const log = openSync(logFile, 'w', 0o600);
    const child = fork(SERVER_PROCESS, [mode, dataDir, ...(store ? [store] : [])], {
      // Sampled every 100 µs rather than V8's 1 ms, so a request's few hundred µs show their parts.
      execArgv: cpuProfile ? ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', cpuProfile.dir, '--cpu-prof-name', cpuProfile.name] : [],
      stdio: ['ignore', 'inherit', log, 'ipc'],
    });
    closeSync(log);
    const ready = await new Promise<Extract<FromServer, { type: 'ready' }>>((done, fail) => {
      const onExit = (code: number | null) => fail(new Error(`bench server (${mode}) exited with ${code} before it was ready:\n${readFileSync(logFile, 'utf8').slice(-4000)}`));
      child.once('exit', onExit);
      child.once('message', (message: FromServer) => {
        child.off('exit', onExit);
        if (message.type === 'ready') done(message);
        else fail(new Error(`bench server (${mode}) said ${message.type} before ready`));
      });
    });
    return new BenchServer(mode, child, dataDir, logFile, ready);
  }

  /** The server process's own accounting, now. */
  async usage(): Promise<Usage> {
    const answer = await this.#ask({ type: 'usage' });
    if (answer.type !== 'usage') throw new Error(`expected usage, got ${answer.type}`);
    return {
      cpuUs: answer.cpu.user + answer.cpu.system,
      eluActiveMs: answer.elu.active,
      eluIdleMs: answer.elu.idle,
      auditSeq: answer.auditSeq,
      rssBytes: answer.rss,
    };
  }

  /** Stops the server (the process exits normally, writing its profile) and removes its data. */
  async stop(): Promise<void> {
    if (this.#child.exitCode === null) {
      const exited = new Promise<void>((done) => this.#child.once('exit', () => done()));
      this.#child.send({ type: 'stop' } satisfies ToServer);
      await exited;
    }
    rmSync(this.#dataDir, { recursive: true, force: true });
    rmSync(this.#logFile, { force: true });
  }

  #ask(message: ToServer): Promise<FromServer> {
    return new Promise((done, fail) => {
      const onExit = () => fail(new Error(`bench server (${this.mode}) exited`));
      this.#child.once('exit', onExit);
      this.#child.once('message', (answer: FromServer) => {
        this.#child.off('exit', onExit);
        done(answer);
      });
      this.#child.send(message);
    });
  }
}
