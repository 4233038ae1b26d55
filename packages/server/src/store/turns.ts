/**
 * Calls that take turns by name within one process: each runs once every earlier call under the
 * same name has settled, whether it succeeded or failed. The stores' `serialize` builds on it.
 */
export class Turns {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(name) ?? Promise.resolve();
    const current = previous.then(fn);
    const tail = current.then(() => undefined, () => undefined);
    this.#tails.set(name, tail);
    void tail.then(() => {
      if (this.#tails.get(name) === tail) this.#tails.delete(name);
    });
    return current;
  }
}
