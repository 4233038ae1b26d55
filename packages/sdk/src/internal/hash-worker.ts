/**
 * Worker side of internal/hash-offload.ts: hashes the slices the main thread copies into a
 * shared ring, then signs or verifies. Runs in a worker thread; not part of the public API.
 */
import { createSign, createVerify, type KeyObject } from 'node:crypto';
import { serveJobs, testOnlyFail } from './worker-thread.js';

export interface HashJob {
  readonly kind: 'sign' | 'verify';
  readonly hash: string;
  readonly key: KeyObject;
  readonly ring: SharedArrayBuffer;
  /** Int32: [0] slices produced, [1] slices consumed, [2] 1 when the producer is done. */
  readonly control: SharedArrayBuffer;
  /** Int32 per slot: bytes in the slot. */
  readonly lengths: SharedArrayBuffer;
  /** verify: u16 length then the signature, written by the producer before it sets done. */
  readonly signature: SharedArrayBuffer;
  readonly slotSize: number;
  readonly slots: number;
  /** Test hook: the thread exits after hashing the first slice. */
  readonly testOnlyExit: boolean;
}

export type HashJobResult = { readonly signature: Uint8Array } | { readonly valid: boolean } | { readonly error: string };

/** Slices the ring holds; how long a wait lasts before re-checking the done flag. */
const WAIT_MS = 20;

function run(job: HashJob): HashJobResult {
  const control = new Int32Array(job.control);
  const lengths = new Int32Array(job.lengths);
  const ring = new Uint8Array(job.ring);
  const h = job.kind === 'sign' ? createSign(job.hash) : createVerify(job.hash);
  let consumed = 0;
  for (;;) {
    const produced = Atomics.load(control, 0);
    if (consumed < produced) {
      const slot = consumed % job.slots;
      h.update(ring.subarray(slot * job.slotSize, slot * job.slotSize + lengths[slot]!));
      consumed++;
      if (job.testOnlyExit) testOnlyFail('exit');
      Atomics.store(control, 1, consumed);
      Atomics.notify(control, 1);
      continue;
    }
    if (Atomics.load(control, 2) === 1 && consumed === Atomics.load(control, 0)) break;
    Atomics.wait(control, 0, produced, WAIT_MS);
  }
  if (job.kind === 'sign') return { signature: (h as ReturnType<typeof createSign>).sign({ key: job.key, dsaEncoding: 'der' }) };
  const sig = new Uint8Array(job.signature);
  const length = (sig[0]! << 8) | sig[1]!;
  try {
    return { valid: (h as ReturnType<typeof createVerify>).verify({ key: job.key, dsaEncoding: 'der' }, sig.subarray(2, 2 + length)) };
  } catch {
    return { valid: false };
  }
}

serveJobs(run);
