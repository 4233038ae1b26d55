/**
 * The worker threads behind internal/hash-offload.ts, internal/output-offload.ts and
 * internal/seal-offload.ts, both sides of them. Each offload keeps one worker, started by the
 * first message that would use it (which awaits its start) and unref'd while idle, so it never
 * holds the process open. One message at a time holds it; the others (and every message after
 * the worker failed to start or died) work on their own thread. A job's bytes travel through a
 * shared ring whose Int32 control words count slots produced at [0] and consumed at
 * [CONTROL_CONSUMED].
 */
import { parentPort, Worker } from 'node:worker_threads';

/** Control word of every ring: slots the worker consumed; CONSUMED_FAILED when it gave up. */
export const CONTROL_CONSUMED = 1;
/** Larger than any count of slots a message can fill: the producer never waits on it. */
export const CONSUMED_FAILED = 0x7fffffff;

/**
 * How long a calling thread, waiting on a ring in a synchronous loop, lets a worker go without
 * progress before it takes the worker for dead. The loop cannot see the worker's 'error' event
 * (out of memory, say) while it runs, so without this a message would wait forever.
 */
const STALL_MS = 30_000;

/**
 * Watches one wait of a calling thread's loop: `stalled(progress)` is true once `progress` (a
 * counter the worker advances) has not moved for STALL_MS, and then the job is marked failed
 * (CONSUMED_FAILED), which every offload already treats as a worker that gave up.
 */
export class StallWatch {
  readonly #control: Int32Array;
  readonly #stallMs: number;
  readonly #now: () => number;
  #progress = Number.NaN;
  #since = 0;

  /** `now`: milliseconds, for a test's own clock. */
  constructor(control: Int32Array, stallMs = STALL_MS, now: () => number = () => performance.now()) {
    this.#control = control;
    this.#stallMs = stallMs;
    this.#now = now;
  }

  stalled(progress: number): boolean {
    const now = this.#now();
    if (progress !== this.#progress) {
      this.#progress = progress;
      this.#since = now;
      return false;
    }
    if (now - this.#since < this.#stallMs) return false;
    Atomics.store(this.#control, CONTROL_CONSUMED, CONSUMED_FAILED);
    return true;
  }
}

/** A worker and the shared buffers its jobs use, held by at most one message at a time. */
export type WorkerLane<Buffers extends object> = Buffers & { readonly worker: Worker; busy: boolean };

/** One offload's worker. */
export interface Lanes<Buffers extends object> {
  /**
   * The lane, now busy; null when it is busy already, its worker has not started yet (this
   * starts it, for the messages after), could not start, or has died.
   */
  acquire(): WorkerLane<Buffers> | null;
  /**
   * Starts the worker if need be; resolves (never rejects) once it serves jobs or is known to be
   * unusable. A message awaits this before it acquires the lane.
   */
  started(): Promise<void>;
  /** The lane's shared buffers, once allocated, also after its worker died (tests check what they hold). */
  readonly buffers: Buffers | undefined;
}

/**
 * The options a worker starts with: undefined (it inherits the process's, as by default) unless
 * they hold `--input-type`, which Node refuses to start a worker from a file with; then all of them
 * but that one. An application run as `node --input-type=module -e …` (or fed ESM on stdin) would
 * otherwise have no workers at all. Only then are they given explicitly: a worker started with an
 * explicit list, even the process's own, sealed 64 KiB frames some 20 % slower in `npm run bench`
 * (0x0478, 2026-11-30, three interleaved pairs of runs).
 */
function workerExecArgv(): string[] | undefined {
  const argv = process.execArgv;
  if (!argv.some((arg) => arg === '--input-type' || arg.startsWith('--input-type='))) return undefined;
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--input-type') i++;
    else if (!argv[i]!.startsWith('--input-type=')) out.push(argv[i]!);
  }
  return out;
}

/**
 * The worker at `script` with its shared `buffers`, allocated when it starts; `release` frees the
 * lane after a job. A lane is handed out only once its worker has said it serves jobs: one whose
 * script cannot load (a bundler that did not ship it, a loader that refuses it) fails with an
 * 'error' while it starts, which a message awaiting `started()` sees before it posts anything,
 * instead of a job nobody takes, which a calling thread's synchronous loop would wait out for
 * STALL_MS. A worker that errors or exits later (an uncaught error, running out of memory,
 * `process.exit` inside it) is never used again either: the messages after it work on their own
 * thread. `script` is asked for only then, and a throw counts as a worker that cannot start: in
 * code bundled to CommonJS `import.meta.url` is empty, and a URL made from it when the module
 * loads would throw there, for every program that loads the SDK.
 */
export function workerLane<Buffers extends object>(script: () => URL, buffers: () => Buffers): Lanes<Buffers> {
  let lane: WorkerLane<Buffers> | null | undefined;
  let serving = false;
  let starting: Promise<void> | undefined;
  let allocated: Buffers | undefined;
  const start = () => {
    starting ??= new Promise<void>((resolve) => {
      let worker: Worker;
      try {
        const execArgv = workerExecArgv();
        worker = new Worker(script(), execArgv ? { execArgv } : {});
      } catch {
        lane = null;
        resolve();
        return;
      }
      // Referenced while it starts: a message awaiting it must not see the process exit under it.
      const settle = (ok: boolean) => {
        clearTimeout(timeout);
        worker.unref();
        serving = ok && lane !== null;
        resolve();
      };
      const gone = () => {
        lane = null;
        settle(false);
      };
      // 'error' alone is not enough: a worker can exit without one, and its lane must not take
      // another message that nobody would ever answer.
      worker.on('error', gone);
      worker.on('exit', gone);
      // A start that never ends (a loader that hangs) is given up like a stalled job.
      const timeout = setTimeout(() => {
        gone();
        void worker.terminate();
      }, STALL_MS);
      timeout.unref();
      // serveJobs' first message: the worker's module has loaded and it takes jobs.
      worker.once('message', () => settle(true));
      allocated = buffers();
      lane = { ...allocated, worker, busy: false };
    });
    return starting;
  };
  return {
    get buffers() {
      return allocated;
    },
    started: start,
    acquire() {
      if (!serving) {
        void start();
        return null;
      }
      if (lane === null || lane === undefined || lane.busy) return null;
      lane.busy = true;
      return lane;
    },
  };
}

/**
 * Hands `job` to the lane's worker, which holds the process open until `release`. The promise
 * settles with the worker's one answer, or rejects when the worker errors or exits first (without
 * the exit, a worker gone without an error would leave the message waiting forever, and the
 * plaintext in its ring unzeroed, since the ring is zeroed once the job settles).
 */
export function postJob<Result>(lane: WorkerLane<object>, job: unknown): Promise<Result> {
  const { worker } = lane;
  const result = new Promise<Result>((resolve, reject) => {
    const done = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
    };
    const onMessage = (r: Result) => {
      done();
      resolve(r);
    };
    const onError = (e: Error) => {
      done();
      reject(e);
    };
    const onExit = (code: number) => {
      done();
      reject(new Error(`the worker exited (code ${code}) before answering`));
    };
    worker.once('message', onMessage);
    worker.once('error', onError);
    worker.once('exit', onExit);
  });
  worker.ref();
  worker.postMessage(job);
  return result;
}

/** The job is over (the worker answered or died): the lane is free and no longer holds the process open. */
export function release(lane: WorkerLane<object>): void {
  lane.worker.unref();
  lane.busy = false;
}

/** Tells the producer, through the ring's control words, that the job will not be finished. */
function markFailed(control: Int32Array): void {
  Atomics.store(control, CONTROL_CONSUMED, CONSUMED_FAILED);
  Atomics.notify(control, CONTROL_CONSUMED);
}

/**
 * Worker side: answers each job posted to this thread with `run`'s result, transferring the
 * buffers `transfer` names. When `run` throws, the producer may be waiting for a free slot, so the
 * worker first reports every slot consumed, then answers with the error's name. So it does when
 * the thread exits in the middle of a job: the producer, waiting in a loop that cannot see the
 * worker's 'exit' event, then stops at once instead of after its stall timeout.
 */
export function serveJobs<Job extends { readonly control: SharedArrayBuffer }, Result extends object>(
  run: (job: Job) => Result,
  transfer: (result: Result | { readonly error: string }) => ArrayBuffer[] = () => [],
): void {
  if (parentPort === null) return;
  const port = parentPort;
  let current: Int32Array | undefined;
  process.on('exit', () => {
    if (current !== undefined) markFailed(current);
  });
  port.on('message', (job: Job) => {
    let result: Result | { readonly error: string };
    current = new Int32Array(job.control);
    try {
      result = run(job);
    } catch (e) {
      markFailed(current);
      result = { error: e instanceof Error ? e.name : 'Error' };
    } finally {
      current = undefined;
    }
    port.postMessage(result, transfer(result));
  });
  // Before any job: the lane is handed out only after this (workerLane).
  port.postMessage({ serving: true });
}

/** How a test makes a job fail part-way: `run` throws (the worker answers), or the thread exits (it never does). */
export type TestOnlyFailure = 'throw' | 'exit';

/** Worker side of the test hooks: fails the job the way `how` says. */
export function testOnlyFail(how: TestOnlyFailure): never {
  if (how === 'exit') process.exit(1);
  throw new Error('test-only failure');
}
