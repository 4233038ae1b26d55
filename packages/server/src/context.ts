import type { AccessControl } from './access/access-control.js';
import type { AccessKeys } from './auth/access-keys.js';
import type { RequestAudit } from './audit/request-audit.js';
import type { BackingKeys } from './keys/backing-keys.js';
import type { Realm } from './keys/arn.js';
import type { Principal as PolicyPrincipal } from './policy/principal.js';
import type { HistoryBucket } from './observe/request-history.js';
import type { RootKeys } from './root/root-keys.js';
import type { Store } from './store/store.js';

/** What every operation may use: the store, the key hierarchy, access control, and where the server lives. */
export interface Service {
  readonly realm: Realm;
  readonly store: Store;
  readonly backingKeys: BackingKeys;
  readonly access: AccessControl;
  /** Access keys, for the admin API: their cache is dropped at once on this node when one changes. */
  readonly accessKeys: AccessKeys;
  /** The key the audit chain is HMACed under (audit/audit-key.ts), for verifying the chain. */
  readonly auditKey: Uint8Array;
  /** Epoch ms. One clock for key dates, so tests can move it. */
  now(): number;
  /** The server's root keys, for the admin API's root-key operations (absent outside a running server). */
  readonly rootKeys?: RootKeys;
  /**
   * The recent requests of the last `minutes`, for the admin API's GetRequestMetrics: this node's,
   * or with `coffer serve --workers` every worker's (absent: none are kept).
   */
  readonly requestBuckets?: (minutes: number) => readonly HistoryBucket[] | Promise<readonly HistoryBucket[]>;
}

/** The authenticated caller of one request. */
export interface Principal extends PolicyPrincipal {
  readonly accessKeyId: string;
  /** When the access key was made: what was read of its principal before then may be of an earlier one of the name. */
  readonly accessKeyCreatedAt: number;
}

/** One request as an operation sees it. */
export interface RequestContext {
  readonly requestId: string;
  readonly principal: Principal;
  /** The client's address, without port. */
  readonly sourceIp: string;
  readonly secureTransport: boolean;
  readonly audit: RequestAudit;
}
