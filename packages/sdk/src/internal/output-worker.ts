/**
 * Worker side of internal/output-offload.ts: copies the slots the main thread fills in a shared
 * ring into a freshly allocated, ordinary ArrayBuffer, then transfers that buffer back. The
 * point is the first-touch page faults of the fresh buffer, which cost as much as AES-GCM over
 * it: they are taken here, on the second core. Runs in a worker thread; not part of the public API.
 */
import { CONSUMED_FAILED, CONTROL_CONSUMED, serveJobs, testOnlyFail, type TestOnlyFailure } from './worker-thread.js';

export interface OutputJob {
  /** Upper bound of the bytes the producer will write. */
  readonly size: number;
  readonly ring: SharedArrayBuffer;
  /** Int32: see the CONTROL_* indexes. */
  readonly control: SharedArrayBuffer;
  /** Int32 per slot: bytes in the slot. */
  readonly lengths: SharedArrayBuffer;
  readonly slotSize: number;
  readonly slots: number;
  /** Test hook: fail after this many slots (-1: never), the way `failBy` says. */
  readonly failAfter: number;
  readonly failBy: TestOnlyFailure;
}

/** Slots published by the producer. */
export const CONTROL_PRODUCED = 0;
/** Slots copied by the worker; set to CONSUMED_FAILED when the worker gave up (the same word in every ring: worker-thread.ts). */
export { CONTROL_CONSUMED };
/** 0 while producing, STATE_DONE when every slot is published, STATE_ABANDONED to drop the output. */
export const CONTROL_STATE = 2;
export const CONTROL_LENGTH = 3;
export const STATE_DONE = 1;
export const STATE_ABANDONED = 2;
/** Larger than any count of slots a message can fill: the producer never waits on it. */
export { CONSUMED_FAILED };

export type OutputJobResult =
  | { readonly buffer: ArrayBuffer; readonly length: number }
  | { readonly abandoned: true }
  | { readonly error: string };

/** How long a wait lasts before re-checking the state (the producer notifies, this is a backstop). */
const WAIT_MS = 20;

function run(job: OutputJob): OutputJobResult {
  const control = new Int32Array(job.control);
  const lengths = new Int32Array(job.lengths);
  const ring = new Uint8Array(job.ring);
  // Zero-filled by the allocator, so nothing past the written length is ever uninitialised.
  const out = new Uint8Array(new ArrayBuffer(job.size));
  let written = 0;
  let consumed = 0;
  try {
    for (;;) {
      // State before count: the producer publishes its last slot before it sets STATE_DONE.
      const state = Atomics.load(control, CONTROL_STATE);
      const produced = Atomics.load(control, CONTROL_PRODUCED);
      if (state === STATE_ABANDONED) {
        // The message failed: what was copied may be plaintext that never verified.
        out.fill(0, 0, written);
        return { abandoned: true };
      }
      if (consumed < produced) {
        if (consumed === job.failAfter) testOnlyFail(job.failBy);
        const slot = consumed % job.slots;
        const length = lengths[slot]!;
        if (written + length > out.byteLength) throw new RangeError('producer wrote past the announced size');
        out.set(ring.subarray(slot * job.slotSize, slot * job.slotSize + length), written);
        written += length;
        consumed++;
        Atomics.store(control, CONTROL_CONSUMED, consumed);
        Atomics.notify(control, CONTROL_CONSUMED);
        continue;
      }
      if (state === STATE_DONE) return { buffer: out.buffer, length: written };
      Atomics.wait(control, CONTROL_PRODUCED, produced, WAIT_MS);
    }
  } catch (e) {
    out.fill(0, 0, written);
    throw e;
  }
}

serveJobs(run, (result) => ('buffer' in result ? [result.buffer] : []));
