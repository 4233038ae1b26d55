import { closeSync, mkdirSync, openSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
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
import { SqliteStore } from './store/sqlite.js';

export interface StartOptions extends Partial<ServerConfig> {
  readonly logger?: Logger;
  /** The clock for key dates (creation, deletion, rotation). Tests move it; SigV4 keeps real time. */
  readonly now?: () => number;
  /** How often scheduled work runs, in ms. */
  readonly schedulerIntervalMs?: number;
}

export interface RunningServer {
  readonly config: ServerConfig;
  /** `http://host:port`, with the port actually bound. */
  readonly endpoint: string;
  readonly credentialsFile: string;
  readonly profile: string;
  readonly adminAccessKeyId: string;
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
  };
  checkConfig(config);
  const log = options.logger ?? jsonLogger();
  const now = options.now ?? Date.now;

  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const databaseFile = join(config.dataDir, 'coffer.db');
  // Created owner-only before SQLite opens it; SQLite gives its -wal and -shm files the same mode.
  closeSync(openSync(databaseFile, 'a', 0o600));
  const store = new SqliteStore(databaseFile);
  let http: Server | undefined;
  try {
    const rootKey = await openFileRootKey(config.dataDir, store);
    const realm = { partition: config.partition, region: config.region, accountId: config.accountId };
    const auditKey = await openAuditKey(store, rootKey);
    store.attachAuditChain((event, seq, prevHash) => chainRecord(auditKey, event, seq, prevHash));
    const service: Service = { realm, store, backingKeys: new BackingKeys(rootKey, store), access: new AccessControl(store, realm), now };
    const accessKeys = new AccessKeys(store, rootKey);
    const admin = await ensureAdminCredentials(
      store, accessKeys, config.dataDir, `arn:${realm.partition}:iam::${realm.accountId}:root`, now());

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
    const schedule = (at?: number) => (scheduled = scheduled.then(() => runScheduledWork(service, log, at)));
    void schedule();
    const timer = setInterval(() => void schedule(), options.schedulerIntervalMs ?? 60_000);
    timer.unref();

    let closing: Promise<void> | undefined;
    return {
      config: { ...config, port },
      endpoint: `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
      credentialsFile: admin.credentialsFile,
      profile: 'coffer',
      adminAccessKeyId: admin.accessKeyId,
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
