import type { Logger } from '../log.js';

/** At most one probe of the root keys' sources per this many ms, however many ask (/readyz, /metrics). */
const DEFAULT_PROBE_INTERVAL_MS = 5_000;

export interface RootKeyHealthSettings {
  /** How long a probe's answer is given to every caller before the key sources are asked again, in ms. */
  readonly probeIntervalMs?: number;
  /** A clock (ms) the tests move by hand; performance.now by default. */
  readonly probeClockForTests?: () => number;
}

/** What the health check asks of the root key (KeyringRootKey). */
export interface ProbedRootKey {
  /** Why this node cannot wrap (it cannot open the current root key another node made), or undefined: free to read. */
  readonly unusableReason: string | undefined;
  /** Asks the key sources outside the process (a token) whether the root keys work: may cost a call to each. */
  probe(): Promise<string | undefined>;
}

/** How many probes ran, by answer: a flood of callers does not move these, only the interval does. */
export interface RootKeyProbeCounts {
  readonly usable: number;
  readonly unusable: number;
}

/**
 * Whether this node's root keys can be used, for /readyz and /metrics. The probe (one decrypt on a
 * token per PKCS#11 root key, nothing for keys in memory) is shared by every caller and runs at most
 * once per interval: callers meanwhile get the last answer, callers during a probe wait for that
 * probe. A flood of /readyz therefore costs the token nothing more than one probe per interval,
 * and a failing token is opened again no more often than requests would (at most once a second,
 * a PIN it refused never tried again: KeyringRootKey's reopen).
 */
export class RootKeyHealth {
  readonly #root: ProbedRootKey;
  readonly #log: Logger;
  readonly #intervalMs: number;
  readonly #clock: () => number;
  #last: { readonly at: number; readonly reason: string | undefined } | undefined;
  #running: Promise<string | undefined> | undefined;
  #usable = 0;
  #unusable = 0;

  constructor(root: ProbedRootKey, log: Logger, settings: RootKeyHealthSettings = {}) {
    this.#root = root;
    this.#log = log;
    this.#intervalMs = settings.probeIntervalMs ?? DEFAULT_PROBE_INTERVAL_MS;
    this.#clock = settings.probeClockForTests ?? (() => performance.now());
  }

  /** Undefined when the root keys can be used, else why not (never a secret). Never throws. */
  check(): Promise<string | undefined> {
    const behind = this.#root.unusableReason;
    if (behind !== undefined) return Promise.resolve(behind);
    if (this.#running) return this.#running;
    if (this.#last && this.#clock() - this.#last.at < this.#intervalMs) return Promise.resolve(this.#last.reason);
    const running = this.#probe().finally(() => {
      this.#running = undefined;
    });
    this.#running = running;
    return running;
  }

  get probes(): RootKeyProbeCounts {
    return { usable: this.#usable, unusable: this.#unusable };
  }

  async #probe(): Promise<string | undefined> {
    let reason: string | undefined;
    try {
      reason = await this.#root.probe();
    } catch (error) {
      // Not a failure of the key source (those are reasons): a fault of ours, told only to the log.
      this.#log('error', 'root key probe failed', { error: error instanceof Error ? error.message : String(error) });
      reason = 'the root key could not be checked';
    }
    if (reason === undefined) this.#usable++;
    else this.#unusable++;
    // Once per change, not once per probe: an outage is one warning and one recovery in the log.
    const before = this.#last?.reason;
    if (reason !== undefined && before === undefined) this.#log('warn', 'root key unusable: /readyz answers 503', { reason });
    if (reason === undefined && before !== undefined) this.#log('info', 'root key usable again: /readyz answers 200', {});
    this.#last = { at: this.#clock(), reason };
    return reason;
  }
}
