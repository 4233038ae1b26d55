import type { Metric } from 'prom-client';

/**
 * Counters and histograms for the request path. prom-client's own label children hash and
 * validate their labels on every call (microseconds each); these keep one plain cell per label
 * set, resolved once by the caller and then incremented, and are turned into prom-client's
 * exposition shape only when /metrics is scraped (the registry formats them with the rest).
 */
type Labels = Record<string, string | number>;

export class CounterCell {
  value = 0;

  inc(): void {
    this.value++;
  }
}

export class HistogramCell {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    this.sum += value;
    this.count++;
    // Per-bucket counts, made cumulative on scrape; a value above the last bound is only in +Inf.
    const bounds = this.bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        return;
      }
    }
  }
}

abstract class Series<Cell> {
  readonly aggregator = 'sum';
  protected readonly cells = new Map<string, { labels: Labels; cell: Cell }>();

  constructor(readonly name: string, readonly help: string, readonly labelNames: readonly string[]) {}

  /** The cell of one label set: look it up once and keep it. */
  cell(...values: string[]): Cell {
    const key = values.join('\u0000');
    let entry = this.cells.get(key);
    if (!entry) {
      const labels: Labels = {};
      this.labelNames.forEach((name, i) => (labels[name] = values[i] ?? ''));
      this.cells.set(key, (entry = { labels, cell: this.make() }));
    }
    return entry.cell;
  }

  protected abstract make(): Cell;

  reset(): void {
    this.cells.clear();
  }

  /** As a prom-client metric, to register. */
  asMetric(): Metric {
    return this as unknown as Metric;
  }
}

export class FastCounter extends Series<CounterCell> {
  readonly type = 'counter';

  protected make(): CounterCell {
    return new CounterCell();
  }

  async get() {
    return {
      name: this.name, help: this.help, type: this.type, aggregator: this.aggregator,
      values: [...this.cells.values()].map(({ labels, cell }) => ({ labels, value: cell.value })),
    };
  }
}

export class FastHistogram extends Series<HistogramCell> {
  readonly type = 'histogram';

  constructor(name: string, help: string, labelNames: readonly string[], readonly bounds: readonly number[]) {
    super(name, help, labelNames);
  }

  protected make(): HistogramCell {
    return new HistogramCell(this.bounds);
  }

  async get() {
    const values: Array<{ metricName: string; labels: Labels; value: number }> = [];
    for (const { labels, cell } of this.cells.values()) {
      let cumulative = 0;
      this.bounds.forEach((bound, i) => {
        cumulative += cell.counts[i]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: bound }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: cell.count });
      values.push({ metricName: `${this.name}_sum`, labels, value: cell.sum });
      values.push({ metricName: `${this.name}_count`, labels, value: cell.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
