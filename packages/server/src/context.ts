import type { BackingKeys } from './keys/backing-keys.js';
import type { Realm } from './keys/arn.js';
import type { Store } from './store/store.js';

/** What every operation may use: the store, the key hierarchy, and where the server lives. */
export interface Service {
  readonly realm: Realm;
  readonly store: Store;
  readonly backingKeys: BackingKeys;
  /** Epoch ms. One clock for key dates, so tests can move it. */
  now(): number;
}

/** The authenticated caller of one request. */
export interface Principal {
  readonly arn: string;
  readonly accountId: string;
  readonly accessKeyId: string;
}

/** One request as an operation sees it. */
export interface RequestContext {
  readonly requestId: string;
  readonly principal: Principal;
}
