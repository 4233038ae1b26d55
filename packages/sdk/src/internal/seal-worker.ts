/**
 * Worker side of internal/seal-offload.ts: seals the frames of one message, slot by slot, from
 * a shared input ring (plaintext the calling thread copies in) into a shared output ring (frames
 * the calling thread copies into the message). Runs in a worker thread; not part of the public API.
 */
import { FrameSealer, type SealerParts } from './frames.js';
import { CONSUMED_FAILED, CONTROL_CONSUMED, serveJobs, testOnlyFail, type TestOnlyFailure } from './worker-thread.js';

export interface SealJob {
  readonly sealer: SealerParts;
  /** Plaintext bytes of the message. */
  readonly length: number;
  readonly frameLength: number;
  /** Frames per slot: an input slot holds their plaintext, an output slot the sealed frames. */
  readonly framesPerSlot: number;
  readonly input: SharedArrayBuffer;
  readonly output: SharedArrayBuffer;
  readonly inputSlotSize: number;
  readonly outputSlotSize: number;
  readonly slots: number;
  /** Int32 per output slot: bytes in the slot. */
  readonly lengths: SharedArrayBuffer;
  /** Int32: see the CONTROL_* indexes. */
  readonly control: SharedArrayBuffer;
  /** Test hook: fail before this slot (-1: never), the way `failBy` says. */
  readonly failAfter: number;
  readonly failBy: TestOnlyFailure;
}

export type SealJobResult = { readonly done: true } | { readonly abandoned: true } | { readonly error: string };

/** Input slots filled by the calling thread. */
export const CONTROL_INPUT_PRODUCED = 0;
/** Input slots sealed (their plaintext no longer needed); CONSUMED_FAILED when the worker gave up. */
export { CONTROL_CONSUMED, CONSUMED_FAILED };
/** Output slots filled by the worker. */
export const CONTROL_OUTPUT_PRODUCED = 2;
/** Output slots the calling thread has copied out. */
export const CONTROL_OUTPUT_CONSUMED = 3;
/** STATE_ABANDONED: the calling thread gave up; stop. */
export const CONTROL_STATE = 4;
export const CONTROL_LENGTH = 5;
export const STATE_ABANDONED = 1;

const WAIT_MS = 20;

/** Frames of a message of `length` plaintext bytes: always one final frame, possibly empty or full. */
export function frameCount(length: number, frameLength: number): number {
  return length === 0 ? 1 : Math.ceil(length / frameLength);
}

/** Waits until `ready()`; false when the calling thread abandoned the job meanwhile. */
function waitFor(control: Int32Array, index: number, ready: () => boolean): boolean {
  for (;;) {
    if (Atomics.load(control, CONTROL_STATE) === STATE_ABANDONED) return false;
    const seen = Atomics.load(control, index);
    if (ready()) return true;
    Atomics.wait(control, index, seen, WAIT_MS);
  }
}

function run(job: SealJob): SealJobResult {
  const sealer = new FrameSealer(job.sealer);
  const control = new Int32Array(job.control);
  const lengths = new Int32Array(job.lengths);
  const input = Buffer.from(job.input);
  const output = Buffer.from(job.output);
  const { frameLength, framesPerSlot: k, slots: ring } = job;
  const frames = frameCount(job.length, frameLength);
  const slots = Math.ceil(frames / k);
  for (let s = 0; s < slots; s++) {
    if (s === job.failAfter) testOnlyFail(job.failBy);
    if (!waitFor(control, CONTROL_INPUT_PRODUCED, () => Atomics.load(control, CONTROL_INPUT_PRODUCED) > s)) return { abandoned: true };
    if (!waitFor(control, CONTROL_OUTPUT_CONSUMED, () => s - Atomics.load(control, CONTROL_OUTPUT_CONSUMED) < ring)) return { abandoned: true };
    const inBase = (s % ring) * job.inputSlotSize;
    const outBase = (s % ring) * job.outputSlotSize;
    let o = outBase;
    for (let f = s * k; f < Math.min(frames, (s + 1) * k); f++) {
      const final = f === frames - 1;
      const start = inBase + (f - s * k) * frameLength;
      const length = final ? job.length - f * frameLength : frameLength;
      o = sealer.sealInto(input.subarray(start, start + length), final, f + 1, output, o);
    }
    lengths[s % ring] = o - outBase;
    Atomics.store(control, CONTROL_CONSUMED, s + 1);
    Atomics.notify(control, CONTROL_CONSUMED);
    Atomics.store(control, CONTROL_OUTPUT_PRODUCED, s + 1);
    Atomics.notify(control, CONTROL_OUTPUT_PRODUCED);
  }
  return { done: true };
}

serveJobs(run);
