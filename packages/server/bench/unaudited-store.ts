import type { AuditEvent } from '../src/audit/record.js';
import type { Store } from '../src/store/store.js';

/**
 * The real store with the audit trail taken out, for the benchmark's baseline only: every change
 * is made without its audit event, and `appendAudit` resolves at once without writing. A Proxy
 * rather than a class spelling out each method, so methods the Store interface gains later are
 * passed through as they are; the bench checks that this server's trail stays empty.
 */
export function unauditedStore(inner: Store): Store {
  const methods = new Map<PropertyKey, unknown>([['appendAudit', async (_event: AuditEvent) => {}]]);
  return new Proxy(inner, {
    get(target, property) {
      const known = methods.get(property);
      if (known) return known;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Each change takes its audit event as an optional argument: it goes as undefined.
      const method = (...args: unknown[]) => Reflect.apply(value, target, args.some(isAuditEvent) ? args.map((a) => (isAuditEvent(a) ? undefined : a)) : args);
      methods.set(property, method);
      return method;
    },
  });
}

function isAuditEvent(value: unknown): value is AuditEvent {
  if (typeof value !== 'object' || value === null) return false;
  const event = value as Partial<AuditEvent>;
  return typeof event.requestId === 'string' && typeof event.outcome === 'string' && Array.isArray(event.keyArns);
}
