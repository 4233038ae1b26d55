import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { AccessControl } from './access/access-control.js';
import { openAuditKey } from './audit/audit-key.js';
import { chainRecord } from './audit/chain.js';
import { AccessKeys } from './auth/access-keys.js';
import { ensureAdminCredentials } from './auth/admin-credentials.js';
import { checkConfig, DEFAULT_CONFIG, type ServerConfig } from './config.js';
import type { Service } from './context.js';
import { createRequestHandler } from './http/app.js';
import { BackingKeys } from './keys/backing-keys.js';
import { jsonLogger, type Logger } from './log.js';
import { openFileRootKey } from './root/open-root-key.js';
import { runScheduledWork } from './scheduler.js';
import { isPostgresUrl, redactConnectionString } from './store/connection-string.js';
import { openStore } from './store/open-store.js';
import { applySeed, type SeedReport } from './seed.js';

export interface StartOptions extends Partial<ServerConfig> {
  readonly logger?: Logger;
  /** The clock for key dates (creation, deletion, rotation). Tests move it; SigV4 keeps real time. */
  readonly now?: () => number;
  /** How often scheduled work runs, in ms. */
  readonly schedulerIntervalMs?: number;
  /** Keys, aliases and principals to apply before serving (seed.ts): a parsed JSON or YAML seed file. */
  readonly seed?: unknown;
}

export interface RunningServer {
  readonly config: ServerConfig;
  /** `http://host:port`, with the port actually bound. */
  readonly endpoint: string;
  readonly credentialsFile: string;
  readonly profile: string;
  readonly adminAccessKeyId: string;
  /** What the seed created, when one was given. */
  readonly seeded?: SeedReport;
  /** Runs deletions and rotations due at `now` (default: the server's clock) and waits for them. */
  runScheduledWork(now?: number): Promise<void>;
  /** Stops accepting connections, lets in-flight requests finish, closes the store. */
  close(): Promise<void>;
}

/**
 * Starts a Coffer server: opens (or creates) the data directory, its store and root key, makes
 * sure the administrator's credentials exist, and serves the AWS KMS protocol over HTTP.
 */
export async function startServer(options: StartOptions = {}): Promise<RunningServer> {
  const config: ServerConfig = {
    host: options.host ?? DEFAULT_CONFIG.host,
    port: options.port ?? DEFAULT_CONFIG.port,
    dataDir: resolve(options.dataDir ?? DEFAULT_CONFIG.dataDir),
    region: options.region ?? DEFAULT_CONFIG.region,
    accountId: options.accountId ?? DEFAULT_CONFIG.accountId,
    partition: options.partition ?? DEFAULT_CONFIG.partition,
    store: options.store ?? DEFAULT_CONFIG.store,
  };
  checkConfig(config);
  const log = options.logger ?? jsonLogger();
  const now = options.now ?? Date.now;

  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  // With PostgreSQL the data directory still holds root.key and the credentials file.
  const store = await openStore(config);
  let http: Server | undefined;
  try {
    const rootKey = await openFileRootKey(config.dataDir, store);
    const realm = { partition: config.partition, region: config.region, accountId: config.accountId };
    const auditKey = await openAuditKey(store, rootKey);
    store.attachAuditChain((event, seq, prevHash) => chainRecord(auditKey, event, seq, prevHash));
    const accessKeys = new AccessKeys(store, rootKey);
    const service: Service = { realm, store, backingKeys: new BackingKeys(rootKey, store), access: new AccessControl(store, realm), accessKeys, auditKey, now };
    const admin = await ensureAdminCredentials(
      store, accessKeys, config.dataDir, `arn:${realm.partition}:iam::${realm.accountId}:root`, now());
    // Before listening: no request may see a half-applied seed.
    const seeded = options.seed === undefined ? undefined : await applySeed(service, options.seed);

    http = createServer({ keepAliveTimeout: 65_000 }, createRequestHandler({ service, accessKeys, log }));
    const server = http;
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(config.port, config.host, () => {
        server.off('error', fail);
        done();
      });
    });
    const port = (server.address() as AddressInfo).port;

    let scheduled = Promise.resolve();
    // One node at a time does a pass (an advisory lock with PostgreSQL); a failed pass is logged, and the next one tries again.
    const schedule = (at?: number) => (scheduled = scheduled
      .then(() => store.runExclusive('scheduled-work', () => runScheduledWork(service, log, at)))
      .then(() => {}, (error: unknown) => log('error', 'scheduled work failed', { error: error instanceof Error ? error.message : String(error) })));
    void schedule();
    const timer = setInterval(() => void schedule(), options.schedulerIntervalMs ?? 60_000);
    timer.unref();

    let closing: Promise<void> | undefined;
    return {
      config: { ...config, port, store: isPostgresUrl(config.store) ? redactConnectionString(config.store) : config.store },
      endpoint: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
      credentialsFile: admin.credentialsFile,
      profile: 'coffer',
      adminAccessKeyId: admin.accessKeyId,
      ...(seeded !== undefined ? { seeded } : {}),
      runScheduledWork: (at) => schedule(at),
      close: () => (closing ??= (async () => {
        clearInterval(timer);
        await new Promise<void>((done) => {
          server.close(() => done());
          server.closeIdleConnections();
        });
        await scheduled;
        await store.close();
      })()),
    };
  } catch (error) {
    http?.close();
    await store.close();
    throw error;
  }
}
