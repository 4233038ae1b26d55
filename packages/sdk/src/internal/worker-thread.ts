/**
 * The worker thread behind internal/hash-offload.ts and internal/output-offload.ts, both sides of
 * it. Each offload keeps one worker, started on first use and unref'd while idle so it never holds
 * the process open. One message at a time holds it; the others (and every message after the worker
 * failed to start or died) work on their own thread. A job's bytes travel through a shared ring
 * whose Int32 control words count slots produced at [0] and consumed at [CONTROL_CONSUMED].
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

/**
 * Returns `acquire`: the first call starts the worker at `script` and allocates its `buffers`;
 * each call answers the lane, now busy, or null when it is busy already, could not start or has
 * failed. `release` frees it again.
 */
export function workerLane<Buffers extends object>(script: URL, buffers: () => Buffers): () => WorkerLane<Buffers> | null {
  let lane: WorkerLane<Buffers> | null | undefined;
  return () => {
    if (lane === undefined) {
      try {
        const worker = new Worker(script);
        worker.unref();
        worker.on('error', () => {
          lane = null;
        });
        lane = { ...buffers(), worker, busy: false };
      } catch {
        lane = null;
      }
    }
    if (lane === null || lane.busy) return null;
    lane.busy = true;
    return lane;
  };
}

/**
 * Hands `job` to the lane's worker, which holds the process open until `release`. The promise
 * settles with the worker's one answer, or rejects when the worker dies first.
 */
export function postJob<Result>(lane: WorkerLane<object>, job: unknown): Promise<Result> {
  const result = new Promise<Result>((resolve, reject) => {
    const onMessage = (r: Result) => {
      lane.worker.off('error', onError);
      resolve(r);
    };
    const onError = (e: Error) => {
      lane.worker.off('message', onMessage);
      reject(e);
    };
    lane.worker.once('message', onMessage);
    lane.worker.once('error', onError);
  });
  lane.worker.ref();
  lane.worker.postMessage(job);
  return result;
}

/** The job is over (the worker answered or died): the lane is free and no longer holds the process open. */
export function release(lane: WorkerLane<object>): void {
  lane.worker.unref();
  lane.busy = false;
}

/**
 * Worker side: answers each job posted to this thread with `run`'s result, transferring the
 * buffers `transfer` names. When `run` throws, the producer may be waiting for a free slot, so the
 * worker first reports every slot consumed, then answers with the error's name.
 */
export function serveJobs<Job extends { readonly control: SharedArrayBuffer }, Result extends object>(
  run: (job: Job) => Result,
  transfer: (result: Result | { readonly error: string }) => ArrayBuffer[] = () => [],
): void {
  parentPort?.on('message', (job: Job) => {
    let result: Result | { readonly error: string };
    try {
      result = run(job);
    } catch (e) {
      const control = new Int32Array(job.control);
      Atomics.store(control, CONTROL_CONSUMED, CONSUMED_FAILED);
      Atomics.notify(control, CONTROL_CONSUMED);
      result = { error: e instanceof Error ? e.name : 'Error' };
    }
    parentPort!.postMessage(result, transfer(result));
  });
}
