/**
 * One `/metrics`, and one request history for the admin API's GetRequestMetrics (the console's
 * dashboard), for `coffer serve --workers N`. The workers share a port, so a scrape reaches
 * whichever worker takes the connection; answering with that worker's own counters would make
 * every counter jump between workers' values (a reset, to Prometheus), and the dashboard would show
 * one worker's share of the traffic. So the worker that takes the request asks the primary, the
 * primary asks every worker that is serving for its part as data, and the sum (server
 * aggregateMetrics, mergeHistoryBuckets) is the answer. All of it crosses the cluster's IPC channel.
 */
import type { Worker } from 'node:cluster';
import {
  aggregateMetrics, cumulativeSeries, mergeHistoryBuckets, sumSnapshots, type HistoryBucket, type MetricsExposition, type MetricsSnapshot, type RunningServer,
} from '@coffer/server';

/** What is gathered: the metrics for a scrape, or the request history of the last `minutes`. */
type Gathered = { readonly kind: 'metrics' } | { readonly kind: 'history'; readonly minutes: number };

/** A worker asks the primary for the sum over all workers. */
type MetricsRequest = { readonly type: 'coffer-metrics-request'; readonly id: number } & Gathered;
/** The primary asks a worker for its own part... */
type MetricsCollect = { readonly type: 'coffer-metrics-collect'; readonly id: number } & Gathered;
/** ...and the worker answers it: its metrics, or its request history. */
interface MetricsPart { readonly type: 'coffer-metrics-part'; readonly id: number; readonly snapshot?: MetricsSnapshot; readonly buckets?: HistoryBucket[] }
/** The primary's answer to a MetricsRequest: the sum, or why there is none. */
interface MetricsAnswer {
  readonly type: 'coffer-metrics-answer';
  readonly id: number;
  readonly exposition?: MetricsExposition;
  readonly buckets?: HistoryBucket[];
  readonly error?: string;
}

/**
 * How long the primary waits for one worker's part: a worker that does not answer is left out of
 * that scrape. Longer than a worker waits for its count of keys (2 s, server metrics.ts), so that
 * a store that does not answer costs the scrape coffer_keys only: at 2 s every worker missed the
 * cut, and the scrape had their counters of the scrape before and no gauge at all.
 */
const PART_TIMEOUT_MS = 3_000;
/** How long a worker waits for the primary (a scrape then fails with 503, as a failed collection does). */
const ANSWER_TIMEOUT_MS = 5_000;

type Message = Partial<MetricsRequest | MetricsCollect | MetricsPart | MetricsAnswer> & { kind?: string; minutes?: unknown };

/** An IPC message as one of these, whatever else the channel carries. */
function asMessage(value: unknown): Message {
  return typeof value === 'object' && value !== null ? value as Message : {};
}

/** What a request or collection asks for; undefined for a message that names nothing known. */
function gatheredOf(message: Message): Gathered | undefined {
  if (message.kind === 'metrics') return { kind: 'metrics' };
  if (message.kind === 'history' && Number.isInteger(message.minutes)) return { kind: 'history', minutes: message.minutes as number };
  return undefined;
}

/**
 * The primary's side: answers a worker's MetricsRequest with the aggregate of the parts of
 * `serving()` (the workers that listen). Call `onMessage` with every message from every worker,
 * and `stopped` with every worker that exits.
 *
 * Counters never fall between scrapes: a worker that does not answer in time is counted as it
 * last answered, and one that has stopped as it last answered for good (cumulativeSeries).
 * What a worker counted after the last scrape before it stopped is lost, as in one process that
 * stops; what it counted before stays.
 */
export function primaryMetrics(serving: () => Iterable<Worker>) {
  let nextCollection = 0;
  /** Parts awaited, by collection id and worker id. */
  const awaited = new Map<string, (part: MetricsPart | undefined) => void>();
  /** Each serving worker's counters as it last reported them, by worker id. */
  const lastCounts = new Map<number, MetricsSnapshot>();
  /** The counters of the workers that have stopped, summed into one snapshot (a chain: one update at a time). */
  let stoppedCounts: Promise<MetricsSnapshot> = Promise.resolve([]);

  const partOf = (worker: Worker, collection: number, gathered: Gathered) => new Promise<MetricsPart | undefined>((done) => {
    const key = `${collection}:${worker.id}`;
    const timer = setTimeout(() => settle(undefined), PART_TIMEOUT_MS);
    function settle(part: MetricsPart | undefined) {
      clearTimeout(timer);
      awaited.delete(key);
      done(part);
    }
    awaited.set(key, settle);
    try {
      worker.send({ type: 'coffer-metrics-collect', id: collection, ...gathered } satisfies MetricsCollect);
    } catch {
      settle(undefined);
    }
  });

  const answer = async (requester: Worker, id: number, gathered: Gathered) => {
    const collection = ++nextCollection;
    let reply: MetricsAnswer;
    try {
      const workers = [...serving()];
      const parts = await Promise.all(workers.map((worker) => partOf(worker, collection, gathered)));
      if (gathered.kind === 'history') {
        const histories = parts.map((part) => part?.buckets).filter((buckets): buckets is HistoryBucket[] => Array.isArray(buckets));
        reply = { type: 'coffer-metrics-answer', id, buckets: mergeHistoryBuckets(histories) };
      } else {
        const snapshots = workers.map((worker, i) => {
          const snapshot = parts[i]?.snapshot;
          if (!Array.isArray(snapshot)) return lastCounts.get(worker.id);
          lastCounts.set(worker.id, cumulativeSeries(snapshot));
          return snapshot;
        }).filter((snapshot): snapshot is MetricsSnapshot => snapshot !== undefined);
        const stopped = await stoppedCounts;
        reply = { type: 'coffer-metrics-answer', id, exposition: await aggregateMetrics(stopped.length > 0 ? [...snapshots, stopped] : snapshots) };
      }
    } catch (error) {
      reply = { type: 'coffer-metrics-answer', id, error: error instanceof Error ? error.message : String(error) };
    }
    if (requester.isConnected()) requester.send(reply, undefined, () => {});
  };

  return {
    /** A worker has exited: what it counted stays in every later scrape. */
    stopped(worker: Worker): void {
      const last = lastCounts.get(worker.id);
      lastCounts.delete(worker.id);
      if (last === undefined) return;
      // On failure the stopped workers' counts stay as they were: a scrape still answers.
      stoppedCounts = stoppedCounts.then((sum) => sumSnapshots(sum.length > 0 ? [sum, last] : [last]).catch(() => sum));
    },
    onMessage(worker: Worker, value: unknown): void {
      const message = asMessage(value);
      const gathered = gatheredOf(message);
      if (message.type === 'coffer-metrics-request' && typeof message.id === 'number' && gathered) void answer(worker, message.id, gathered);
      if (message.type === 'coffer-metrics-part' && typeof message.id === 'number') {
        awaited.get(`${message.id}:${worker.id}`)?.(message as MetricsPart);
      }
    },
  };
}

/**
 * A worker's side: `exposition` (the server's `metricsExposition`) and `requestMetrics` (its
 * `requestMetrics`) ask the primary, and once `serving` has named the server, collections are
 * answered with its own snapshot or history.
 */
export function workerMetrics() {
  let server: RunningServer | undefined;
  let nextRequest = 0;
  const waiting = new Map<number, (answer: MetricsAnswer | undefined) => void>();
  process.on('message', (value: unknown) => {
    const message = asMessage(value);
    if (message.type === 'coffer-metrics-answer' && typeof message.id === 'number') waiting.get(message.id)?.(message as MetricsAnswer);
    const gathered = gatheredOf(message);
    if (message.type === 'coffer-metrics-collect' && typeof message.id === 'number' && gathered) {
      const id = message.id;
      const send = (part: Pick<MetricsPart, 'snapshot' | 'buckets'>) => {
        if (process.connected) process.send!({ type: 'coffer-metrics-part', id, ...part } satisfies MetricsPart, undefined, {}, () => {});
      };
      // Not serving yet: nothing counted yet either.
      if (gathered.kind === 'history') return send({ buckets: server?.requestBuckets(gathered.minutes) ?? [] });
      if (!server) return send({ snapshot: [] });
      server.metricsSnapshot().then((snapshot) => send({ snapshot }), () => send({ snapshot: [] }));
    }
  });

  /** The primary's answer to `gathered`, or undefined when it gave none in time. */
  const ask = (gathered: Gathered) => new Promise<MetricsAnswer | undefined>((done) => {
    const id = ++nextRequest;
    const timer = setTimeout(() => settle(undefined), ANSWER_TIMEOUT_MS);
    function settle(answer: MetricsAnswer | undefined) {
      clearTimeout(timer);
      waiting.delete(id);
      done(answer);
    }
    waiting.set(id, settle);
    if (!process.connected) return settle(undefined);
    process.send!({ type: 'coffer-metrics-request', id, ...gathered } satisfies MetricsRequest, undefined, {}, (error: Error | null) => {
      if (error) settle(undefined);
    });
  });
  const failure = (answer: MetricsAnswer | undefined) => new Error(answer?.error ?? 'the primary process did not answer');

  return {
    async exposition(): Promise<MetricsExposition> {
      const answer = await ask({ kind: 'metrics' });
      if (answer?.exposition) return answer.exposition;
      throw failure(answer);
    },
    async requestMetrics(minutes: number): Promise<readonly HistoryBucket[]> {
      const answer = await ask({ kind: 'history', minutes });
      if (answer?.buckets) return answer.buckets;
      throw failure(answer);
    },
    serving(running: RunningServer): void {
      server = running;
    },
  };
}
