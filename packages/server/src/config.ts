import { isPostgresUrl, redactConnectionString } from './store/connection-string.js';

/** Everything a server start can be told. Defaults are AWS's (us-east-1, the aws partition). */
export interface ServerConfig {
  readonly host: string;
  readonly port: number;
  readonly dataDir: string;
  readonly region: string;
  readonly accountId: string;
  readonly partition: string;
  /**
   * `sqlite` (the default: `coffer.db` in the data directory) or a PostgreSQL connection string,
   * `postgres://user:password@host:port/database`, for several nodes on one database.
   */
  readonly store: string;
}

export const DEFAULT_CONFIG: ServerConfig = Object.freeze({
  host: '127.0.0.1',
  port: 4600,
  dataDir: '.coffer',
  region: 'us-east-1',
  accountId: '111122223333',
  partition: 'aws',
  store: 'sqlite',
});

/** Checks a config before anything is opened or written; the message names the bad value. */
export function checkConfig(config: ServerConfig): void {
  const problems: string[] = [];
  if (!Number.isInteger(config.port) || config.port < 0 || config.port > 65535) problems.push(`port must be 0..65535, not ${config.port}`);
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(config.region)) problems.push(`region must look like us-east-1, not '${config.region}'`);
  if (!/^\d{12}$/.test(config.accountId)) problems.push(`account id must be 12 digits, not '${config.accountId}'`);
  if (!/^aws(-[a-z]+)*$/.test(config.partition)) problems.push(`partition must look like aws or aws-cn, not '${config.partition}'`);
  if (typeof config.dataDir !== 'string' || config.dataDir.trim() === '') problems.push('data directory must be a path, not empty');
  // An empty host would listen on every address, which no one asking for "" meant.
  if (typeof config.host !== 'string' || config.host.trim() === '') problems.push(`host must be an address or name, such as 127.0.0.1, not '${config.host}'`);
  if (config.store !== 'sqlite' && !isPostgresUrl(config.store)) {
    problems.push(`store must be 'sqlite' or a postgres:// connection string, not '${redactConnectionString(config.store)}'`);
  }
  if (problems.length) throw new TypeError(`Invalid server configuration: ${problems.join('; ')}.`);
}
