import { DependencyTimeoutException } from '../errors.js';
import { BUCKETS, INTERVAL_SECONDS, type HistoryBucket } from '../observe/request-history.js';
import type { Operation } from '../operations/operation.js';
import { integer, parseShape } from '../validate/shape.js';

const MAX_MINUTES = (BUCKETS * INTERVAL_SECONDS) / 60;

/**
 * GetRequestMetrics (Coffer admin API): this node's requests (with `--workers`, all its workers')
 * of the last `Minutes` (1..60, default 60) in ten-second buckets, oldest first, per operation: how many, how many failed, how many of
 * those were throttled. Buckets without requests are left out. Kept in memory (observe/request-history.ts),
 * so a restart starts an empty history; for long-term figures scrape /metrics.
 */
export const getRequestMetrics: Operation = async (service, body, request) => {
  const input = parseShape(body, { Minutes: integer({ min: 1, max: MAX_MINUTES }) });
  await service.access.authorizeAccount(request, 'coffer:GetRequestMetrics');
  let buckets: readonly HistoryBucket[];
  try {
    buckets = (await service.requestBuckets?.(input.Minutes ?? MAX_MINUTES)) ?? [];
  } catch (error) {
    // With --workers the history is gathered from every worker through the primary process.
    throw new DependencyTimeoutException(`The request history could not be gathered from the server's workers: ${error instanceof Error ? error.message : String(error)}.`);
  }
  return { IntervalSeconds: INTERVAL_SECONDS, Buckets: buckets };
};
