/**
 * Uses the second core for the message signature of large messages in the buffer API: the
 * main thread seals or opens frames while a worker hashes the signed bytes and signs or
 * verifies. The bytes travel through a small shared ring that is allocated once and reused (so
 * the copies hit warm memory), with Atomics for flow control; the returned message is an
 * ordinary (unshared) Buffer. Falls back to hashing on the calling thread when the worker is
 * busy with another message, cannot start, or fails part-way (then the caller re-hashes).
 */
import type { KeyObject } from 'node:crypto';
import type { HashJob, HashJobResult } from './hash-worker.js';
import { postJob, release, StallWatch, workerLane, type TestOnlyFailure, type WorkerLane } from './worker-thread.js';

/** Messages at least this large use the worker; below it the thread hop costs more than it saves. */
export const OFFLOAD_MIN_BYTES = 8 * 1024 * 1024;
const SLOT_SIZE = 1024 * 1024;
const SLOTS = 8;
const WAIT_MS = 20;

type Lane = WorkerLane<{
  readonly ring: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly lengths: SharedArrayBuffer;
  readonly signature: SharedArrayBuffer;
}>;

const lanes = workerLane(() => new URL('./hash-worker.js', import.meta.url), () => ({
  ring: new SharedArrayBuffer(SLOT_SIZE * SLOTS),
  control: new SharedArrayBuffer(12),
  lengths: new SharedArrayBuffer(4 * SLOTS),
  signature: new SharedArrayBuffer(2 + 1024),
}));
let jobs = 0;
let failNext: TestOnlyFailure | undefined;

/**
 * Test hook: the next job fails inside the worker, to prove the callers' fallback: it cannot
 * hash (and answers so), or (`'exit'`) the worker thread exits after the first slice, never to answer.
 */
export function testOnlyFailNextOffloadedJob(how: TestOnlyFailure = 'throw'): void {
  failNext = how;
}

/** Starts the hashing worker if need be; resolves once it serves jobs or cannot (see workerLane). */
export function hashWorkerStarted(): Promise<void> {
  return lanes.started();
}

/** Jobs handed to the worker so far (for tests that must know the worker path ran). */
export function offloadedJobCount(): number {
  return jobs;
}

/** Feeds one message's signed bytes to the worker; `finish` resolves with its answer. */
class OffloadedHash {
  readonly #lane: Lane;
  readonly #control: Int32Array;
  readonly #lengths: Int32Array;
  readonly #ring: Uint8Array;
  readonly #result: Promise<HashJobResult>;
  #produced = 0;
  #finishing: Promise<HashJobResult> | undefined;

  constructor(l: Lane, kind: 'sign' | 'verify', hash: string, key: KeyObject) {
    this.#lane = l;
    this.#control = new Int32Array(l.control);
    this.#control.fill(0);
    this.#lengths = new Int32Array(l.lengths);
    this.#ring = new Uint8Array(l.ring);
    const job: HashJob = {
      kind, hash: failNext === 'throw' ? 'no-such-hash' : hash, testOnlyExit: failNext === 'exit', key, ring: l.ring, control: l.control, lengths: l.lengths, signature: l.signature, slotSize: SLOT_SIZE, slots: SLOTS,
    };
    this.#result = postJob<HashJobResult>(l, job);
    // Read in finish; a worker that dies before then (while frames are still being sealed or the
    // result written) is no unhandled rejection, which would end the process.
    this.#result.catch(() => {});
    failNext = undefined;
    jobs++;
  }

  update(bytes: Uint8Array): void {
    for (let o = 0; o < bytes.byteLength; o += SLOT_SIZE) {
      const piece = bytes.subarray(o, Math.min(bytes.byteLength, o + SLOT_SIZE));
      // Wait for a free slot (the worker is behind by a full ring).
      const watch = new StallWatch(this.#control);
      for (;;) {
        const consumed = Atomics.load(this.#control, 1);
        if (this.#produced - consumed < SLOTS || watch.stalled(consumed)) break;
        Atomics.wait(this.#control, 1, consumed, WAIT_MS);
      }
      const slot = this.#produced % SLOTS;
      this.#ring.set(piece, slot * SLOT_SIZE);
      this.#lengths[slot] = piece.byteLength;
      this.#produced++;
      Atomics.store(this.#control, 0, this.#produced);
      Atomics.notify(this.#control, 0);
    }
  }

  /**
   * Ends the job without using its answer (the caller failed part-way); resolves once the worker
   * has let go of the lane, so the caller's next message finds it free.
   */
  async abandon(): Promise<void> {
    await this.finish().catch(() => {});
  }

  /** Idempotent: a second call (abandon after a failed check) returns the first answer. */
  finish(signature?: Uint8Array): Promise<HashJobResult> {
    this.#finishing ??= this.#finish(signature);
    return this.#finishing;
  }

  async #finish(signature?: Uint8Array): Promise<HashJobResult> {
    // A signature too long for the lane (none of the suites' curves makes one) cannot verify; the
    // job is still finished, with an empty signature, so that the worker lets go of the lane and
    // the lane is released: returning early left it busy, and its port held the process open.
    let tooLong = false;
    if (signature !== undefined) {
      const sig = new Uint8Array(this.#lane.signature);
      tooLong = signature.byteLength > sig.byteLength - 2;
      const given = tooLong ? new Uint8Array(0) : signature;
      sig[0] = given.byteLength >> 8;
      sig[1] = given.byteLength & 0xff;
      sig.set(given, 2);
    }
    Atomics.store(this.#control, 2, 1);
    Atomics.notify(this.#control, 0);
    try {
      const result = await this.#result;
      return tooLong ? { valid: false } : result;
    } finally {
      release(this.#lane);
    }
  }
}

/** A signer on the worker, or null (then sign on this thread). */
export interface OffloadedSigner {
  update(bytes: Uint8Array): void;
  /** null when the worker failed: the caller then signs on its own thread. */
  sign(): Promise<Buffer | null>;
  abandon(): Promise<void>;
}

export interface OffloadedVerifier {
  update(bytes: Uint8Array): void;
  /** null when the worker failed: the caller then verifies on its own thread. */
  verify(signature: Uint8Array): Promise<boolean | null>;
  abandon(): Promise<void>;
}

export function offloadedSigner(hash: string, key: KeyObject): OffloadedSigner | null {
  const l = lanes.acquire();
  if (l === null) return null;
  const h = new OffloadedHash(l, 'sign', hash, key);
  return {
    update: (b) => h.update(b),
    abandon: () => h.abandon(),
    sign: async () => {
      const r = await h.finish().catch(() => null);
      return r !== null && 'signature' in r ? Buffer.from(r.signature) : null;
    },
  };
}

/** A verifier on the worker, or null (then verify on this thread). */
export function offloadedVerifier(hash: string, key: KeyObject): OffloadedVerifier | null {
  const l = lanes.acquire();
  if (l === null) return null;
  const h = new OffloadedHash(l, 'verify', hash, key);
  return {
    update: (b) => h.update(b),
    abandon: () => h.abandon(),
    verify: async (signature) => {
      const r = await h.finish(signature).catch(() => null);
      return r !== null && 'valid' in r ? r.valid : null;
    },
  };
}
