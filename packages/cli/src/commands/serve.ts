import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { dirname, relative, resolve } from 'node:path';
import { DEFAULT_CONFIG, SeedError, StartupError, startServer } from '@coffer/server';
import { EXIT_FAILURE, IoError, UsageError } from '../usage.js';

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
  --config FILE          settings from a JSON file   COFFER_CONFIG
  -h, --help             show this help

Examples:
  coffer serve --port 4700 --data-dir /var/lib/coffer
  coffer serve --config coffer.json --port 4601
  coffer serve --port 0 --data-dir ./.coffer-test --seed test-keys.yaml

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
  config: { type: 'string', env: 'COFFER_CONFIG' },
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
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new UsageError(`--port must be a number from 0 to 65535, not '${portText}'`,
      'set --port, COFFER_PORT or "port" in the config file to a port number, e.g. --port 4600 (0 picks a free port)');
  }

  const seedPath = setting('seed');
  const seed = seedPath === undefined ? undefined : await readSeedFile(seedPath);

  let server;
  try {
    server = await startServer({
      ...(seed !== undefined ? { seed } : {}),
      ...(setting('host') !== undefined ? { host: setting('host')! } : {}),
      ...(port !== undefined ? { port } : {}),
      ...(setting('data-dir') !== undefined ? { dataDir: setting('data-dir')! } : {}),
      ...(setting('region') !== undefined ? { region: setting('region')! } : {}),
      ...(setting('account-id') !== undefined ? { accountId: setting('account-id')! } : {}),
      ...(setting('partition') !== undefined ? { partition: setting('partition')! } : {}),
      ...(setting('store') !== undefined ? { store: setting('store')! } : {}),
    });
  } catch (error) {
    if (error instanceof SeedError) {
      process.stderr.write(`error: ${error.message}\nhint: fix ${seedPath}, or start with another --data-dir; the store was not changed by that entry\n`);
      return EXIT_FAILURE;
    }
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
    `Credentials:    ${server.credentialsFile} (profile [${server.profile}])\n` +
    (server.seeded ? `Seed:           ${seedPath}: created ${server.seeded.created.length}, unchanged ${server.seeded.unchanged}\n` : '') + '\n' +
    'Try it:\n' +
    `  export AWS_SHARED_CREDENTIALS_FILE=${shownCredentials}\n` +
    `  aws kms create-key --endpoint-url ${server.endpoint} --profile ${server.profile} --region ${server.config.region}\n` +
    `  aws kms list-keys --endpoint-url ${server.endpoint} --profile ${server.profile} --region ${server.config.region}\n\n`,
  );

  await stopped;
  return 0;
}

/** The settings of a --config file, keyed by option name; anything else in it is refused. */
function readConfigFile(path: string): Partial<Record<keyof typeof OPTIONS, string>> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new IoError(`cannot read the config file '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      'check the path given to --config or COFFER_CONFIG');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`the config file '${path}' is not JSON: ${(error as Error).message}`, 'write one object, e.g. {"port": 4600, "data-dir": "./data"}');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new UsageError(`the config file '${path}' is not a JSON object`, 'write one object, e.g. {"port": 4600, "data-dir": "./data"}');
  }
  const settings: Partial<Record<keyof typeof OPTIONS, string>> = {};
  const allowed = Object.keys(OPTIONS).filter((k) => k !== 'help' && k !== 'config');
  for (const [key, value] of Object.entries(parsed)) {
    if (!allowed.includes(key)) {
      throw new UsageError(`the config file '${path}' has an unknown setting '${key}'`, `the settings are: ${allowed.join(', ')}`);
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new UsageError(`the config file '${path}' sets '${key}' to ${JSON.stringify(value)}`, `give '${key}' a string${key === 'port' ? ' or a number' : ''}`);
    }
    settings[key as keyof typeof OPTIONS] = key === 'data-dir' || key === 'seed' ? resolve(dirname(path), String(value)) : String(value);
  }
  return settings;
}

/** A seed file: JSON when it ends in .json, YAML otherwise (YAML also reads JSON). */
async function readSeedFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new IoError(`cannot read the seed file '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
      'check the path given to --seed or COFFER_SEED');
  }
  try {
    if (path.endsWith('.json')) return JSON.parse(text);
    const { parse } = await import('yaml');
    return parse(text);
  } catch (error) {
    throw new UsageError(`the seed file '${path}' does not parse: ${(error as Error).message.split('\n')[0]}`,
      '`coffer serve --help` shows a seed file; YAML or JSON');
  }
}
