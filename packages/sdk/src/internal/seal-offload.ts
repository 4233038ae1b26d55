/**
 * Large messages in the buffer API: a worker thread seals the frames while the calling thread
 * writes the message (and, for a signed one, feeds each slot of it to the signer, which hashes on
 * another worker: internal/hash-offload.ts).
 *
 * Why this split: node:crypto allocates a new buffer for every `update`, so sealing a 256 MiB
 * message allocates (and drops) over 256 MiB in small pieces, and on the calling thread that
 * churn starts a full garbage collection every few dozen MiB, each marking the whole
 * application heap: in the bench that cost about as much CPU as AES-GCM itself. In the worker
 * the churn meets a heap of a few MiB. The other large cost, the first-touch page faults of the
 * fresh result, stays with the calling thread, which owns the result and copies each sealed slot
 * into it. So: the calling thread copies plaintext into a shared input ring, the worker seals
 * slot by slot into a shared output ring, the calling thread copies the frames out. The rings
 * are allocated once; the input ring is zeroed after each message. The content key goes to the
 * worker as a KeyObject (structured clone shares the key; no key bytes are serialized).
 *
 * Falls back (answers null up front) when the worker is busy with another message, cannot
 * start, or a slot cannot hold one frame; answers null at the end when the worker failed
 * part-way (the caller then seals the message on its own thread: same key and IVs, same bytes).
 */
import type { FrameSealer } from './frames.js';
import { regularFrameSize } from './frames.js';
import {
  CONSUMED_FAILED, CONTROL_CONSUMED, CONTROL_INPUT_PRODUCED, CONTROL_LENGTH, CONTROL_OUTPUT_CONSUMED, CONTROL_OUTPUT_PRODUCED,
  CONTROL_STATE, frameCount, STATE_ABANDONED, type SealJob, type SealJobResult,
} from './seal-worker.js';
import { postJob, release, StallWatch, workerLane, type TestOnlyFailure, type WorkerLane } from './worker-thread.js';

/**
 * Plaintext per input slot. Frames that do not fit (the default 1 MiB frames among them) are
 * sealed on the calling thread with internal/output-offload.ts: measured, that was faster for
 * 1 MiB frames (their churn is a few large buffers), and it keeps these rings small.
 */
const SLOT_SIZE = 1024 * 1024;
/** A final frame's header is 8 bytes longer than a regular one's. */
const OUTPUT_SLOT_SIZE = SLOT_SIZE + 8;
const SLOTS = 4;
const WAIT_MS = 20;

type Lane = WorkerLane<{
  readonly input: SharedArrayBuffer;
  readonly output: SharedArrayBuffer;
  readonly lengths: SharedArrayBuffer;
  readonly control: SharedArrayBuffer;
}>;

const lanes = workerLane(() => new URL('./seal-worker.js', import.meta.url), () => ({
  input: new SharedArrayBuffer(SLOT_SIZE * SLOTS),
  output: new SharedArrayBuffer(OUTPUT_SLOT_SIZE * SLOTS),
  lengths: new SharedArrayBuffer(4 * SLOTS),
  control: new SharedArrayBuffer(4 * CONTROL_LENGTH),
}));
let jobs = 0;
let failAfter = -1;
let failBy: TestOnlyFailure = 'throw';

/**
 * Test hook: the next job fails inside the worker before sealing slot `slots`, to prove the
 * caller's fallback: `run` throws, or (`'exit'`) the worker thread exits, never to answer.
 */
export function testOnlyFailNextSealJob(slots: number, how: TestOnlyFailure = 'throw'): void {
  failAfter = slots;
  failBy = how;
}

/** Test hook: the rings, once allocated; the input ring, which holds plaintext, must be zero between messages. */
export function testOnlySealRings(): { readonly input: SharedArrayBuffer; readonly output: SharedArrayBuffer } | undefined {
  return lanes.buffers;
}

/** Starts the sealing worker if need be; resolves once it serves jobs or cannot (see workerLane). */
export function sealWorkerStarted(): Promise<void> {
  return lanes.started();
}

/** Jobs handed to the worker so far (for tests that must know the worker path ran). */
export function sealJobCount(): number {
  return jobs;
}

/** Whether frames of `frameLength` fit the rings (the sealed frames of a slot fit an output slot). */
export function sealsInWorker(frameLength: number): boolean {
  return regularFrameSize(frameLength) <= SLOT_SIZE;
}

/** A message written up to `end`: header and framed body. `out` past `end` is not initialised. */
export interface SealedBody {
  readonly out: Buffer<ArrayBuffer>;
  readonly end: number;
}

/**
 * The message `header` ‖ framed body of `plaintext`, its frames sealed by the worker, in a new
 * buffer of `size` bytes (the caller writes a footer after `end`, if any, and must zero the rest);
 * resolves to null when the worker failed part-way. `sealed(out, end)` is called on this thread
 * as each slot of frames lands in `out` (a signer follows the bytes while they are in cache).
 * Answers null at once when the worker is busy or unavailable, or the frames do not fit its ring
 * (seal on the calling thread then).
 */
export function encryptThroughWorker(
  plaintext: Uint8Array, frameLength: number, sealer: FrameSealer, header: Uint8Array, size: number, sealed?: (out: Buffer, end: number) => void,
): Promise<SealedBody | null> | null {
  if (!sealsInWorker(frameLength)) return null;
  const lane = lanes.acquire();
  if (lane === null) return null;
  const out = Buffer.allocUnsafe(size);
  out.set(header);
  const control = new Int32Array(lane.control);
  control.fill(0);
  const framesPerSlot = Math.floor(SLOT_SIZE / regularFrameSize(frameLength));
  const job: SealJob = {
    sealer: sealer.parts, length: plaintext.byteLength, frameLength, framesPerSlot, input: lane.input, output: lane.output,
    inputSlotSize: SLOT_SIZE, outputSlotSize: OUTPUT_SLOT_SIZE, slots: SLOTS, lengths: lane.lengths, control: lane.control, failAfter, failBy,
  };
  const result = postJob<SealJobResult>(lane, job);
  failAfter = -1;
  failBy = 'throw';
  jobs++;
  let end: number | null;
  try {
    end = copyThrough(lane, plaintext, framesPerSlot * frameLength, frameCount(plaintext.byteLength, frameLength), framesPerSlot, out, header.byteLength, sealed);
  } catch (e) {
    Atomics.store(control, CONTROL_STATE, STATE_ABANDONED);
    Atomics.notify(control, CONTROL_INPUT_PRODUCED);
    Atomics.notify(control, CONTROL_OUTPUT_CONSUMED);
    void settle(lane, result);
    throw e;
  }
  return settle(lane, result).then((ok) => (ok && end !== null ? { out, end } : null));
}

/**
 * The calling thread's side: keeps the input ring full and copies each sealed slot into `out`.
 * Null when the worker reported a failure.
 */
function copyThrough(
  lane: Lane, plaintext: Uint8Array, slotPlaintext: number, frames: number, framesPerSlot: number, out: Buffer, offset: number,
  sealed: ((out: Buffer, end: number) => void) | undefined,
): number | null {
  const control = new Int32Array(lane.control);
  const lengths = new Int32Array(lane.lengths);
  const input = Buffer.from(lane.input);
  const output = Buffer.from(lane.output);
  const slots = Math.ceil(frames / framesPerSlot);
  let fed = 0;
  let o = offset;
  const watch = new StallWatch(control);
  for (let copied = 0; copied < slots;) {
    const consumed = Atomics.load(control, CONTROL_CONSUMED);
    if (consumed === CONSUMED_FAILED) return null;
    for (; fed < slots && fed - consumed < SLOTS; fed++) {
      const from = fed * slotPlaintext;
      input.set(plaintext.subarray(from, Math.min(plaintext.byteLength, from + slotPlaintext)), (fed % SLOTS) * SLOT_SIZE);
      Atomics.store(control, CONTROL_INPUT_PRODUCED, fed + 1);
      Atomics.notify(control, CONTROL_INPUT_PRODUCED);
    }
    const produced = Atomics.load(control, CONTROL_OUTPUT_PRODUCED);
    if (copied < produced) {
      const base = (copied % SLOTS) * OUTPUT_SLOT_SIZE;
      o += output.copy(out, o, base, base + lengths[copied % SLOTS]!);
      copied++;
      Atomics.store(control, CONTROL_OUTPUT_CONSUMED, copied);
      Atomics.notify(control, CONTROL_OUTPUT_CONSUMED);
      sealed?.(out, o);
      continue;
    }
    // A failed worker reports through CONTROL_CONSUMED, which is re-read within WAIT_MS.
    if (watch.stalled(produced)) return null;
    Atomics.wait(control, CONTROL_OUTPUT_PRODUCED, produced, WAIT_MS);
  }
  return o;
}

/** Waits for the worker's answer, zeroes the plaintext left in the input ring, frees the lane. True when the job succeeded. */
async function settle(lane: Lane, result: Promise<SealJobResult>): Promise<boolean> {
  try {
    const r = await result.catch(() => null);
    return r !== null && 'done' in r && Atomics.load(new Int32Array(lane.control), CONTROL_CONSUMED) !== CONSUMED_FAILED;
  } finally {
    new Uint8Array(lane.input).fill(0);
    release(lane);
  }
}
