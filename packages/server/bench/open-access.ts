import { AccessControl } from '../src/access/access-control.js';
import type { Realm } from '../src/keys/arn.js';
import type { Store } from '../src/store/store.js';

/**
 * Access control that allows everything, for the benchmark's baseline only: the two decisions
 * (a use of a key, an account-level action) resolve at once, with no policy, grant or store work.
 * Everything else (the key policy in force, a grant token's grant, identity policies) is the real
 * AccessControl's, so operations that read them behave, and methods added later pass through.
 */
export function openAccess(store: Store, realm: Realm): AccessControl {
  const real = new AccessControl(store, realm);
  const decisions: Partial<AccessControl> = {
    authorizeKey: async () => {},
    authorizeAccount: async () => {},
  };
  const methods = new Map<PropertyKey, unknown>(Object.entries(decisions));
  return new Proxy(real, {
    get(target, property) {
      const known = methods.get(property);
      if (known) return known;
      const value: unknown = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      // Bound to the real object: its #private fields are not reachable through the proxy.
      const method = value.bind(target) as unknown;
      methods.set(property, method);
      return method;
    },
  });
}
