/**
 * One `/metrics` for `coffer serve --workers N`. The workers share a port, so a scrape reaches
 * whichever worker takes the connection; answering with that worker's own counters would make
 * every counter jump between workers' values (a reset, to Prometheus). So the worker that takes a
 * scrape asks the primary, the primary asks every worker that is serving for its metrics as data,
 * and the sum (server aggregateMetrics) is the answer. All of it crosses the cluster's IPC channel.
 */
import type { Worker } from 'node:cluster';
import { aggregateMetrics, type MetricsExposition, type MetricsSnapshot, type RunningServer } from '@coffer/server';

/** A worker asks the primary for the scrape of all workers. */
interface MetricsRequest { readonly type: 'coffer-metrics-request'; readonly id: number }
/** The primary asks a worker for its own metrics... */
interface MetricsCollect { readonly type: 'coffer-metrics-collect'; readonly id: number }
/** ...and the worker answers them. */
interface MetricsPart { readonly type: 'coffer-metrics-part'; readonly id: number; readonly snapshot: MetricsSnapshot }
/** The primary's answer to a MetricsRequest: the scrape, or why there is none. */
interface MetricsAnswer { readonly type: 'coffer-metrics-answer'; readonly id: number; readonly exposition?: MetricsExposition; readonly error?: string }

/** How long the primary waits for one worker's part: a worker that does not answer is left out of that scrape. */
const PART_TIMEOUT_MS = 2_000;
/** How long a worker waits for the primary (a scrape then fails with 503, as a failed collection does). */
const ANSWER_TIMEOUT_MS = 5_000;

type Message = Partial<MetricsRequest | MetricsCollect | MetricsPart | MetricsAnswer>;

/** An IPC message as one of these, whatever else the channel carries. */
function asMessage(value: unknown): Message {
  return typeof value === 'object' && value !== null ? value as Message : {};
}

/**
 * The primary's side: answers a worker's MetricsRequest with the aggregate of the parts of
 * `serving()` (the workers that listen). Call `onMessage` with every message from every worker.
 */
export function primaryMetrics(serving: () => Iterable<Worker>) {
  let nextCollection = 0;
  /** Parts awaited, by collection id and worker id. */
  const awaited = new Map<string, (snapshot: MetricsSnapshot | undefined) => void>();

  const partOf = (worker: Worker, collection: number) => new Promise<MetricsSnapshot | undefined>((done) => {
    const key = `${collection}:${worker.id}`;
    const timer = setTimeout(() => settle(undefined), PART_TIMEOUT_MS);
    function settle(snapshot: MetricsSnapshot | undefined) {
      clearTimeout(timer);
      awaited.delete(key);
      done(snapshot);
    }
    awaited.set(key, settle);
    try {
      worker.send({ type: 'coffer-metrics-collect', id: collection } satisfies MetricsCollect);
    } catch {
      settle(undefined);
    }
  });

  const answer = async (requester: Worker, id: number) => {
    const collection = ++nextCollection;
    let reply: MetricsAnswer;
    try {
      const parts = await Promise.all([...serving()].map((worker) => partOf(worker, collection)));
      const snapshots = parts.filter((part): part is MetricsSnapshot => Array.isArray(part));
      reply = { type: 'coffer-metrics-answer', id, exposition: await aggregateMetrics(snapshots) };
    } catch (error) {
      reply = { type: 'coffer-metrics-answer', id, error: error instanceof Error ? error.message : String(error) };
    }
    if (requester.isConnected()) requester.send(reply, undefined, () => {});
  };

  return {
    onMessage(worker: Worker, value: unknown): void {
      const message = asMessage(value);
      if (message.type === 'coffer-metrics-request' && typeof message.id === 'number') void answer(worker, message.id);
      if (message.type === 'coffer-metrics-part' && typeof message.id === 'number') {
        awaited.get(`${message.id}:${worker.id}`)?.((message as MetricsPart).snapshot);
      }
    },
  };
}

/**
 * A worker's side: `exposition` (the server's `metricsExposition`) asks the primary, and once
 * `serving` has named the server, collections are answered with its snapshot.
 */
export function workerMetrics() {
  let server: RunningServer | undefined;
  let nextRequest = 0;
  const waiting = new Map<number, (answer: MetricsAnswer | undefined) => void>();
  process.on('message', (value: unknown) => {
    const message = asMessage(value);
    if (message.type === 'coffer-metrics-answer' && typeof message.id === 'number') waiting.get(message.id)?.(message as MetricsAnswer);
    if (message.type === 'coffer-metrics-collect' && typeof message.id === 'number') {
      const id = message.id;
      const send = (snapshot: MetricsSnapshot) => {
        if (process.connected) process.send!({ type: 'coffer-metrics-part', id, snapshot } satisfies MetricsPart, undefined, {}, () => {});
      };
      // Not serving yet: nothing counted yet either.
      if (!server) return send([]);
      server.metricsSnapshot().then(send, () => send([]));
    }
  });

  const exposition = () => new Promise<MetricsExposition>((done, fail) => {
    const id = ++nextRequest;
    const timer = setTimeout(() => settle(undefined), ANSWER_TIMEOUT_MS);
    function settle(answer: MetricsAnswer | undefined) {
      clearTimeout(timer);
      waiting.delete(id);
      if (answer?.exposition) done(answer.exposition);
      else fail(new Error(answer?.error ?? 'the primary process did not answer'));
    }
    waiting.set(id, settle);
    if (!process.connected) return settle(undefined);
    process.send!({ type: 'coffer-metrics-request', id } satisfies MetricsRequest, undefined, {}, (error: Error | null) => {
      if (error) settle(undefined);
    });
  });

  return {
    exposition,
    serving(running: RunningServer): void {
      server = running;
    },
  };
}
