import { parseArgs } from 'node:util';
import { relative } from 'node:path';
import { DEFAULT_CONFIG, StartupError, startServer } from '@coffer/server';
import { EXIT_FAILURE, UsageError } from '../usage.js';

const HELP = `Usage: coffer serve [options]

Runs the Coffer server. Every option can also be set by its environment variable;
a flag wins over the environment.

Options:
  --host HOST            address to listen on        COFFER_HOST        (default ${DEFAULT_CONFIG.host})
  --port PORT            port to listen on           COFFER_PORT        (default ${DEFAULT_CONFIG.port})
  --data-dir DIR         store, root key, creds      COFFER_DATA_DIR    (default ${DEFAULT_CONFIG.dataDir})
  --region REGION        region in ARNs and SigV4    COFFER_REGION      (default ${DEFAULT_CONFIG.region})
  --account-id ID        12-digit account in ARNs    COFFER_ACCOUNT_ID  (default ${DEFAULT_CONFIG.accountId})
  --partition NAME       partition in ARNs           COFFER_PARTITION   (default ${DEFAULT_CONFIG.partition})
  --store STORE          sqlite, or postgres://...   COFFER_STORE       (default ${DEFAULT_CONFIG.store}: coffer.db in the data dir)
  -h, --help             show this help

Examples:
  coffer serve --port 4700 --data-dir /var/lib/coffer
  coffer serve --store postgres://coffer:secret@db.internal:5432/coffer

With --store postgres://..., any number of servers share one database. Each still keeps
root.key and credentials in its data directory: give every node a copy of the same root.key.
`;

export const OPTIONS = {
  host: { type: 'string', env: 'COFFER_HOST' },
  port: { type: 'string', env: 'COFFER_PORT' },
  'data-dir': { type: 'string', env: 'COFFER_DATA_DIR' },
  region: { type: 'string', env: 'COFFER_REGION' },
  'account-id': { type: 'string', env: 'COFFER_ACCOUNT_ID' },
  partition: { type: 'string', env: 'COFFER_PARTITION' },
  store: { type: 'string', env: 'COFFER_STORE' },
  help: { type: 'boolean', short: 'h' },
} as const;

export async function serveCommand(args: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args,
      options: Object.fromEntries(Object.entries(OPTIONS).map(([k, v]) => [k, { type: v.type, ...('short' in v ? { short: v.short } : {}) }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    throw new UsageError((error as Error).message, 'run `coffer serve --help` for the options');
  }
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const setting = (name: keyof typeof OPTIONS): string | undefined => {
    const flag = values[name];
    if (typeof flag === 'string') return flag;
    const option = OPTIONS[name];
    return 'env' in option ? process.env[option.env] || undefined : undefined;
  };
  const portText = setting('port');
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new UsageError(`--port must be a number from 0 to 65535, not '${portText}'`,
      'set --port or COFFER_PORT to a port number, e.g. --port 4600 (0 picks a free port)');
  }

  let server;
  try {
    server = await startServer({
      ...(setting('host') !== undefined ? { host: setting('host')! } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(setting('data-dir') !== undefined ? { dataDir: setting('data-dir')! } : {}),
      ...(setting('region') !== undefined ? { region: setting('region')! } : {}),
      ...(setting('account-id') !== undefined ? { accountId: setting('account-id')! } : {}),
      ...(setting('partition') !== undefined ? { partition: setting('partition')! } : {}),
      ...(setting('store') !== undefined ? { store: setting('store')! } : {}),
    });
  } catch (error) {
    if (error instanceof StartupError || error instanceof TypeError) {
      process.stderr.write(`error: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      process.stderr.write(`error: ${(error as Error).message}\nhint: another process is listening there; pick another --port\n`);
      return EXIT_FAILURE;
    }
    throw error;
  }

  // Listen for signals before the banner: whoever waits for the banner may signal at once.
  const stopped = new Promise<void>((done) => {
    const stop = (signal: string) => {
      process.stderr.write(`${signal}: finishing in-flight requests and closing the store\n`);
      server.close().then(done, done);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });

  const relativeCredentials = relative(process.cwd(), server.credentialsFile);
  const shownCredentials = relativeCredentials.startsWith('..') ? server.credentialsFile : relativeCredentials;
  process.stdout.write(
    `Coffer is listening on ${server.endpoint} (region ${server.config.region}, account ${server.config.accountId})\n` +
    `Data directory: ${server.config.dataDir}\n` +
    (server.config.store !== 'sqlite' ? `Store:          ${server.config.store}\n` : '') +
    `Credentials:    ${server.credentialsFile} (profile [${server.profile}])\n\n` +
    'Try it:\n' +
    `  export AWS_SHARED_CREDENTIALS_FILE=${shownCredentials}\n` +
    `  aws kms create-key --endpoint-url ${server.endpoint} --profile ${server.profile} --region ${server.config.region}\n` +
    `  aws kms list-keys --endpoint-url ${server.endpoint} --profile ${server.profile} --region ${server.config.region}\n\n`,
  );

  await stopped;
  return 0;
}
