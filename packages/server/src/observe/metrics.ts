import { AggregatorRegistry, collectDefaultMetrics, Counter, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { FastCounter, FastHistogram, type CounterCell, type HistogramCell } from './series.js';
import type { RootKeyHealth } from '../root/root-key-health.js';
import type { Store } from '../store/store.js';
import { withTimeout } from './with-timeout.js';

/** The key states Coffer's keys take (docs/operations.md, coffer_keys). */
const KEY_STATES_COUNTED = ['Enabled', 'Disabled', 'PendingDeletion', 'PendingImport'] as const;

/** How long a scrape waits for the store's count of keys: Prometheus's default scrape timeout is 10 s. */
const KEY_COUNT_TIMEOUT_MS = 2_000;

/** A cache's running totals, read on scrape: the caches count with plain integers on their hot path. */
export interface CacheStats {
  readonly hits: number;
  readonly misses: number;
}

export interface MetricSources {
  readonly store: Store;
  readonly caches: Readonly<Record<string, CacheStats>>;
}

/** What `GET /metrics` answers. */
export interface MetricsExposition {
  readonly contentType: string;
  readonly text: string;
}

/** One process's metrics as data (prom-client's JSON form), as it crosses to another process. */
export type MetricsSnapshot = MetricObjectWithValues<MetricValue<string>>[];

/**
 * The metrics of several processes serving one port (`coffer serve --workers`) as one scrape:
 * counters and histograms summed, each series as its `aggregator` says otherwise (the key counts,
 * read from the one store, are taken once; prom-client's process metrics carry their own).
 */
export async function aggregateMetrics(snapshots: readonly MetricsSnapshot[]): Promise<MetricsExposition> {
  const aggregated = AggregatorRegistry.aggregate(snapshots as MetricsSnapshot[]);
  return { contentType: aggregated.contentType, text: await aggregated.metrics() };
}

/**
 * The series of `snapshot` that only ever grow, counters and histograms summed across processes:
 * what a stopped worker of `coffer serve --workers` leaves behind, so that the requests it
 * answered stay counted. Without them a sum would fall when a worker stops, and Prometheus
 * takes any fall of a counter for a reset: `rate()` would count every other worker's whole
 * total again. Gauges (in flight, memory, the key counts) describe the present, and go.
 */
export function cumulativeSeries(snapshot: MetricsSnapshot): MetricsSnapshot {
  return snapshot.filter((metric) => {
    // prom-client's types declare a numeric enum; its JSON holds the names.
    const type = metric.type as unknown as string;
    return (type === 'counter' || type === 'histogram') && (metric.aggregator ?? 'sum') === 'sum';
  });
}

/** Several snapshots as one, summed as aggregateMetrics sums them. */
export async function sumSnapshots(snapshots: readonly MetricsSnapshot[]): Promise<MetricsSnapshot> {
  return await AggregatorRegistry.aggregate(snapshots as MetricsSnapshot[]).getMetricsAsJSON() as MetricsSnapshot;
}

/** Request latencies: 0.5 ms to 5 s, where a KMS request falls (most are a few ms). */
const REQUEST_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
/** Store calls: SQLite answers in microseconds, PostgreSQL in a round trip or more. */
const STORE_BUCKETS = [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

/**
 * The process's own metrics (CPU, memory, event-loop lag, GC): one set per process, since they
 * describe the process, and since prom-client's collectors cannot be stopped (a registry each
 * would leave a 10 ms event-loop monitor running for every server a test process ever started).
 */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/**
 * The Prometheus metrics of one server: a registry of its own (tests run several servers in one
 * process, so nothing goes to prom-client's global registry). The request-path series are
 * series.ts's, resolved once per label set and kept here: a request costs map lookups and additions.
 */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly #requests = new FastCounter('coffer_requests_total', 'Requests answered, by operation and outcome (success or the error name).', ['operation', 'outcome']);
  readonly #duration = new FastHistogram('coffer_request_duration_seconds', 'Time from the request arriving to its answer being written, by operation.', ['operation'], REQUEST_BUCKETS);
  readonly #throttled = new FastCounter('coffer_throttled_requests_total', 'Requests refused with ThrottlingException, by quota class.', ['class']);
  readonly #storeDuration = new FastHistogram('coffer_store_operation_duration_seconds', 'Time of each store call, by store method.', ['method'], STORE_BUCKETS);
  readonly #requestCells = new Map<string, Map<string, CounterCell>>();
  readonly #durationCells = new Map<string, HistogramCell>();
  readonly #throttledCells = new Map<string, CounterCell>();
  /** The root keys' health, once they are open (watchRootKey): the store is timed before they are. */
  #rootKey: Pick<RootKeyHealth, 'check' | 'probes'> | undefined;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    processMetrics();
    for (const series of [this.#requests, this.#duration, this.#throttled, this.#storeDuration]) this.registry.registerMetric(series.asMetric());
    new Gauge({
      name: 'coffer_keys', help: 'KMS keys in the store, by key state (read from the store on scrape).',
      // Every process of one server reads the same store: their counts are one count, not a sum.
      labelNames: ['state'], registers, aggregator: 'max',
      async collect() {
        this.reset();
        // A store that cannot be read (PostgreSQL down, or not answering) leaves these series out
        // of the scrape, in time for the scraper's timeout, rather than failing it: the request
        // counters are what show such an outage, and they must still be scraped.
        let counts: Record<string, number> | string;
        try {
          counts = await withTimeout(sources.store.countKeysByState(), KEY_COUNT_TIMEOUT_MS, 'no answer in time');
        } catch {
          return;
        }
        if (typeof counts === 'string') return;
        // The states a Coffer key can be in show as 0 when no key is in them, so a series does not
        // vanish when its last key leaves the state (a graph gap, an alert on 'absent' that fires).
        for (const state of KEY_STATES_COUNTED) this.set({ state }, 0);
        for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
      },
    });
    // The caches count themselves; each scrape adds what they counted since the last one (0 too, so every series shows).
    const cacheCounter = (name: string, help: string, field: keyof CacheStats) => {
      const seen = new Map<string, number>();
      return new Counter({
        name, help, labelNames: ['cache'], registers,
        collect() {
          for (const [cache, stats] of Object.entries(sources.caches)) {
            this.inc({ cache }, Math.max(0, stats[field] - (seen.get(cache) ?? 0)));
            seen.set(cache, stats[field]);
          }
        },
      });
    };
    cacheCounter('coffer_cache_hits_total', 'Lookups answered from an in-memory cache (backing keys, access keys).', 'hits');
    cacheCounter('coffer_cache_misses_total', 'Lookups that had to read the store and unwrap (backing keys, access keys).', 'misses');
    const metrics = this;
    new Gauge({
      name: 'coffer_root_key_usable', help: 'Whether the root keys can be used on this node (1) or not (0), as /readyz reports (a probe shared with it, at most one per interval).',
      // One process that cannot use its root key makes the port unready for the requests it gets.
      registers, aggregator: 'min',
      async collect() {
        if (metrics.#rootKey) this.set((await metrics.#rootKey.check()) === undefined ? 1 : 0);
      },
    });
    const seenProbes = { usable: 0, unusable: 0 };
    new Counter({
      name: 'coffer_root_key_probes_total', help: 'Probes of the root keys\' sources (one decrypt on the token per PKCS#11 root key), by outcome: callers within an interval share one.',
      labelNames: ['outcome'], registers,
      async collect() {
        // After the probe this scrape may start (the gauge's, shared): its count is in this scrape.
        await metrics.#rootKey?.check();
        const probes = metrics.#rootKey?.probes ?? seenProbes;
        for (const outcome of ['usable', 'unusable'] as const) {
          this.inc({ outcome }, Math.max(0, probes[outcome] - seenProbes[outcome]));
          seenProbes[outcome] = probes[outcome];
        }
      },
    });
  }

  /** Reads the root keys' health on each scrape (coffer_root_key_usable, coffer_root_key_probes_total). */
  watchRootKey(health: Pick<RootKeyHealth, 'check' | 'probes'>): void {
    this.#rootKey = health;
  }

  /** The text a scrape gets: this server's metrics and the process's. */
  async exposition(): Promise<MetricsExposition> {
    const merged = this.#withProcessMetrics();
    return { contentType: merged.contentType, text: await merged.metrics() };
  }

  /** The same as data, for a process that answers for several (aggregateMetrics). */
  async snapshot(): Promise<MetricsSnapshot> {
    return this.#withProcessMetrics().getMetricsAsJSON();
  }

  #withProcessMetrics(): Registry {
    return Registry.merge([processMetrics(), this.registry]);
  }

  /** One answered request: `outcome` is `success` or the error name; `seconds` its duration. */
  request(operation: string, outcome: string, seconds: number): void {
    let byOutcome = this.#requestCells.get(operation);
    if (!byOutcome) this.#requestCells.set(operation, (byOutcome = new Map()));
    let counter = byOutcome.get(outcome);
    if (!counter) byOutcome.set(outcome, (counter = this.#requests.cell(operation, outcome)));
    counter.inc();
    let histogram = this.#durationCells.get(operation);
    if (!histogram) this.#durationCells.set(operation, (histogram = this.#duration.cell(operation)));
    histogram.observe(seconds);
  }

  throttled(quotaClass: string): void {
    let counter = this.#throttledCells.get(quotaClass);
    if (!counter) this.#throttledCells.set(quotaClass, (counter = this.#throttled.cell(quotaClass)));
    counter.inc();
  }

  /** The histogram cell of one store method, resolved once by the timing decorator. */
  storeTimer(method: string): HistogramCell {
    return this.#storeDuration.cell(method);
  }
}
