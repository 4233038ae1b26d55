import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, Server as HttpsServer } from 'node:https';
import { Server as NetServer, type AddressInfo, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { AccessControl } from './access/access-control.js';
import { openAuditKey } from './audit/audit-key.js';
import { chainRecord } from './audit/chain.js';
import { AccessKeys } from './auth/access-keys.js';
import { ensureAdminCredentials } from './auth/admin-credentials.js';
import { checkConfig, DEFAULT_CONFIG, type ServerConfig } from './config.js';
import type { Service } from './context.js';
import { createRequestHandler } from './http/app.js';
import { isConsoleRequest } from './http/console.js';
import { applyConnectionLimits, creationOptions, defaultConnectionLimits, watchStalledAnswers, type ConnectionLimits } from './http/connection-limits.js';
import type { IdleConnections } from './http/idle-connections.js';
import { createProbeHandler } from './http/probes.js';
import { admitRequest, requestClosed, type AnsweredAside } from './http/pipelining.js';
import { MAX_BODY_BYTES } from './http/read-body.js';
import { ServerMetrics, type CacheStats, type MetricsExposition, type MetricsSnapshot } from './observe/metrics.js';
import { RequestHistory, type HistoryBucket } from './observe/request-history.js';
import { RequestObserver } from './observe/request-observer.js';
import { timedStore } from './observe/timed-store.js';
import { checkQuotaRates } from './quotas/quota-classes.js';
import { RequestQuotas, type QuotaSettings } from './quotas/request-quotas.js';
import { openTransport, secureContextOptions, type TlsSettings } from './tls/transport.js';
import { BackingKeys } from './keys/backing-keys.js';
import { jsonLogger, type FlushableLogger, type Logger } from './log.js';
import { openRootKey } from './root/open-root-key.js';
import type { RootKeyOptions } from './root/options.js';
import { startRootKeyWork, type RootKeyWorkSettings } from './root/root-keys.js';
import { runScheduledWork } from './scheduler.js';
import { isPostgresUrl, redactConnectionString } from './store/connection-string.js';
import { openStore } from './store/open-store.js';
import { prepareDataDirectory } from './store/data-dir-access.js';
import { lockDataDirectory } from './store/server-lock.js';
import { RESTORE_UNFINISHED_META } from './store/store.js';
import { StartupError } from './root/root-key.js';
import { applySeed, type SeedReport } from './seed.js';

export interface StartOptions extends Partial<ServerConfig> {
  readonly logger?: Logger;
  /** The clock for key dates (creation, deletion, rotation). Tests move it; SigV4 keeps real time. */
  readonly now?: () => number;
  /** How often scheduled work runs, in ms. */
  readonly schedulerIntervalMs?: number;
  /** Keys, aliases and principals to apply before serving (seed.ts): a parsed JSON or YAML seed file. */
  readonly seed?: unknown;
  /** Serve HTTPS with these files, or with a self-signed pair kept in the data directory (docs/operations.md). */
  readonly tls?: TlsSettings;
  /** Allow plain HTTP on an address that is not loopback (refused otherwise). */
  readonly allowInsecureHttp?: boolean;
  /** Request quotas (quotas/quota-classes.ts): AWS's defaults when absent, `false` for none. */
  readonly quotas?: false | QuotaSettings;
  /** How long close() lets in-flight requests finish before it drops their connections, in ms. */
  readonly shutdownGraceMs?: number;
  /** The root-key provider of a fresh store and the secrets of the store's root keys (docs/root-keys.md). */
  readonly rootKey?: RootKeyOptions;
  /** How this node follows the root keyring and paces a root-key rotation (tests shorten them). */
  readonly rootKeyWork?: RootKeyWorkSettings;
  /**
   * What `GET /metrics` answers instead of this process's own metrics: with several processes on
   * one port a scrape reaches any of them, so `coffer serve --workers` answers every worker's,
   * gathered by the primary (cli serve-workers.ts) from each one's `metricsSnapshot`.
   */
  readonly metricsExposition?: () => Promise<MetricsExposition>;
  /**
   * What the admin API's GetRequestMetrics answers instead of this process's own request history,
   * for the same reason: `coffer serve --workers` sums every worker's `requestBuckets`.
   */
  readonly requestMetrics?: (minutes: number) => Promise<readonly HistoryBucket[]>;
  /** Bounds on connections (http/connection-limits.ts): by default, from the process's descriptor limit. */
  readonly connectionLimits?: Partial<ConnectionLimits>;
}

export interface RunningServer {
  readonly config: ServerConfig;
  /** `http://host:port` (`https://` with TLS), with the port actually bound. */
  readonly endpoint: string;
  /** With TLS: the certificate served (PEM), and its SHA-256 fingerprint. */
  readonly tlsCertificate?: string;
  readonly tlsFingerprint?: string;
  readonly credentialsFile: string;
  readonly profile: string;
  readonly adminAccessKeyId: string;
  /**
   * Why no credentials file serves the account root, when none does: the store was made for
   * another account (docs/backup.md), or holds no active key of the root.
   */
  readonly noCredentials?: string;
  /** What the seed created, when one was given. */
  readonly seeded?: SeedReport;
  /** This process's metrics as data, for a process that answers a scrape for several. */
  metricsSnapshot(): Promise<MetricsSnapshot>;
  /** This process's request history of the last `minutes` (1..60), for the same. */
  requestBuckets(minutes: number): HistoryBucket[];
  /** Runs deletions and rotations due at `now` (default: the server's clock) and waits for them. */
  runScheduledWork(now?: number): Promise<void>;
  /**
   * Reads the TLS certificate and key files again and serves new connections with them;
   * connections already open keep theirs. Answers what it did; a pair that would be refused at
   * start is refused (StartupError) and the one before stays. Without TLS, or with the generated
   * (--tls-self-signed) pair, which is renewed at a start only, there is nothing to reload.
   */
  reloadTls(): Promise<string>;
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
    // resolve('') is the working directory, which no one asking for "" meant: left empty, refused below.
    dataDir: (options.dataDir ?? DEFAULT_CONFIG.dataDir).trim() === '' ? '' : resolve(options.dataDir ?? DEFAULT_CONFIG.dataDir),
    region: options.region ?? DEFAULT_CONFIG.region,
    accountId: options.accountId ?? DEFAULT_CONFIG.accountId,
    partition: options.partition ?? DEFAULT_CONFIG.partition,
    store: options.store ?? DEFAULT_CONFIG.store,
  };
  checkConfig(config);
  if (options.quotas) checkQuotaRates(options.quotas.rates ?? {});
  const log = options.logger ?? jsonLogger();
  const now = options.now ?? Date.now;

  // Before the data directory and the store: a refused transport must not leave anything behind.
  const transport = await openTransport(config.host, config.dataDir, options.tls, options.allowInsecureHttp ?? false);
  prepareDataDirectory(config.dataDir);
  // Served all the same (an operator may be replacing it), but said: clients that check certificates refuse it.
  const warnIfNotValid = (validity: { from: number; to: number } | undefined) => {
    if (validity !== undefined && (validity.to < now() || validity.from > now())) {
      log('warn', `the TLS certificate is ${validity.to < now() ? 'expired' : 'not yet valid'} (valid ${new Date(validity.from).toISOString()} to ${new Date(validity.to).toISOString()}): clients that check certificates will refuse it`);
    }
  };
  warnIfNotValid(transport.tls?.validity);
  // One server per SQLite data directory (server-lock.ts); PostgreSQL nodes share their store.
  const lock = isPostgresUrl(config.store) ? undefined : lockDataDirectory(config.dataDir);
  // With PostgreSQL the data directory still holds root.key and the credentials file.
  const untimedStore = await openStore(config).catch((error: unknown) => {
    lock?.release();
    throw error;
  });
  const caches: Record<string, CacheStats> = {};
  const metrics = new ServerMetrics({ store: untimedStore, caches });
  const store = timedStore(untimedStore, (method) => metrics.storeTimer(method));
  let draining = false;
  let http: Server | undefined;
  /** Stops closing the connections of answers their clients stopped taking (http/stalled-answers.ts). */
  let stopWatchingAnswers: (() => void) | undefined;
  /** Stops the root-key work and closes the root keys (token sessions): on close, and on a failed start. */
  let closeRootKeys: (() => Promise<void>) | undefined;
  try {
    const unfinished = await store.getMeta(RESTORE_UNFINISHED_META);
    if (unfinished !== undefined) {
      throw new StartupError(`A restore into this store did not finish (${Buffer.from(unfinished).toString('utf8')}): it does not hold the backup. `
        + 'Run that coffer restore again (it fills the store and clears this), or restore into a new store.');
    }
    // Its warnings are log lines, as everything the server writes to stderr is.
    const rootKey = await openRootKey(config.dataDir, store, options.rootKey, now(), (message) => log('warn', message));
    closeRootKeys = () => rootKey.close();
    if (options.rootKey?.provider !== undefined && options.rootKey.provider !== rootKey.currentDescriptor.provider) {
      log('warn', 'the store\'s root key is of another provider than configured: the stored one is used; `coffer root rotate --to` migrates', { configured: options.rootKey.provider, stored: rootKey.currentDescriptor.provider });
    }
    const rootKeyWork = startRootKeyWork(rootKey, store, log, config.dataDir, options.rootKey ?? {}, [`arn:${config.partition}:iam::${config.accountId}:root`], options.rootKeyWork);
    closeRootKeys = async () => {
      await rootKeyWork.stop();
      await rootKey.close();
    };
    const realm = { partition: config.partition, region: config.region, accountId: config.accountId };
    const auditKey = await openAuditKey(store, rootKey);
    store.attachAuditChain((event, seq, prevHash) => chainRecord(auditKey, event, seq, prevHash));
    const accessKeys = new AccessKeys(store, rootKey);
    const requestHistory = new RequestHistory();
    const requestBuckets = options.requestMetrics ?? ((minutes: number) => requestHistory.buckets(minutes));
    const service: Service = { realm, store, backingKeys: new BackingKeys(rootKey, store), access: new AccessControl(store, realm), accessKeys, auditKey, now, requestBuckets, rootKeys: rootKeyWork.rootKeys };
    caches['backing-keys'] = service.backingKeys.stats;
    caches['access-keys'] = accessKeys.stats;
    metrics.watchRootKey(rootKeyWork.health);
    const observer = new RequestObserver(metrics, requestHistory, options.quotas === false ? undefined : new RequestQuotas(config.region, options.quotas));
    const probes = createProbeHandler({
      metrics: options.metricsExposition ? { exposition: options.metricsExposition } : metrics,
      // The root key is loaded by now (the start stops otherwise); it must still be usable here (another
      // node may have made current a root key this one cannot open, a token may have failed: a probe
      // shared by every caller, run at most once per interval); the store must answer a read.
      readiness: async () => (await rootKeyWork.health.check()) ?? untimedStore.unusableReason ?? (await store.getMeta('root-key-check'), undefined),
      // Read on every call: a probe after the stop began is told so, not given a check that began before it.
      unready: () => (draining ? 'shutting down' : undefined),
    });
    const admin = await ensureAdminCredentials(
      store, accessKeys, config.dataDir, `arn:${realm.partition}:iam::${realm.accountId}:root`, now());
    if (admin.noCredentials !== undefined) log('warn', `no credentials file serves this account's root: ${admin.noCredentials}`);
    // Before listening: no request may see a half-applied seed.
    const seeded = options.seed === undefined ? undefined : await applySeed(service, options.seed);

    const pipeline = createRequestHandler({ service, accessKeys, log, observer, probes });
    // Answers given before the pipeline (node:http's refusals, CONNECT, an Expect, a connection's
    // request over its limit in flight): a log line each, and counted as every answer is.
    const answeredAside: AnsweredAside = (fields) => {
      log('info', 'request', { ...fields });
      observer.answered('unknown', fields.error, 0);
    };
    // While draining, each answer closes its connection: the client's next request opens a new one, which is refused.
    // Requests already in flight when draining starts are told too, if their answer has not started.
    const inFlight = new Set<ServerResponse>();
    // The requests whose operation is still running, answered or not, its client there or gone: the
    // store stays open until they end (or the grace does), or they would run on against a closed one.
    const running = new Set<Promise<void>>();
    // Each connection's responses in inFlight. node:http never closes a response still queued
    // behind an unanswered one when its connection goes (a client that pipelined thousands of
    // requests and left): those are dropped from inFlight with their connection, or they would be
    // held for ever, and the server would never be quiet enough to finish a shutdown early.
    const onSocket = new WeakMap<Socket, Set<ServerResponse>>();
    let lastAnswer = 0;
    // Set with the limits below, before any connection: the connection idle the longest makes room at the limit.
    let connections: IdleConnections;
    function answered(this: ServerResponse) {
      inFlight.delete(this);
      onSocket.get(this.req.socket)?.delete(this);
      const socket = this.req.socket;
      if (requestClosed(socket) === 0 && socket) connections.idle(socket);
      lastAnswer = performance.now();
    }
    const responsesOf = (socket: Socket): Set<ServerResponse> => {
      let responses = onSocket.get(socket);
      if (responses === undefined) {
        const mine = responses = new Set();
        onSocket.set(socket, mine);
        socket.once('close', () => {
          for (const res of mine) inFlight.delete(res);
          mine.clear();
          lastAnswer = performance.now();
        });
      }
      return responses;
    };
    const handler: typeof pipeline = (req, res) => {
      connections.busy(req.socket);
      inFlight.add(res);
      responsesOf(req.socket).add(res);
      res.once('close', answered);
      if (draining) res.setHeader('Connection', 'close');
      if (!admitRequest(req, res, answeredAside)) return Promise.resolve();
      // Console pages too carry a request id, as every other answer does (the pipeline sets its own).
      if (isConsoleRequest(req)) res.setHeader('x-amzn-RequestId', randomUUID());
      const work = pipeline(req, res);
      running.add(work);
      const forget = () => running.delete(work);
      work.then(forget, forget);
      return work;
    };
    const startDraining = () => {
      draining = true;
      for (const res of inFlight) if (!res.headersSent) res.setHeader('Connection', 'close');
    };
    const quietFor = (ms: number) => inFlight.size === 0 && performance.now() - lastAnswer >= ms;
    // No Host header is the pipeline's to answer (SigV4 signs it), with a request id, not node:http's
    // bare 400. The TLS pair was proven usable by openTransport, before the store was opened.
    const limits: ConnectionLimits = { ...defaultConnectionLimits(), ...options.connectionLimits };
    http = transport.tls
      // The TLS handshake is held to the headers' time too: Node's own 120 s would let a client that
      // never finishes one keep its connection six times as long as one that sends no request.
      ? createHttpsServer({
        ...secureContextOptions(transport.tls), requireHostHeader: false, handshakeTimeout: limits.headersTimeoutMs, ...creationOptions(limits),
      }, handler)
      : createServer({ requireHostHeader: false, ...creationOptions(limits) }, handler);
    http.keepAliveTimeout = 65_000;
    connections = applyConnectionLimits(http, limits, log);
    stopWatchingAnswers = watchStalledAnswers(inFlight, limits, log);
    // A request too malformed to parse still gets an id to report.
    http.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
      if (!socket.writable || error.code === 'ECONNRESET') return socket.destroy();
      // Node's own answers to these, with the id added.
      const [status, name] = error.code === 'HPE_HEADER_OVERFLOW' ? ['431 Request Header Fields Too Large', 'RequestHeaderFieldsTooLarge']
        : error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ['408 Request Timeout', 'RequestTimeout'] : ['400 Bad Request', 'BadRequest'];
      const reply = () => {
        const requestId = randomUUID();
        // The id the client is given leads to a line of the log, as every other answer's does. No
        // audit record: nothing of the request (not even its operation) could be read.
        answeredAside({ requestId, status: Number(status.slice(0, 3)), error: name, ...(error.code !== undefined ? { reason: error.code } : {}) });
        socket.end(`HTTP/1.1 ${status}\r\nx-amzn-RequestId: ${requestId}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
        // end() closes only the server's half: a client that keeps sending (a slow header line
        // every few seconds) would keep the connection, and its descriptor, for ever. It has had
        // the answer's time to read it.
        const closing = setTimeout(() => socket.destroy(), CLOSE_AFTER_ANSWER_MS).unref();
        socket.once('close', () => clearTimeout(closing));
      };
      // Requests pipelined before the malformed one are answered first, in order (RFC 9112, 9.3.2):
      // answered first, the 400 would be read as the answer to a request that did run. The
      // malformed request may be the last one read (its headers parsed, its chunked body bad): it
      // gets the 400, after the answers of those before it.
      const previous = [...(onSocket.get(socket) ?? [])].filter((response) => response.req.complete && !response.writableFinished).at(-1);
      if (!previous) return reply();
      previous.once('close', () => (previous.writableFinished && socket.writable ? reply() : socket.destroy()));
    });
    // Expect: 100-continue (curl sends it with a large body): a body declared over the limit is
    // refused at once, before the client is invited to send it; any other gets its 100 Continue
    // and goes on as node:http would take it.
    http.on('checkContinue', function (this: Server, req: IncomingMessage, res: ServerResponse) {
      if (!(Number(req.headers['content-length'] ?? 0) > MAX_BODY_BYTES)) res.writeContinue();
      this.emit('request', req, res);
    });
    // CONNECT (a request for a tunnel): node:http hands the socket over and, with no listener,
    // closes it without a word. Answered as any other method Coffer does not serve, with the id
    // every answer carries; no tunnel is made.
    http.on('connect', (_req: IncomingMessage, socket: Socket) => {
      const requestId = randomUUID();
      const body = JSON.stringify({ __type: 'UnknownOperationException', message: 'Coffer answers the AWS KMS protocol at POST /, not CONNECT.' });
      answeredAside({ requestId, status: 400, error: 'UnknownOperationException' });
      socket.on('error', () => {});
      socket.end(`HTTP/1.1 400 Bad Request\r\nContent-Type: application/x-amz-json-1.1\r\nx-amzn-RequestId: ${requestId}\r\n`
        + `x-amzn-ErrorType: UnknownOperationException\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
      const closing = setTimeout(() => socket.destroy(), CLOSE_AFTER_ANSWER_MS).unref();
      socket.once('close', () => clearTimeout(closing));
    });
    // An Expect header other than 100-continue: node:http's own 417, with the request id every answer carries.
    http.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
      const requestId = randomUUID();
      answeredAside({ requestId, status: 417, error: 'ExpectationFailed' });
      res.writeHead(417, { 'x-amzn-RequestId': requestId, Connection: 'close', 'Content-Length': 0 });
      res.end();
    });
    const server = http;
    // Connections that have not sent a request yet: node:http's closeIdleConnections leaves them
    // open, so without this one that never sends anything would hold a shutdown for the whole grace.
    const fresh = new Set<Socket>();
    // With TLS, the socket a request arrives on is the TLS socket: track that one.
    server.on(transport.tls ? 'secureConnection' : 'connection', (socket: Socket) => {
      fresh.add(socket);
      socket.once('close', () => fresh.delete(socket));
      connections.opened(socket);
    });
    server.on('request', (req: IncomingMessage) => fresh.delete(req.socket));
    await new Promise<void>((done, fail) => {
      server.once('error', fail);
      server.listen(config.port, config.host, () => {
        server.off('error', fail);
        done();
      });
    });
    // After listen, an 'error' is a failed accept (a connection reset before it was taken, a
    // process out of descriptors): the connection is lost, the server goes on. Without a listener
    // an EventEmitter's 'error' ends the process.
    server.on('error', (error: NodeJS.ErrnoException) => log('error', 'the listening socket failed', { error: error.message, code: error.code ?? null }));
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
      endpoint: `${transport.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`,
      ...(transport.tls ? { tlsCertificate: transport.tls.cert, tlsFingerprint: transport.tls.fingerprint } : {}),
      credentialsFile: admin.credentialsFile,
      profile: 'coffer',
      adminAccessKeyId: admin.accessKeyId,
      ...(admin.noCredentials !== undefined ? { noCredentials: admin.noCredentials } : {}),
      ...(seeded !== undefined ? { seeded } : {}),
      metricsSnapshot: () => metrics.snapshot(),
      requestBuckets: (minutes) => requestHistory.buckets(minutes),
      runScheduledWork: (at) => schedule(at),
      reloadTls: async () => {
        if (!transport.tls || !(http instanceof HttpsServer)) return 'not serving TLS: nothing to reload';
        // The generated pair is made (or renewed) at a start only: with --workers each worker
        // reloads on its own, and each renewing it made each serve a pair of its own.
        if (options.tls && 'selfSigned' in options.tls) return 'serving the generated (--tls-self-signed) pair, which is renewed at a start, not on reload: nothing to reload';
        const next = await openTransport(config.host, config.dataDir, options.tls, options.allowInsecureHttp ?? false);
        http.setSecureContext(secureContextOptions(next.tls!));
        const { fingerprint, validity } = next.tls!;
        warnIfNotValid(validity);
        return `serving the TLS certificate ${fingerprint} (valid ${new Date(validity.from).toISOString()} to ${new Date(validity.to).toISOString()}) to new connections`;
      },
      close: () => (closing ??= (async () => {
        clearInterval(timer);
        stopWatchingAnswers?.();
        startDraining();
        const graceMs = options.shutdownGraceMs ?? 10_000;
        const deadline = performance.now() + graceMs;
        await drain(server, graceMs, quietFor, fresh);
        await settledWithin([...running], deadline - performance.now());
        await scheduled;
        await rootKeyWork.stop();
        await store.close();
        await rootKey.close();
        lock?.release();
        await (log as Partial<FlushableLogger>).flush?.();
      })()),
    };
  } catch (error) {
    await closeRootKeys?.();
    stopWatchingAnswers?.();
    http?.close();
    await store.close();
    lock?.release();
    throw error;
  }
}

const netServerClose = NetServer.prototype.close;

/** Waits for `work` to settle, but no longer than `ms`. */
async function settledWithin(work: readonly Promise<unknown>[], ms: number): Promise<void> {
  if (work.length === 0 || ms <= 0) return;
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.allSettled(work), new Promise((done) => (timer = setTimeout(done, ms)))]);
  clearTimeout(timer);
}
/** How long the server must be quiet before idle keep-alive connections are closed. */
const QUIET_MS = 250;
/** How long a connection answered 400/408/431 (and half-closed) may stay before it is closed outright. */
const CLOSE_AFTER_ANSWER_MS = 2_000;

/**
 * Stops accepting connections and lets the requests in flight finish, each answered with
 * `Connection: close`. A keep-alive connection that is idle may be carrying a client's next request
 * at this very moment, so idle connections are closed only once the server has been quiet (nothing
 * in flight, nothing answered) for a moment; this is why it stops listening with net.Server's close
 * rather than http.Server's, which closes idle connections at once. Whatever is still busy after
 * `graceMs` is dropped.
 */
async function drain(server: Server, graceMs: number, quietFor: (ms: number) => boolean, fresh: ReadonlySet<Socket>): Promise<void> {
  await new Promise<void>((done) => {
    const sweep = setInterval(() => {
      if (!quietFor(QUIET_MS)) return;
      server.closeIdleConnections();
      for (const socket of fresh) socket.destroy();
    }, 25);
    const deadline = setTimeout(() => server.closeAllConnections(), graceMs);
    netServerClose.call(server, () => {
      clearInterval(sweep);
      clearTimeout(deadline);
      done();
    });
  });
}
