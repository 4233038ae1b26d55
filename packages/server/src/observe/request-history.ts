/**
 * The last hour of requests in memory, for the console's charts (admin API GetRequestMetrics): a
 * ring of 360 ten-second buckets, each with per-operation counts. A slot is reused when its ten
 * seconds come round again an hour later; a slot whose start is older than the hour is stale and
 * never reported. Nothing here survives a restart, and each server node keeps its own (the
 * workers of `coffer serve --workers` each keep one too, summed by mergeHistoryBuckets).
 */
export const INTERVAL_SECONDS = 10;
export const BUCKETS = 360;

export interface OperationCounts {
  Requests: number;
  Errors: number;
  Throttled: number;
}

interface Bucket {
  /** Epoch seconds, a multiple of INTERVAL_SECONDS; -1 for a slot never used. */
  start: number;
  operations: Map<string, OperationCounts>;
}

export interface HistoryBucket {
  readonly Start: number;
  readonly Operations: Record<string, OperationCounts>;
}

export class RequestHistory {
  readonly #ring: Bucket[] = Array.from({ length: BUCKETS }, () => ({ start: -1, operations: new Map() }));
  readonly #clock: () => number;

  /** `clock` is epoch ms; tests pass their own. */
  constructor(clock: () => number = Date.now) {
    this.#clock = clock;
  }

  record(operation: string, outcome: 'success' | 'error' | 'throttled'): void {
    const start = Math.floor(this.#clock() / 1000 / INTERVAL_SECONDS) * INTERVAL_SECONDS;
    const bucket = this.#ring[(start / INTERVAL_SECONDS) % BUCKETS]!;
    if (bucket.start !== start) {
      bucket.start = start;
      bucket.operations.clear();
    }
    let counts = bucket.operations.get(operation);
    if (!counts) bucket.operations.set(operation, (counts = { Requests: 0, Errors: 0, Throttled: 0 }));
    counts.Requests++;
    if (outcome !== 'success') counts.Errors++;
    if (outcome === 'throttled') counts.Throttled++;
  }

  /** The buckets of the last `minutes` that saw requests, oldest first. */
  buckets(minutes: number): HistoryBucket[] {
    const now = Math.floor(this.#clock() / 1000 / INTERVAL_SECONDS) * INTERVAL_SECONDS;
    const oldest = now - (minutes * 60 - INTERVAL_SECONDS);
    return this.#ring
      .filter((b) => b.start >= oldest && b.start <= now && b.operations.size > 0)
      .sort((a, b) => a.start - b.start)
      .map((b) => ({ Start: b.start, Operations: Object.fromEntries([...b.operations].map(([op, c]) => [op, { ...c }])) }));
  }
}

/**
 * The histories of several processes serving one port as one: buckets with the same start are
 * one bucket, each operation's counts summed. Oldest first, as each part is.
 */
export function mergeHistoryBuckets(parts: readonly (readonly HistoryBucket[])[]): HistoryBucket[] {
  const byStart = new Map<number, Map<string, OperationCounts>>();
  for (const part of parts) {
    for (const bucket of part) {
      let operations = byStart.get(bucket.Start);
      if (!operations) byStart.set(bucket.Start, (operations = new Map()));
      for (const [operation, counts] of Object.entries(bucket.Operations)) {
        const sum = operations.get(operation);
        if (!sum) operations.set(operation, { ...counts });
        else {
          sum.Requests += counts.Requests;
          sum.Errors += counts.Errors;
          sum.Throttled += counts.Throttled;
        }
      }
    }
  }
  return [...byStart]
    .sort(([a], [b]) => a - b)
    .map(([start, operations]) => ({ Start: start, Operations: Object.fromEntries(operations) }));
}
