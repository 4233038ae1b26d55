import { ThrottlingException } from '../errors.js';
import { defaultQuotaRates, quotaClassOf, type QuotaRates } from './quota-classes.js';

/** AWS's message for a throttled KMS request. */
export const THROTTLING_MESSAGE = 'You have exceeded the rate at which you may call KMS. Reduce the frequency of your calls.';

interface Bucket {
  tokens: number;
  /** Clock ms of the last refill. */
  at: number;
}

export interface QuotaSettings {
  /** Requests per second for some classes; the rest keep their defaults. 0 or less: that class is unlimited. */
  readonly rates?: QuotaRates;
  /** The clock in ms, for tests that move time by hand. */
  readonly clockForTests?: () => number;
}

/**
 * Token buckets, one per account and quota class: each holds up to one second's worth of requests
 * (so a burst of `rate` passes at once; at least one) and refills continuously at `rate` per second. A request
 * that finds its bucket empty is refused with ThrottlingException and takes no token, so a client
 * that backs off gets through as soon as the rate allows.
 */
export class RequestQuotas {
  readonly #rates: Map<string, number>;
  /** Account id -> quota class -> bucket. */
  readonly #buckets = new Map<string, Map<string, Bucket>>();
  readonly #clock: () => number;

  constructor(region: string, settings: QuotaSettings = {}) {
    this.#rates = new Map(Object.entries({ ...defaultQuotaRates(region), ...settings.rates }));
    this.#clock = settings.clockForTests ?? (() => performance.now());
  }

  /** The class a request is charged to. */
  classOf(target: string, input: unknown): string {
    return quotaClassOf(target, input);
  }

  /** Takes one token of the account's bucket for `quotaClass`; throws ThrottlingException when there is none. */
  take(accountId: string, quotaClass: string): void {
    const rate = this.#rates.get(quotaClass) ?? 0;
    if (rate <= 0) return;
    const now = this.#clock();
    let account = this.#buckets.get(accountId);
    if (!account) this.#buckets.set(accountId, (account = new Map()));
    let bucket = account.get(quotaClass);
    // A bucket holds a second of requests, and at least one (a quota under 1 per second still lets one through now and then).
    const capacity = Math.max(rate, 1);
    if (!bucket) account.set(quotaClass, (bucket = { tokens: capacity, at: now }));
    else {
      bucket.tokens = Math.min(capacity, bucket.tokens + ((now - bucket.at) / 1000) * rate);
      bucket.at = now;
    }
    if (bucket.tokens < 1) throw new ThrottlingException(THROTTLING_MESSAGE);
    bucket.tokens -= 1;
  }
}
