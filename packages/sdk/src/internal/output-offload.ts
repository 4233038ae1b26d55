/**
 * Where the buffer API writes a message (or a plaintext): straight into one buffer sized up
 * front (`DirectOutput`), or, for large messages, through a worker thread (`OffloadedOutput`):
 * decryption, and encryption when its frames are too long for the sealing worker's ring or that
 * worker is busy (internal/seal-offload.ts).
 *
 * Why a worker helps at all: writing a freshly allocated 256 MiB buffer takes one page fault per
 * 4 KiB page, and on the reference machine those faults cost as much as AES-GCM over the same
 * bytes. An ordinary (unshared) ArrayBuffer can only be written by the thread that holds it, so
 * the worker allocates the result, and the calling thread seals (or opens) every frame into a
 * small shared ring that stays in cache; the worker copies each slot into the result, taking the
 * faults on the second core, then transfers the result back. Callers get an ordinary Buffer they
 * own, and no key ever leaves the calling thread. Falls back to `DirectOutput` when the worker
 * is busy with another message or cannot start, and `finish` answers null when the worker failed
 * part-way (the caller then does the message again on its own thread).
 */
import {
  CONSUMED_FAILED, CONTROL_CONSUMED, CONTROL_LENGTH, CONTROL_PRODUCED, CONTROL_STATE, STATE_ABANDONED, STATE_DONE,
  type OutputJob, type OutputJobResult,
} from './output-worker.js';
import { postJob, release, StallWatch, workerLane, type TestOnlyFailure, type WorkerLane } from './worker-thread.js';

/** Outputs at least this large go through the worker; below it the thread hop costs more than it saves. */
export const OUTPUT_OFFLOAD_MIN_BYTES = 8 * 1024 * 1024;
/**
 * A frame longer than a slot is staged whole on the calling thread before it goes through the
 * ring. Messages whose frames (or non-framed body) are longer than this are written on the
 * calling thread instead: the staging buffer would cost more memory than the worker saves.
 */
export const OUTPUT_OFFLOAD_MAX_FRAME = 8 * 1024 * 1024;
/** Holds one default (1 MiB) frame with room to spare; larger frames are staged and split. */
const SLOT_SIZE = 2 * 1024 * 1024;
const SLOTS = 4;
const WAIT_MS = 20;

/** Where frames are written: `reserve` a span, write into `target` at the offset it returns, `commit` the end. */
export interface ByteSink {
  /** The buffer the last `reserve` offset refers to. */
  readonly target: Buffer;
  /** An offset in `target` where `n` bytes may be written. */
  reserve(n: number): number;
  /** Everything in `target` up to `end` (an offset) is written. */
  commit(end: number): void;
  /** Copies `bytes` to the output. */
  write(bytes: Uint8Array): void;
}

/** Writes into one caller-visible buffer. */
export class DirectOutput implements ByteSink {
  readonly target: Buffer;
  #offset = 0;

  constructor(target: Buffer) {
    this.target = target;
  }

  get offset(): number {
    return this.#offset;
  }

  reserve(): number {
    return this.#offset;
  }

  commit(end: number): void {
    this.#offset = end;
  }

  write(bytes: Uint8Array): void {
    this.target.set(bytes, this.#offset);
    this.#offset += bytes.byteLength;
  }
}

type Lane = WorkerLane<{
  readonly ring: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
  readonly lengths: SharedArrayBuffer;
}>;

const lanes = workerLane(() => new URL('./output-worker.js', import.meta.url), () => ({
  ring: new SharedArrayBuffer(SLOT_SIZE * SLOTS),
  control: new SharedArrayBuffer(4 * CONTROL_LENGTH),
  lengths: new SharedArrayBuffer(4 * SLOTS),
}));
let jobs = 0;
let failAfter = -1;
let failBy: TestOnlyFailure = 'throw';

/**
 * Test hook: the next job fails inside the worker after copying `slots` slots, to prove the
 * callers' fallback: `run` throws, or (`'exit'`) the worker thread exits, never to answer.
 */
export function testOnlyFailNextOutputJob(slots: number, how: TestOnlyFailure = 'throw'): void {
  failAfter = slots;
  failBy = how;
}

/** Test hook: the ring, once allocated; it holds plaintext while decrypting and must be zero between messages. */
export function testOnlyOutputRing(): SharedArrayBuffer | undefined {
  return lanes.buffers?.ring;
}

/** Starts the output worker if need be; resolves once it serves jobs or cannot (see workerLane). */
export function outputWorkerStarted(): Promise<void> {
  return lanes.started();
}

/** Jobs handed to the worker so far (for tests that must know the worker path ran). */
export function offloadedOutputJobCount(): number {
  return jobs;
}

/**
 * An output of at most `size` bytes, written `longestFrame` bytes at most at a time, assembled by
 * the worker; or null when the worker is busy or unavailable, or the frames are longer than
 * OUTPUT_OFFLOAD_MAX_FRAME (then write into a DirectOutput). `published` sees the output's bytes
 * in order, a slot at a time, as each is handed to the worker (a signer follows them while they
 * are in cache).
 */
export function offloadedOutput(size: number, longestFrame: number, published?: (bytes: Uint8Array) => void): OffloadedOutput | null {
  if (longestFrame > OUTPUT_OFFLOAD_MAX_FRAME) return null;
  const l = lanes.acquire();
  return l === null ? null : new OffloadedOutput(l, size, published);
}

export class OffloadedOutput implements ByteSink {
  readonly #lane: Lane;
  readonly #control: Int32Array;
  readonly #lengths: Int32Array;
  readonly #ring: Buffer;
  readonly #result: Promise<OutputJobResult>;
  readonly #published: ((bytes: Uint8Array) => void) | undefined;
  #target: Buffer;
  /** Slots published; the current slot is `#produced % SLOTS`. */
  #produced = 0;
  /** Bytes written into the current slot. */
  #fill = 0;
  /** Frames too large for a slot are written here, then copied through the ring. */
  #staging: Buffer | undefined;
  #settled: Promise<Buffer<ArrayBuffer> | null> | undefined;

  constructor(l: Lane, size: number, published?: (bytes: Uint8Array) => void) {
    this.#lane = l;
    this.#published = published;
    this.#control = new Int32Array(l.control);
    this.#control.fill(0);
    this.#lengths = new Int32Array(l.lengths);
    this.#ring = Buffer.from(l.ring);
    this.#target = this.#ring;
    const job: OutputJob = { size, ring: l.ring, control: l.control, lengths: l.lengths, slotSize: SLOT_SIZE, slots: SLOTS, failAfter, failBy };
    this.#result = postJob<OutputJobResult>(l, job);
    // Read in #settle; a worker that dies before then (while a signature is checked) is no unhandled rejection.
    this.#result.catch(() => {});
    failAfter = -1;
    failBy = 'throw';
    jobs++;
  }

  get target(): Buffer {
    return this.#target;
  }

  reserve(n: number): number {
    if (n > SLOT_SIZE) {
      if (this.#staging === undefined || this.#staging.length < n) this.#staging = Buffer.allocUnsafe(n);
      this.#target = this.#staging;
      return 0;
    }
    if (this.#fill + n > SLOT_SIZE) this.#publish();
    this.#target = this.#ring;
    return (this.#produced % SLOTS) * SLOT_SIZE + this.#fill;
  }

  commit(end: number): void {
    if (this.#target === this.#ring) {
      this.#fill = end - (this.#produced % SLOTS) * SLOT_SIZE;
      return;
    }
    const staged = this.#target.subarray(0, end);
    this.write(staged);
    // A staged frame may be plaintext (decryption): it does not outlive the copy.
    staged.fill(0);
  }

  write(bytes: Uint8Array): void {
    for (let o = 0; o < bytes.byteLength;) {
      if (this.#fill === SLOT_SIZE) this.#publish();
      const n = Math.min(SLOT_SIZE - this.#fill, bytes.byteLength - o);
      this.#ring.set(bytes.subarray(o, o + n), (this.#produced % SLOTS) * SLOT_SIZE + this.#fill);
      this.#fill += n;
      o += n;
    }
  }

  /** Hands the current slot to the worker and waits until the next one is free. */
  #publish(): void {
    const slot = this.#produced % SLOTS;
    if (this.#published !== undefined) this.#published(this.#ring.subarray(slot * SLOT_SIZE, slot * SLOT_SIZE + this.#fill));
    this.#lengths[slot] = this.#fill;
    this.#produced++;
    this.#fill = 0;
    Atomics.store(this.#control, CONTROL_PRODUCED, this.#produced);
    Atomics.notify(this.#control, CONTROL_PRODUCED);
    const watch = new StallWatch(this.#control);
    for (;;) {
      const consumed = Atomics.load(this.#control, CONTROL_CONSUMED);
      // A failed worker reports CONSUMED_FAILED, so this never waits on it.
      if (this.#produced - consumed < SLOTS || watch.stalled(consumed)) return;
      Atomics.wait(this.#control, CONTROL_CONSUMED, consumed, WAIT_MS);
    }
  }

  /**
   * The output: an ordinary Buffer of exactly the bytes written, or null when the worker failed
   * (then nothing was lost but time: the caller writes the message again on its own thread).
   */
  finish(): Promise<Buffer<ArrayBuffer> | null> {
    this.#settled ??= this.#settle(STATE_DONE);
    return this.#settled;
  }

  /**
   * Ends the job without using its output (the caller failed part-way): resolves once the worker
   * has zeroed and dropped it, so the worker is free for the next message.
   */
  async abandon(): Promise<void> {
    this.#settled ??= this.#settle(STATE_ABANDONED);
    await this.#settled.catch(() => null);
  }

  async #settle(state: number): Promise<Buffer<ArrayBuffer> | null> {
    if (state === STATE_DONE && this.#fill > 0) this.#publish();
    this.#staging?.fill(0);
    Atomics.store(this.#control, CONTROL_STATE, state);
    Atomics.notify(this.#control, CONTROL_PRODUCED);
    try {
      const r = await this.#result.catch(() => null);
      if (r === null || !('buffer' in r) || Atomics.load(this.#control, CONTROL_CONSUMED) === CONSUMED_FAILED) return null;
      return Buffer.from(r.buffer, 0, r.length);
    } finally {
      // The worker is done with the ring (it answered or died); decryption left plaintext in it.
      new Uint8Array(this.#lane.ring).fill(0);
      release(this.#lane);
    }
  }
}
