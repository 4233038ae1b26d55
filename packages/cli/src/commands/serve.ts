import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dirname, join, relative, resolve } from 'node:path';
import {
  DEFAULT_CONFIG, isPostgresUrl, jsonLogger, logProcessWarnings, SELF_SIGNED_CERT_FILE, SeedError, StartupError, startServer, type RunningServer, type StartOptions,
} from '@coffer/server';
import { EXIT_FAILURE, EXIT_IO, EXIT_USAGE, IoError, parseErrorMessage, refuseRepeatedValues, UsageError, type ArgToken } from '../usage.js';
import { ROOT_KEY_COMPLETIONS, ROOT_KEY_HELP, ROOT_KEY_OPTIONS, rootKeyOptionsOf } from './root-key-options.js';
import { FIRST_WORKER_ENV, isReloadRequest, isStopRequest, REPLACEMENT_WORKER_ENV, servePrimary, type WorkerReady, type WorkerRefused } from './serve-workers.js';
import { workerMetrics } from './worker-metrics.js';
import { hangupSignalCheck } from './terminal-hangup.js';

const HELP = `Usage: coffer serve [options]

Runs the Coffer server. Every option can also be set by its environment variable or
in a JSON config file (--config): a flag wins over the environment, which wins over the file.

Options:
  --host HOST            address to listen on        COFFER_HOST        (default ${DEFAULT_CONFIG.host})
  --port PORT            port to listen on           COFFER_PORT        (default ${DEFAULT_CONFIG.port})
  --data-dir DIR         store, root key, creds      COFFER_DATA_DIR    (default ${DEFAULT_CONFIG.dataDir})
  --region REGION        region in ARNs and SigV4    COFFER_REGION      (default ${DEFAULT_CONFIG.region})
  --account-id ID        12-digit account in ARNs    COFFER_ACCOUNT_ID  (default ${DEFAULT_CONFIG.accountId})
  --partition NAME       partition in ARNs           COFFER_PARTITION   (default ${DEFAULT_CONFIG.partition})
  --store STORE          sqlite, or postgres://...   COFFER_STORE       (default ${DEFAULT_CONFIG.store}: coffer.db in the data dir)
  --seed FILE            keys, aliases, principals   COFFER_SEED        (YAML or JSON; applied at each start)
  --tls-cert FILE        serve HTTPS: certificate    COFFER_TLS_CERT    (PEM; with --tls-key)
  --tls-key FILE         its private key (PEM)       COFFER_TLS_KEY
  --tls-self-signed      HTTPS, a generated cert     COFFER_TLS_SELF_SIGNED (localhost; kept in the data dir)
  --allow-insecure-http  plain HTTP off loopback     COFFER_ALLOW_INSECURE_HTTP (refused without it)
  --quotas FILE|off      request quotas per second   COFFER_QUOTAS      (default AWS's; JSON {"CreateKey": 20, ...})
  --workers N            server processes, one port  COFFER_WORKERS     (default 1; more needs a postgres:// store)
${ROOT_KEY_HELP}  --config FILE          settings from a JSON file   COFFER_CONFIG
  -h, --help             show this help

Examples:
  coffer serve --port 4700 --data-dir /var/lib/coffer
  coffer serve --config coffer.json --port 4601
  coffer serve --port 0 --data-dir ./.coffer-test --seed test-keys.yaml
  coffer serve --host 0.0.0.0 --tls-cert server.crt --tls-key server.key
  coffer serve --tls-self-signed --quotas off

GET /metrics (Prometheus), /healthz and /readyz answer without a signature; SIGTERM or SIGINT
lets in-flight requests finish, then closes the store; SIGHUP reloads the TLS certificate and key
(or, when the terminal the server was started on closed, stops it as SIGTERM does).
See docs/operations.md.

A config file is one JSON object keyed by the option names above, for example
  {"port": 4600, "data-dir": "./data", "region": "eu-west-1"}
A relative data-dir or seed in it is relative to the file's directory. Unknown keys are refused.

A seed file creates what it names and is missing, and checks what exists: starting again with
the same seed changes nothing, and an entry that conflicts with the store stops the start.
  keys:
    - keyId: 1234abcd-12ab-34cd-56ef-1234567890ab
      description: payments (tests)
      material: <32 bytes in base64, e.g. openssl rand -base64 32; omit to generate once>
      aliases: [alias/payments]
  principals:
    - user: ci
      accessKeys: [{accessKeyId: AKIACITESTS0000001, secretAccessKey: ci-secret-for-tests-only}]
      policies:
        use-keys: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "kms:*", Resource: "*"}]}
  coffer serve --store postgres://coffer:secret@db.internal:5432/coffer

With --store postgres://..., any number of servers share one database. Each still keeps
root.key and credentials in its data directory: give every node a copy of the same root.key.
--workers N runs N server processes on one port and data directory (node:cluster), one per core
you want to use; /metrics answers for all of them, each has its own quotas and log lines
(marked "worker"). Workers read no terminal: give a passphrase root key's passphrase by
--root-passphrase-file or COFFER_ROOT_PASSPHRASE. SQLite is served by one process.
`;

export const OPTIONS = {
  host: { type: 'string', env: 'COFFER_HOST' },
  port: { type: 'string', env: 'COFFER_PORT' },
  'data-dir': { type: 'string', env: 'COFFER_DATA_DIR' },
  region: { type: 'string', env: 'COFFER_REGION' },
  'account-id': { type: 'string', env: 'COFFER_ACCOUNT_ID' },
  partition: { type: 'string', env: 'COFFER_PARTITION' },
  store: { type: 'string', env: 'COFFER_STORE' },
  seed: { type: 'string', env: 'COFFER_SEED' },
  'tls-cert': { type: 'string', env: 'COFFER_TLS_CERT' },
  'tls-key': { type: 'string', env: 'COFFER_TLS_KEY' },
  'tls-self-signed': { type: 'boolean', env: 'COFFER_TLS_SELF_SIGNED' },
  'allow-insecure-http': { type: 'boolean', env: 'COFFER_ALLOW_INSECURE_HTTP' },
  quotas: { type: 'string', env: 'COFFER_QUOTAS' },
  workers: { type: 'string', env: 'COFFER_WORKERS' },
  ...ROOT_KEY_OPTIONS,
  config: { type: 'string', env: 'COFFER_CONFIG' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** What a shell completes after the options that take a path or one of a few words; others take any value. */
export const OPTION_COMPLETIONS: Readonly<Record<string, 'file' | readonly string[]>> = {
  'data-dir': 'file', seed: 'file', 'tls-cert': 'file', 'tls-key': 'file', quotas: 'file', config: 'file',
  ...ROOT_KEY_COMPLETIONS,
};

export async function serveCommand(args: string[]): Promise<number> {
  return cluster.isWorker ? asWorker(() => serve(args)) : serve(args);
}

/**
 * A --workers worker runs this whole command again, its settings read anew: a file gone since the
 * primary read it (a quotas file, a config file) refuses it before it could serve. A replacement
 * tells the primary why (WorkerRefused) rather than print a plain line amid the JSON log; any
 * worker lets go of its channel to the primary, which would otherwise keep it alive, unseen.
 */
async function asWorker(command: () => Promise<number>): Promise<number> {
  try {
    return await command();
  } catch (error) {
    if (!isReplacement()) throw error;
    await tellPrimaryRefused(error instanceof Error ? error.message : String(error), error instanceof UsageError || error instanceof IoError ? error.hint : undefined);
    return error instanceof UsageError ? EXIT_USAGE : error instanceof IoError ? EXIT_IO : EXIT_FAILURE;
  } finally {
    // The channel to the primary would keep the process alive once the command is done. (The
    // worker's own disconnect: a bare process.disconnect() makes node:cluster end it with exit 0.)
    if (process.connected) cluster.worker?.disconnect();
  }
}

async function serve(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let tokens: ArgToken[];
  try {
    ({ values, tokens } = parseArgs({
      args,
      options: Object.fromEntries(Object.entries(OPTIONS).map(([k, v]) => [k, { type: v.type, ...('short' in v ? { short: v.short } : {}) }])),
      strict: true,
      allowPositionals: false,
      tokens: true,
    }));
  } catch (error) {
    const { message, hint } = parseErrorMessage(error as Error, args);
    throw new UsageError(message, hint ?? 'run `coffer serve --help` for the options');
  }
  refuseRepeatedValues(tokens, OPTIONS, 'coffer serve');
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const configPath = typeof values.config === 'string' ? values.config : process.env.COFFER_CONFIG || undefined;
  const fromFile = configPath === undefined ? {} : readConfigFile(configPath);
  // Flag, then environment variable, then config file, then the server's default.
  const setting = (name: keyof typeof OPTIONS): string | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return flag;
    const option = OPTIONS[name];
    return ('env' in option ? process.env[option.env] || undefined : undefined) ?? fromFile[name];
  };
  const portText = setting('port');
  // Decimal digits only: Number('') and Number(' ') are 0 (a random port), and Number('0x12f5') is hex.
  const port = portText === undefined ? undefined : /^\d{1,5}$/.test(portText) ? Number(portText) : Number.NaN;
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new UsageError(`--port must be a number from 0 to 65535, not '${portText}'`,
      'set --port, COFFER_PORT or "port" in the config file to a port number, e.g. --port 4600 (0 picks a free port)');
  }

  const seedPath = setting('seed');
  const seed = seedPath === undefined ? undefined : await readSeedFile(seedPath);
  // A boolean flag is set by its presence; in the environment or the file by true, 1 or yes, and
  // unset by false, 0 or no, the environment winning over the file as for every other option.
  // Returns where it was set too (0 flag, 1 environment, 2 config file), for choices between options.
  const enabledAt = (name: 'tls-self-signed' | 'allow-insecure-http'): { on: boolean; level: number } => {
    if (values[name] === true) return { on: true, level: 0 };
    for (const [level, where, text] of [[1, OPTIONS[name].env, process.env[OPTIONS[name].env]], [2, `"${name}" in the config file`, fromFile[name]]] as const) {
      if (text === undefined || text === '') continue;
      if (/^(true|1|yes)$/i.test(text)) return { on: true, level };
      if (/^(false|0|no)$/i.test(text)) return { on: false, level };
      throw new UsageError(`${where} must be true or false, not '${text}'`, 'use true, 1 or yes; false, 0 or no');
    }
    return { on: false, level: 3 };
  };
  const enabled = (name: 'tls-self-signed' | 'allow-insecure-http'): boolean => enabledAt(name).on;
  const levelOf = (name: 'tls-cert' | 'tls-key'): number => {
    if (typeof values[name] === 'string') return 0;
    if (process.env[OPTIONS[name].env]) return 1;
    return fromFile[name] !== undefined ? 2 : 3;
  };
  const tls = transportSettings(setting('tls-cert'), setting('tls-key'), enabledAt('tls-self-signed'), Math.min(levelOf('tls-cert'), levelOf('tls-key')));
  const quotasSetting = setting('quotas');
  const quotas = quotasSetting === undefined ? undefined : quotasSetting === 'off' ? false as const : { rates: readQuotasFile(quotasSetting) };
  const workers = workerCount(setting('workers'), setting('store'));
  // The banner is a courtesy: a server whose stdout cannot be written (redirected to a file on a
  // full disk) serves all the same, rather than end as main.ts ends other commands then.
  process.stdout.on('error', () => {});
  // The primary of --workers serves nothing: its workers run this same command (serve-workers.ts).
  if (workers > 1 && cluster.isPrimary) return servePrimary(workers);
  const worker = workers > 1 && cluster.isWorker ? cluster.worker : undefined;
  // Of several workers, the first applies the seed; the others start once it has.
  const applySeed = seed !== undefined && (worker === undefined || process.env[FIRST_WORKER_ENV] === '1');

  const logger = jsonLogger(undefined, worker ? { worker: worker.id } : undefined);
  // Every line a serving process writes to stderr is JSON (docs/operations.md, "Logs").
  logProcessWarnings(logger);
  const options: StartOptions = {
    ...(applySeed ? { seed } : {}),
    logger,
    ...(setting('host') !== undefined ? { host: setting('host')! } : {}),
    ...(port !== undefined ? { port } : {}),
    ...(setting('data-dir') !== undefined ? { dataDir: setting('data-dir')! } : {}),
    ...(setting('region') !== undefined ? { region: setting('region')! } : {}),
    ...(setting('account-id') !== undefined ? { accountId: setting('account-id')! } : {}),
    ...(setting('partition') !== undefined ? { partition: setting('partition')! } : {}),
    ...(setting('store') !== undefined ? { store: setting('store')! } : {}),
    ...(tls ? { tls } : {}),
    ...(enabled('allow-insecure-http') ? { allowInsecureHttp: true } : {}),
    ...(quotas !== undefined ? { quotas } : {}),
    rootKey: rootKeyOptionsOf(setting),
  };
  const selfSigned = tls !== undefined && 'selfSigned' in tls;
  if (!worker) return serveUntilSignalled(options, (server) => process.stdout.write(bannerOf(server, seedPath, selfSigned)), seedPath, {});
  // A scrape (or GetRequestMetrics) reaching this worker is answered for all of them, through the primary.
  const metrics = workerMetrics();
  // A worker tells the primary, which prints one banner for all.
  const announce = (server: RunningServer) => {
    metrics.serving(server);
    process.send!({ type: 'coffer-worker-ready', banner: bannerOf(server, seedPath, selfSigned) } satisfies WorkerReady);
  };
  // The primary's stop comes as a message (serve-workers.ts, StopRequest).
  const stopRequests = (stop: () => void) => process.on('message', (message) => { if (isStopRequest(message)) stop(); });
  const reloadRequests = (reload: () => void) => process.on('message', (message) => { if (isReloadRequest(message)) reload(); });
  // A replacement's refusal goes to the primary, which logs it.
  let told: Promise<void> = Promise.resolve();
  const refuse = isReplacement() ? (message: string, hint?: string) => { told = tellPrimaryRefused(message, hint); } : undefined;
  const exitCode = await serveUntilSignalled({ ...options, metricsExposition: metrics.exposition, requestMetrics: metrics.requestMetrics }, announce, seedPath,
    { stopRequests, reloadRequests, ...(refuse ? { refuse } : {}) });
  await told;
  return exitCode;
}

/** Whether this process is a worker started in a dead one's place (serve-workers.ts). */
const isReplacement = (): boolean => process.env[REPLACEMENT_WORKER_ENV] === '1' && process.send !== undefined;

/** Tells the primary why this replacement's start was refused (serve-workers.ts, WorkerRefused); resolves once it is sent. */
function tellPrimaryRefused(message: string, hint: string | undefined): Promise<void> {
  const reason = hint === undefined ? message : `${message}; ${hint}`;
  return new Promise((sent) => process.send!({ type: 'coffer-worker-refused', reason } satisfies WorkerRefused, () => sent()));
}

/** How a worker hears from its primary, and tells it of a refused start; none for a single process. */
interface WorkerChannel {
  readonly stopRequests?: (stop: () => void) => void;
  readonly reloadRequests?: (reload: () => void) => void;
  /** Where a refused start's error (and hint) goes; standard error, as `error:` and `hint:` lines, by default. */
  readonly refuse?: (message: string, hint?: string) => void;
}

/**
 * Starts the server, `announce`s it, and serves until SIGTERM or SIGINT, then lets in-flight
 * requests finish and closes it. Answers the command's exit code; a start refused for a reason the
 * operator can fix (seed, root key, port) is an error line, not a stack trace.
 */
async function serveUntilSignalled(
  options: StartOptions, announce: (server: RunningServer) => void, seedPath: string | undefined,
  { stopRequests, reloadRequests, refuse = (message, hint) => void process.stderr.write(`error: ${message}\n${hint ? `hint: ${hint}\n` : ''}`) }: WorkerChannel,
): Promise<number> {
  let server: RunningServer | undefined;
  let stopping = false;
  // SIGHUP ended the process at once by default, cutting off requests in flight. Sent by an
  // operator, it reloads the TLS certificate and key (during the start it is only logged); sent
  // because the terminal closed, it stops the server as SIGTERM does (terminal-hangup.ts). A
  // worker leaves that stop to its primary, which the hangup reaches too and which stops them all.
  const isHangup = hangupSignalCheck();
  let hungUp = false;
  let stopForHangup: (() => void) | undefined;
  const reload = (why: string) => {
    if (!server) return options.logger?.('warn', `${why} during the start: ignored; send it again once the server is serving`, {});
    // Kept while stopping too: without a listener a SIGHUP then ended the process mid-request.
    if (stopping) return options.logger?.('info', `${why} while stopping: ignored`, {});
    server.reloadTls().then(
      (done) => options.logger?.('info', `${why}: ${done}`, {}),
      (error: unknown) => options.logger?.('warn', `${why}: the TLS certificate was not reloaded, the one before is still served: ${error instanceof Error ? error.message : String(error)}`, {}),
    );
  };
  const onHup = () => {
    if (!isHangup()) return reload('SIGHUP');
    if (stopRequests || hungUp) return;
    hungUp = true;
    if (stopForHangup) stopForHangup();
    else options.logger?.('info', 'SIGHUP: the terminal closed during the start; the server stops once started', {});
  };
  process.on('SIGHUP', onHup);
  reloadRequests?.(() => reload('reload asked by the primary'));
  try {
    server = await startServer(options);
  } catch (error) {
    process.off('SIGHUP', onHup);
    if (error instanceof SeedError) {
      refuse(error.message, `fix ${seedPath}, or start with another --data-dir; the store was not changed`);
      return EXIT_FAILURE;
    }
    // checkConfig's refusal of a malformed --region, --account-id, --partition or --store: bad usage,
    // as a malformed --port is, not a failure of the server.
    if (error instanceof TypeError && error.message.startsWith('Invalid server configuration:')) {
      refuse(error.message, 'fix the flag, its COFFER_* environment variable or its key in the config file; `coffer serve --help` lists them');
      return EXIT_USAGE;
    }
    // A quotas file of unknown classes or bad rates: as a quotas file that is not JSON, the operator's input.
    if (error instanceof TypeError && error.message.startsWith('Invalid request quotas:')) {
      refuse(error.message, 'fix the quotas file (--quotas or COFFER_QUOTAS): each member a class above, each rate 0 (no limit) or more requests per second');
      return EXIT_USAGE;
    }
    if (error instanceof StartupError || error instanceof TypeError) {
      refuse(error.message);
      return EXIT_FAILURE;
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      refuse((error as Error).message, 'another process is listening there; pick another --port');
      return EXIT_FAILURE;
    }
    throw error;
  }

  const running = server;
  // Listen for signals before the banner: whoever waits for the banner may signal at once.
  const stopped = new Promise<void>((done) => {
    let closing = false;
    const close = (why: string, fields: Record<string, unknown>) => {
      if (closing) return;
      closing = true;
      // A log line, as every line the running server writes to stderr.
      options.logger?.('info', `${why}: finishing in-flight requests and closing the store`, fields);
      stopping = true;
      running.close().then(done, done);
    };
    const stop = (signal: string) => {
      // Both handlers go: a second signal of either kind then ends the process at once (the default action).
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      close(signal, { signal });
    };
    const onInt = () => stop('SIGINT');
    const onTerm = () => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
    // A worker's stop asked by the primary is no signal: the Ctrl-C that made the primary ask may
    // reach this process too, and must not count as the second signal that ends it at once.
    stopRequests?.(() => close('stop asked by the primary', { stop: 'primary' }));
    // Not counted as a first signal: a SIGTERM after the hangup (a terminal's own, or util-linux
    // `script`'s) still lets requests finish.
    stopForHangup = () => close('SIGHUP (the terminal closed)', { signal: 'SIGHUP' });
    if (hungUp) stopForHangup();
  });
  announce(running);
  await stopped;
  // The store is closed and the log written: work the grace abandoned (an RSA key generation still
  // queued for a client that left) must not hold the process for its own seconds.
  setTimeout(() => process.exit(process.exitCode ?? 0), ABANDONED_WORK_MS).unref();
  return 0;
}

/** How long a stopped server's process may linger for work its grace abandoned before it exits. */
const ABANDONED_WORK_MS = 2_000;

/** What `coffer serve` prints once it listens: where, with which credentials, and how to try it. */
function bannerOf(server: RunningServer, seedPath: string | undefined, selfSigned: boolean): string {
  const relativeCredentials = relative(process.cwd(), server.credentialsFile);
  const shownCredentials = relativeCredentials.startsWith('..') ? server.credentialsFile : relativeCredentials;
  return (
    `Coffer is listening on ${server.endpoint} (region ${server.config.region}, account ${server.config.accountId})\n` +
    `Data directory: ${server.config.dataDir}\n` +
    (server.config.store !== 'sqlite' ? `Store:          ${server.config.store}\n` : '') +
    (server.tlsFingerprint ? `TLS:            certificate SHA-256 fingerprint ${server.tlsFingerprint}\n` : '') +
    // Said, not a file named that holds no key of this account's root (a restore served with a
    // mistyped --account-id), nor a "Try it" that would use it.
    (server.noCredentials === undefined
      ? `Credentials:    ${server.credentialsFile} (profile [${server.profile}])\n`
      : `Credentials:    none for account ${server.config.accountId}: ${server.noCredentials}\n`) +
    `Console:        ${server.endpoint}/console\n` +
    (server.seeded ? `Seed:           ${seedPath}: created ${server.seeded.created.length}, unchanged ${server.seeded.unchanged}\n` : '') + '\n' +
    'Try it:\n' +
    (server.noCredentials === undefined ? `  export AWS_SHARED_CREDENTIALS_FILE=${shownCredentials}\n` : '') +
    // The AWS CLI trusts the generated certificate through its CA bundle variable.
    (selfSigned ? `  export AWS_CA_BUNDLE=${join(server.config.dataDir, SELF_SIGNED_CERT_FILE)}\n` : '') +
    `  aws kms create-key --endpoint-url ${server.endpoint} --profile ${server.profile} --region ${server.config.region}\n` +
    `  aws kms list-keys --endpoint-url ${server.endpoint} --profile ${server.profile} --region ${server.config.region}\n\n`
  );
}

/** --workers: 1 unless set; more than one only with a PostgreSQL store, which several processes can share. */
function workerCount(text: string | undefined, store: string | undefined): number {
  if (text === undefined) return 1;
  // Digits only: Number() would take '0x2', '1e1' and ' 2' for numbers.
  const count = /^\d{1,2}$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(count) || count < 1 || count > 64) {
    throw new UsageError(`--workers must be a number from 1 to 64, not '${text}'`, 'e.g. --workers 4: one server process per core to use');
  }
  if (count > 1 && (store === undefined || store === 'sqlite')) {
    throw new UsageError(`--workers ${count} needs a PostgreSQL store: SQLite is served by one process`,
      'add --store postgres://user:password@host/database, or leave --workers out');
  }
  // Any other store is not one at all: say so, as serve does without --workers (not that it is SQLite).
  // The value is not repeated: it may hold a password.
  if (count > 1 && store !== undefined && !isPostgresUrl(store)) {
    throw new UsageError("--store must be 'sqlite' or a postgres:// connection string", 'e.g. --store postgres://user:password@host/database');
  }
  return count;
}

/** What a config file's setting takes, for the hint when it holds something else (null, a list, an object). */
function settingKind(key: string): string {
  if (OPTIONS[key as keyof typeof OPTIONS]?.type === 'boolean') return 'true or false';
  return ['port', 'workers', 'pkcs11-slot'].includes(key) ? 'a number (or a string)' : 'a string';
}

/** The settings of a --config file, keyed by option name; anything else in it is refused. */
function readConfigFile(path: string): Partial<Record<keyof typeof OPTIONS, string>> {
  const parsed = readJsonObjectFile(path, 'config', 'check the path given to --config or COFFER_CONFIG', '{"port": 4600, "data-dir": "./data"}');
  const settings: Partial<Record<keyof typeof OPTIONS, string>> = {};
  const allowed = Object.keys(OPTIONS).filter((k) => k !== 'help' && k !== 'config');
  for (const [key, value] of Object.entries(parsed)) {
    if (!allowed.includes(key)) {
      throw new UsageError(`the config file '${path}' has an unknown setting '${key}'`, `the settings are: ${allowed.join(', ')}`);
    }
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') {
      throw new UsageError(`the config file '${path}' sets '${key}' to ${JSON.stringify(value)}`, `give '${key}' ${settingKind(key)}`);
    }
    // "quotas": false reads as off, as the flag's value does; true names no file.
    const text = key === 'quotas' && value === false ? 'off' : String(value);
    if (key === 'quotas' && value === true) throw new UsageError(`the config file '${path}' sets 'quotas' to true`, 'give "quotas" a file path, or "off" (false)');
    const isPath = ['data-dir', 'seed', 'tls-cert', 'tls-key', 'root-passphrase-file', 'pkcs11-pin-file'].includes(key) || (key === 'quotas' && text !== 'off');
    // A path is text: 5 or true is a mistake, not the file named "5"; "" is no path, not the file's own directory.
    if (isPath && (typeof value !== 'string' || text.trim() === '')) {
      throw new UsageError(`the config file '${path}' sets '${key}' to ${JSON.stringify(value)}`, `give '${key}' a path, as a string`);
    }
    settings[key as keyof typeof OPTIONS] = isPath ? resolve(dirname(path), text) : text;
  }
  return settings;
}

/** The yaml library's warnings stay in the document, never logged: they quote the file. */
const QUIET = { logLevel: 'error' } as const;
/** A seed nests a few levels (a policy's conditions are the deepest); far more is no seed. */
const MAX_SEED_NESTING = 64;

/** How deep JSON text nests: its open brackets outside strings, at most. */
function nestingOf(text: string): number {
  let depth = 0;
  let deepest = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') {
      inString = true;
    } else if (c === '{' || c === '[') {
      deepest = Math.max(deepest, ++depth);
    } else if (c === '}' || c === ']') {
      depth--;
    }
  }
  return deepest;
}

/** A seed file: JSON when it ends in .json, YAML otherwise (YAML also reads JSON). */
async function readSeedFile(path: string): Promise<unknown> {
  const text = readSettingFile(path, 'seed', 'check the path given to --seed or COFFER_SEED');
  const hint = '`coffer serve --help` shows a seed file; YAML or JSON';
  const { parseDocument } = await import('yaml');
  // Only the first line of the yaml library's messages: it says what and where (line and column);
  // the lines after it quote the file, where the seed's secrets and key material are.
  const said = (problem: { message: string }) => problem.message.split('\n')[0]!.replace(/:$/, '');
  if (path.endsWith('.json')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new UsageError(`the seed file '${path}' is not valid JSON${jsonErrorPlace(text)}`, hint);
    }
    // Deeper than any seed nests, the yaml library's own reading would exhaust the heap.
    if (nestingOf(text) > MAX_SEED_NESTING) {
      throw new UsageError(`the seed file '${path}' nests deeper than ${MAX_SEED_NESTING} levels`, hint);
    }
    // JSON.parse keeps the last of two members of one name, so one of them would be dropped
    // unseen (two "keys" lists, an Effect given twice): refused, as a YAML seed's are.
    const twice = parseDocument(text, QUIET).errors.find((e) => e.code === 'DUPLICATE_KEY');
    if (twice) throw new UsageError(`the seed file '${path}' has a member twice in one object: ${said(twice)}`, hint);
    return parsed;
  }
  const document = parseDocument(text, QUIET);
  if (document.errors[0]?.code === 'MULTIPLE_DOCS') {
    throw new UsageError(`the seed file '${path}' holds more than one YAML document (a '---' line starts a second): a seed is one`, hint);
  }
  // A warning too (an unknown tag such as !secret, an unknown directive): what the file meant is
  // not what would be read. The library would log it through process warnings, quoting the line,
  // secrets and all (QUIET: it leaves them in the document).
  const problem = document.errors[0] ?? document.warnings[0];
  if (problem) throw new UsageError(`the seed file '${path}' does not parse: ${said(problem)}`, hint);
  try {
    return document.toJS();
  } catch (error) {
    throw new UsageError(`the seed file '${path}' does not parse: ${said(error as Error)}`, hint);
  }
}

/**
 * Where JSON.parse stopped, as " at line L, column C". Never its message: V8's quotes the text
 * around the fault, and a seed file's secrets (access keys' secrets, key material) sit right there.
 * Only some of V8's messages give a position ("Unexpected token" ones do not), so the place is
 * found by parsing prefixes: one that stops short of the fault fails only for ending early (or
 * parses), one that holds it fails there; the shortest that fails there ends just past the fault.
 */
function jsonErrorPlace(text: string): string {
  const failsInside = (prefix: string): boolean => {
    try {
      JSON.parse(prefix);
      return false;
    } catch (error) {
      const message = error instanceof Error ? error.message : '';
      const position = /at position (\d+)/.exec(message);
      return !/end of JSON input|Unterminated string/.test(message) && (position === null || Number(position[1]) < prefix.length);
    }
  };
  if (!failsInside(text)) return '';
  let fine = 0;
  let failing = text.length;
  while (failing - fine > 1) {
    const middle = Math.floor((fine + failing) / 2);
    if (failsInside(text.slice(0, middle))) failing = middle;
    else fine = middle;
  }
  const before = text.slice(0, failing - 1).split('\n');
  return ` at line ${before.length}, column ${before.at(-1)!.length + 1}`;
}

/** Where a setting came from, by its level of precedence. */
const LEVELS = ['flags', 'environment', 'config file'] as const;

/**
 * --tls-cert with --tls-key, or --tls-self-signed, or neither. The two are one choice, made where
 * it was made with the highest precedence: a flag's pair wins over the config file's
 * `tls-self-signed`, as a flag wins over every setting. Both at the same level is a contradiction.
 */
function transportSettings(
  certFile: string | undefined, keyFile: string | undefined,
  selfSigned: { on: boolean; level: number }, pairLevel: number,
) {
  const pairGiven = certFile !== undefined || keyFile !== undefined;
  if (selfSigned.on && pairGiven) {
    if (selfSigned.level === pairLevel) {
      throw new UsageError(`--tls-self-signed cannot be combined with --tls-cert or --tls-key (both set in the ${LEVELS[pairLevel]})`,
        'give your own pair, or let coffer generate one, not both');
    }
    if (selfSigned.level < pairLevel) return { selfSigned: true } as const;
  } else if (selfSigned.on) {
    return { selfSigned: true } as const;
  }
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together', 'give both PEM files, e.g. --tls-cert server.crt --tls-key server.key');
  }
  return certFile !== undefined && keyFile !== undefined ? { certFile, keyFile } : undefined;
}

/** A quotas file: one JSON object of quota class -> requests per second (0: no limit). */
function readQuotasFile(path: string): Record<string, number> {
  return readJsonObjectFile(path, 'quotas', 'check the path given to --quotas or COFFER_QUOTAS, or give --quotas off', '{"symmetric": 10000, "CreateKey": 20}') as Record<string, number>;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The text of the `kind` file (config, seed, quotas); `hint` names where its path came from. */
function readSettingFile(path: string, kind: string, hint: string): string {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    throw new IoError(`cannot read the ${kind} file '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, hint);
  }
  // Read as UTF-8 or not at all: a name or secret in another encoding would be read as U+FFFD and
  // applied that way. A byte-order mark, as some Windows editors write, is dropped.
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new UsageError(`the ${kind} file '${path}' is not UTF-8 text`, 'save it as UTF-8');
  }
}

/** A file that must hold one JSON object, such as `example`. */
function readJsonObjectFile(path: string, kind: string, readHint: string, example: string): object {
  const text = readSettingFile(path, kind, readHint);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // Its place, not V8's message, which quotes the text around the fault: a config's `store` URL may hold a password.
    throw new UsageError(`the ${kind} file '${path}' is not valid JSON${jsonErrorPlace(text)}`, `write one object, e.g. ${example}`);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`the ${kind} file '${path}' is not a JSON object`, `write one object, e.g. ${example}`);
  }
  return parsed;
}
