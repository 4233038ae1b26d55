import { StoreUnavailableError } from './store.js';

/**
 * How long a call waits for the calls ahead of it before it gives up: as long as PostgreSQL lets
 * one statement run (postgres.ts, STATEMENT_TIMEOUT_MS, which is this). Each call ahead may itself wait that long
 * on a lock held outside this process (another session's LOCK TABLE on the audit head, say), so
 * without a bound the tenth call in line was answered after ten of them, minutes later, and the
 * AWS SDKs' own 60 s read timeout retried it unseen.
 */
export const MAX_TURN_WAIT_MS = 15_000;

/**
 * Calls that take turns by name within one process: each runs once every earlier call under the
 * same name has settled, whether it succeeded or failed. A call still waiting after `maxWaitMs`
 * fails with StoreUnavailableError (a 503 DependencyTimeoutException, which clients retry) and
 * never runs; the calls behind it keep their places. The stores' `serialize` builds on it.
 */
export class Turns {
  readonly #tails = new Map<string, Promise<unknown>>();
  readonly #maxWaitMs: number;

  constructor(maxWaitMs = MAX_TURN_WAIT_MS) {
    this.#maxWaitMs = maxWaitMs;
  }

  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(name);
    if (previous === undefined) return this.#chain(name, Promise.resolve(), fn);
    let gaveUp = false;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        gaveUp = true;
        reject(new StoreUnavailableError(`Waited ${this.#maxWaitMs / 1000} s for the earlier ${name} writes in this process to finish; nothing was written.`));
      }, this.#maxWaitMs);
      // Whichever comes first decides: once `fn` has started the timer is cleared, and once the
      // timer has fired `fn` is never started.
      this.#chain(name, previous, () => {
        clearTimeout(timer);
        return gaveUp ? Promise.resolve(undefined as T) : fn();
      }).then(resolve, (error: unknown) => {
        if (!gaveUp) reject(error);
      });
    });
  }

  #chain<T>(name: string, previous: Promise<unknown>, fn: () => Promise<T>): Promise<T> {
    const current = previous.then(fn);
    const tail = current.then(() => undefined, () => undefined);
    this.#tails.set(name, tail);
    void tail.then(() => {
      if (this.#tails.get(name) === tail) this.#tails.delete(name);
    });
    return current;
  }
}
