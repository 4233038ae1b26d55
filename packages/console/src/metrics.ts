import type { RequestMetrics } from './api/types.js';

/** What the dashboard charts: the last hour, its five busiest operations by name. */
export const MINUTES = 60;
const TOP_OPERATIONS = 5;

export interface Series {
  readonly name: string;
  readonly values: readonly number[];
}

export interface Timeline {
  readonly times: number[];
  readonly perSecond: Series[];
  readonly errorRate: Series[];
  readonly totals: { requests: number; errors: number; throttled: number };
}

/**
 * Buckets (empty ones may be missing) -> a full last-hour timeline: requests per second of the
 * busiest operations (the rest summed as "other") and the share of requests that failed.
 */
export function timeline(metrics: RequestMetrics, nowSeconds: number): Timeline {
  const step = metrics.IntervalSeconds > 0 ? metrics.IntervalSeconds : 10;
  // The browser's clock may lag the server's: never leave the server's newest bucket off the end.
  const newest = Math.max(-Infinity, ...metrics.Buckets.map((b) => b.Start));
  const end = Math.max(Math.floor(nowSeconds / step) * step, Math.floor(newest / step) * step);
  const times: number[] = [];
  for (let t = end - (MINUTES * 60) + step; t <= end; t += step) times.push(t);
  const byStart = new Map(metrics.Buckets.map((b) => [Math.floor(b.Start / step) * step, b]));
  const totalsByOp = new Map<string, number>();
  const totals = { requests: 0, errors: 0, throttled: 0 };
  for (const bucket of metrics.Buckets) {
    for (const [op, counts] of Object.entries(bucket.Operations)) {
      totalsByOp.set(op, (totalsByOp.get(op) ?? 0) + counts.Requests);
      totals.requests += counts.Requests;
      totals.errors += counts.Errors;
      totals.throttled += counts.Throttled;
    }
  }
  const top = [...totalsByOp].sort((a, b) => b[1] - a[1]).slice(0, TOP_OPERATIONS).map(([op]) => op);
  const names = totalsByOp.size > top.length ? [...top, 'other'] : top;
  const perSecond: Series[] = names.map((name) => ({
    name,
    values: times.map((t) => {
      const ops = byStart.get(t)?.Operations ?? {};
      const count = name === 'other'
        ? Object.entries(ops).filter(([op]) => !top.includes(op)).reduce((sum, [, c]) => sum + c.Requests, 0)
        : ops[name]?.Requests ?? 0;
      return count / step;
    }),
  }));
  const errorRate: Series[] = [{
    name: 'errors (% of requests)',
    values: times.map((t) => {
      const counts = Object.values(byStart.get(t)?.Operations ?? {});
      const requests = counts.reduce((s, c) => s + c.Requests, 0);
      const errors = counts.reduce((s, c) => s + c.Errors, 0);
      return requests === 0 ? 0 : (100 * errors) / requests;
    }),
  }];
  return { times, perSecond, errorRate, totals };
}

