import type { Store } from '../store/store.js';

type Timer = { observe(seconds: number): void };

/**
 * The store with every call timed (coffer_store_operation_duration_seconds). One wrapper function
 * per method, made once here, each holding its histogram child: a call costs two clock reads and
 * one observation. Synchronous methods (attachAuditChain) are passed through untimed.
 */
export function timedStore(inner: Store, timerFor: (method: string) => Timer): Store {
  const timed: Record<string, unknown> = {};
  for (let proto: object | null = Object.getPrototypeOf(inner); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      const method: unknown = (inner as unknown as Record<string, unknown>)[name];
      if (name === 'constructor' || name in timed || typeof method !== 'function') continue;
      if (name === 'attachAuditChain') {
        timed[name] = method.bind(inner);
        continue;
      }
      const timer = timerFor(name);
      timed[name] = (...args: unknown[]) => {
        const started = performance.now();
        const observe = () => timer.observe((performance.now() - started) / 1000);
        const result: unknown = Reflect.apply(method, inner, args);
        if (!(result instanceof Promise)) {
          observe();
          return result;
        }
        return result.then((value) => {
          observe();
          return value;
        }, (error: unknown) => {
          observe();
          throw error;
        });
      };
    }
  }
  return timed as unknown as Store;
}
