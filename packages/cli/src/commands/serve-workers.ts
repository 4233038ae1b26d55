/**
 * `coffer serve --workers N`: N server processes on one port (node:cluster), for a PostgreSQL
 * store, which several nodes already share (docs/operations.md, "Several processes").
 *
 * The primary process serves nothing itself. It starts the first worker alone and waits for it
 * to listen, so that whatever a fresh data directory needs (root key, credentials, TLS pair, the
 * seed) is made once, then starts the others. It prints the banner once, replaces a worker that
 * dies, and on SIGTERM or SIGINT stops every worker the way a single server stops (in-flight
 * requests finish) before it exits.
 */
import cluster, { type Worker } from 'node:cluster';
import { jsonLogger, logProcessWarnings, type Logger } from '@coffer/server';
import { EXIT_FAILURE } from '../usage.js';
import { hangupSignalCheck, terminalHangupCheck } from './terminal-hangup.js';
import { primaryMetrics } from './worker-metrics.js';

/** What a worker tells the primary once it listens: the facts of the banner. */
export interface WorkerReady {
  readonly type: 'coffer-worker-ready';
  readonly banner: string;
}

/**
 * What the primary tells a worker to stop it: by message, not by SIGTERM. A Ctrl-C (or systemd's
 * stop, which signals the whole control group) reaches every worker directly too, and a worker
 * takes a second signal for "now": a SIGTERM from the primary after it cut in-flight requests off.
 */
export interface StopRequest {
  readonly type: 'coffer-stop';
}

export const isStopRequest = (message: unknown): boolean => (message as Partial<StopRequest> | null)?.type === 'coffer-stop';

/** What the primary tells each worker on SIGHUP: read the TLS certificate and key again. */
export interface ReloadRequest {
  readonly type: 'coffer-reload-tls';
}

export const isReloadRequest = (message: unknown): boolean => (message as Partial<ReloadRequest> | null)?.type === 'coffer-reload-tls';

/** Set in the first worker's environment only: it applies the seed, the others do not. */
export const FIRST_WORKER_ENV = 'COFFER_FIRST_WORKER';

/** Set in a replacement's environment: its refused start is told to the primary, not printed. */
export const REPLACEMENT_WORKER_ENV = 'COFFER_REPLACEMENT_WORKER';

/**
 * What a replacement worker whose start was refused tells the primary: why, in the words the
 * command prints (error and hint). The server is running by then, and every line it writes is
 * JSON (docs/operations.md, "Logs"): the primary's line says it, where plain `error:` lines were.
 */
export interface WorkerRefused {
  readonly type: 'coffer-worker-refused';
  readonly reason: string;
}

/** A worker that dies this many times within RESTART_WINDOW_MS is not started again. */
const MOST_RESTARTS = 5;
const RESTART_WINDOW_MS = 60_000;
/** The waits before a replacement that could not start is tried again: doubling from the first to the longest. */
const FIRST_RETRY_MS = 1_000;
const LONGEST_RETRY_MS = 30_000;
/** How long a stopping worker may take (its own grace for in-flight requests is 10 s). */
const STOP_TIMEOUT_MS = 30_000;

/** The primary's own log lines: JSON, as its workers' (docs/operations.md, "Logs"); made on first use. */
let primaryLog: Logger | undefined;
const say = (line: string, level: 'info' | 'error' = 'info') => (primaryLog ??= jsonLogger(undefined, { role: 'primary' }))(level, line);

function describeExit(code: number | null, signal: string | null): string {
  return signal ? `signal ${signal}` : `exit code ${code}`;
}

/**
 * Runs the primary: starts `count` workers (each runs this same command line), prints the banner
 * the first one reports, and waits for a signal. Answers the command's exit code.
 */
export async function servePrimary(count: number): Promise<number> {
  logProcessWarnings((level, message, fields) => (primaryLog ??= jsonLogger(undefined, { role: 'primary' }))(level, message, fields));
  // Workers never prompt (several would read one terminal): no stdin, see docs/operations.md.
  cluster.setupPrimary({ stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // Workers inherit this environment: only the primary says which worker is the first or a replacement.
  delete process.env[FIRST_WORKER_ENV];
  delete process.env[REPLACEMENT_WORKER_ENV];
  const workers = new Set<Worker>();
  const terminalClosed = terminalHangupCheck();
  const isHangup = hangupSignalCheck();
  /** The workers that listen: a scrape is the sum of theirs (worker-metrics.ts). */
  const serving = new Set<Worker>();
  const metrics = primaryMetrics(() => serving);
  let stopping = false;
  const restarts: number[] = [];
  let failed: (reason: string) => void = () => {};
  const failure = new Promise<string>((done) => { failed = done; });

  /** Forks a worker; resolves with its banner once it listens, rejects if it exits first (or the primary is stopping). */
  const start = (role: 'first' | 'other' | 'replacement'): Promise<string> => new Promise((done, fail) => {
    // A stop while the workers start: the ones still to come are not started (stopAll would not see them).
    if (stopping) return fail(new Error('stopping'));
    const worker = cluster.fork(role === 'first' ? { [FIRST_WORKER_ENV]: '1' } : role === 'replacement' ? { [REPLACEMENT_WORKER_ENV]: '1' } : {});
    workers.add(worker);
    let ready = false;
    let refusal: string | undefined;
    worker.on('message', (message: Partial<WorkerReady> | Partial<WorkerRefused>) => {
      metrics.onMessage(worker, message);
      if (message.type === 'coffer-worker-refused' && typeof message.reason === 'string') refusal = message.reason;
      if (message.type !== 'coffer-worker-ready' || typeof message.banner !== 'string') return;
      ready = true;
      serving.add(worker);
      done(message.banner);
    });
    worker.once('exit', (code, signal) => {
      workers.delete(worker);
      serving.delete(worker);
      metrics.stopped(worker);
      if (!ready) return fail(new Error(`worker ${worker.id} stopped before it listened (${describeExit(code, signal)}${refusal ? `: ${refusal}` : ''})`));
      if (!stopping) replace(worker, describeExit(code, signal));
    });
  });

  /** Counts a death; true once there were MOST_RESTARTS within RESTART_WINDOW_MS. */
  const countDeath = (): boolean => {
    const now = Date.now();
    restarts.push(now);
    while (restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift();
    return restarts.length >= MOST_RESTARTS;
  };

  const replace = (dead: Worker, how: string) => {
    if (countDeath()) {
      return failed(`workers stopped ${restarts.length} times within ${RESTART_WINDOW_MS / 1000} s (the last: worker ${dead.id}, ${how})`);
    }
    say(`worker ${dead.id} (pid ${dead.process.pid}) stopped (${how}); starting another`);
    startReplacement(FIRST_RETRY_MS);
  };

  /**
   * Starts a worker in a dead one's place. One that cannot start (the database down, a certificate
   * file being rewritten, root.key moved) is tried again, each wait twice the last, up to
   * LONGEST_RETRY_MS, while the other workers serve (answering 503 while the store is unreachable,
   * as a single process does): failing to start is not a crash loop, and it once stopped them all.
   * With no worker serving, though, the command serves nothing: then failed starts count as deaths,
   * so the primary ends (exit 1) for its supervisor to see, rather than live on listening nowhere.
   */
  const retries = new Set<NodeJS.Timeout>();
  const startReplacement = (nextWaitMs: number) => {
    start('replacement').then(
      () => say(`a new worker is serving (${[...workers].map((w) => w.process.pid).join(', ')})`),
      (error: Error) => {
        if (stopping) return;
        if (serving.size === 0 && countDeath()) {
          return failed(`no worker is serving, and workers failed to start ${MOST_RESTARTS} times within ${RESTART_WINDOW_MS / 1000} s (the last: ${error.message})`);
        }
        say(`${error.message}; trying again in ${nextWaitMs / 1000} s`, 'error');
        const retry = setTimeout(() => {
          retries.delete(retry);
          startReplacement(Math.min(nextWaitMs * 2, LONGEST_RETRY_MS));
        }, nextWaitMs);
        retries.add(retry);
      },
    );
  };

  /** Stops every worker; false when one had to be killed because it did not stop in time. */
  const stopAll = async (): Promise<boolean> => {
    stopping = true;
    for (const retry of retries) clearTimeout(retry);
    retries.clear();
    let clean = true;
    const exits = [...workers].map((worker) => new Promise<void>((done) => {
      if (worker.isDead()) return done();
      worker.once('exit', () => done());
      // A worker still starting listens for neither: SIGTERM ends it at once, with nothing in flight.
      // Once the terminal closed, SIGKILL: Node's own SIGTERM handler restores the terminal's modes
      // first, and aborts on a hung-up one (terminal-hangup.ts), with a native stack trace.
      if (serving.has(worker) && worker.isConnected()) worker.send({ type: 'coffer-stop' } satisfies StopRequest);
      else worker.process.kill(terminalClosed() ? 'SIGKILL' : 'SIGTERM');
      setTimeout(() => {
        if (worker.isDead()) return;
        clean = false;
        say(`worker ${worker.id} (pid ${worker.process.pid}) did not stop within ${STOP_TIMEOUT_MS / 1000} s; killing it`);
        worker.process.kill('SIGKILL');
      }, STOP_TIMEOUT_MS).unref();
    }));
    await Promise.all(exits);
    return clean;
  };

  // SIGHUP reloads every serving worker's TLS certificate (each logs what it did); by default it
  // would end the primary at once, and its workers with it. Kept while stopping, and ignored then.
  // A hangup of the terminal the primary was started on stops them all, as SIGTERM does
  // (terminal-hangup.ts; the workers leave it to the primary).
  let hangup: () => void = () => {};
  const onHup = () => {
    if (stopping) return say('SIGHUP while stopping: ignored');
    if (isHangup()) return hangup();
    say(`SIGHUP: asking ${serving.size} serving worker(s) to reload the TLS certificate`);
    for (const worker of serving) if (worker.isConnected()) worker.send({ type: 'coffer-reload-tls' } satisfies ReloadRequest);
  };
  process.on('SIGHUP', onHup);
  // Listen for signals before the banner: whoever waits for the banner may signal at once.
  const signalled = new Promise<string>((done) => {
    // Both handlers go at the first: a second signal of either kind then ends the primary at once.
    const onSignal = (signal: string) => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      done(signal);
    };
    const onInt = () => onSignal('SIGINT');
    const onTerm = () => onSignal('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    // Not a first signal: a SIGTERM after the hangup does not end the primary at once.
    hangup = () => done('SIGHUP (the terminal closed)');
  });

  const starting = (async () => {
    const banner = await start('first');
    await Promise.all(Array.from({ length: count - 1 }, () => start('other')));
    return banner;
  })();
  // A signal during the start (a database that does not answer, say) stops it too.
  const started = await Promise.race([
    starting.then((banner) => ({ banner }), (error: Error) => ({ error })),
    signalled.then((signal) => ({ signal })),
  ]);
  if (!('banner' in started)) {
    if ('error' in started) say(`${started.error.message}; stopping`, 'error');
    else say(`${started.signal} while starting: stopping`);
    await stopAll();
    return 'signal' in started ? 0 : EXIT_FAILURE;
  }
  const { banner } = started;
  const pids = [...workers].map((w) => w.process.pid).join(', ');
  process.stdout.write(banner.replace('\n\nTry it:', `\nWorkers:        ${count} processes on one port (pids ${pids}); request quotas are per process\n\nTry it:`));

  const outcome = await Promise.race([signalled.then((signal) => ({ signal })), failure.then((reason) => ({ reason }))]);
  if ('signal' in outcome) say(`${outcome.signal}: stopping ${workers.size} workers (each finishes its in-flight requests)`);
  else say(`${outcome.reason}; stopping`, 'error');
  const clean = await stopAll();
  return 'signal' in outcome && clean ? 0 : EXIT_FAILURE;
}
