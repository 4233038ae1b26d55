import { KmsError } from '../errors.js';
import type { RequestQuotas } from '../quotas/request-quotas.js';
import type { ServerMetrics } from './metrics.js';
import type { RequestHistory } from './request-history.js';

/**
 * What the request pipeline tells about each request, in two calls: `charge` before the operation
 * runs (the request quota), `answered` once the answer is written (metrics and the console's
 * history). Both are a few map lookups and additions: they sit on every request's path.
 */
export class RequestObserver {
  readonly metrics: ServerMetrics;
  readonly history: RequestHistory;
  readonly #quotas: RequestQuotas | undefined;

  constructor(metrics: ServerMetrics, history: RequestHistory, quotas: RequestQuotas | undefined) {
    this.metrics = metrics;
    this.history = history;
    this.#quotas = quotas;
  }

  /** Charges a signed request to its account's quota; throws ThrottlingException when the quota is spent. */
  charge(accountId: string, operation: string, input: unknown): void {
    if (!this.#quotas) return;
    const quotaClass = this.#quotas.classOf(operation, input);
    try {
      this.#quotas.take(accountId, quotaClass);
    } catch (error) {
      if (error instanceof KmsError) this.metrics.throttled(quotaClass);
      throw error;
    }
  }

  /** One answered request: `outcome` is `success` or the error name. */
  answered(operation: string, outcome: string, seconds: number): void {
    this.metrics.request(operation, outcome, seconds);
    this.history.record(operation, outcome === 'success' ? 'success' : outcome === 'ThrottlingException' ? 'throttled' : 'error');
  }
}
