import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { openAuditKey } from '../src/audit/audit-key.js';
import { AccessKeys } from '../src/auth/access-keys.js';
import { ensureAdminCredentials } from '../src/auth/admin-credentials.js';
import { DEFAULT_CONFIG } from '../src/config.js';
import type { Service } from '../src/context.js';
import { createRequestHandler } from '../src/http/app.js';
import { BackingKeys } from '../src/keys/backing-keys.js';
import { jsonLogger } from '../src/log.js';
import { ServerMetrics } from '../src/observe/metrics.js';
import { RequestHistory } from '../src/observe/request-history.js';
import { RequestObserver } from '../src/observe/request-observer.js';
import { timedStore } from '../src/observe/timed-store.js';
import { openRootKey } from '../src/root/open-root-key.js';
import { rootKeyOptionsFromEnv } from '../src/root/options.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { openAccess } from './open-access.js';
import { unauditedStore } from './unaudited-store.js';

export interface ServerHandle {
  readonly endpoint: string;
  readonly credentialsFile: string;
  close(): Promise<void>;
}

/**
 * The benchmark's baseline: the same request pipeline as startServer (app.ts, SigV4, the real
 * operations, the SQLite store, the root key and backing-key cache), assembled here from the
 * package's parts but with access control that allows everything and no audit trail. Nothing in
 * the production code can switch those off; only this bench builds a server without them.
 */
export async function startOpenServer(dataDir: string): Promise<ServerHandle> {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const databaseFile = join(dataDir, 'coffer.db');
  closeSync(openSync(databaseFile, 'a', 0o600));
  // Timed and observed as startServer's, and logging a line per request: only policies and audit differ.
  const untimed = unauditedStore(new SqliteStore(databaseFile));
  const metrics = new ServerMetrics({ store: untimed, caches: {} });
  const store = timedStore(untimed, (method) => metrics.storeTimer(method));
  const observer = new RequestObserver(metrics, new RequestHistory(), undefined);
  const rootKey = await openRootKey(dataDir, store, rootKeyOptionsFromEnv());
  const realm = { partition: DEFAULT_CONFIG.partition, region: DEFAULT_CONFIG.region, accountId: DEFAULT_CONFIG.accountId };
  const accessKeys = new AccessKeys(store, rootKey);
  // The audit key exists (the admin API's chain verification reads it) though no record is chained.
  const auditKey = await openAuditKey(store, rootKey);
  const service: Service = { realm, store, backingKeys: new BackingKeys(rootKey, store), access: openAccess(store, realm), accessKeys, auditKey, now: Date.now };
  const admin = await ensureAdminCredentials(store, accessKeys, dataDir, `arn:${realm.partition}:iam::${realm.accountId}:root`, Date.now());
  const server = createServer({ keepAliveTimeout: 65_000 }, createRequestHandler({ service, accessKeys, log: jsonLogger(), observer }));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentialsFile: admin.credentialsFile,
    close: async () => {
      await new Promise<void>((done) => {
        server.close(() => done());
        server.closeAllConnections();
      });
      await store.close();
    },
  };
}
