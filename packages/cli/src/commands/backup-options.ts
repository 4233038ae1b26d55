import { readFileSync } from 'node:fs';
import type { RootKeyOptions } from '@coffer/server';
import { DEFAULT_CONFIG, isPostgresUrl } from '@coffer/server';
import type { Invocation, Option } from '../command.js';
import { promptSecret, readSecretFile, secretFromEnv } from '../secret-input.js';
import { IoError, UsageError } from '../usage.js';
import { ROOT_KEY_COMPLETIONS, ROOT_KEY_OPTIONS, rootKeyOptionsOf } from './root-key-options.js';

/**
 * What `coffer backup` and `coffer restore` share: the data directory, store and root-key options
 * of `coffer serve` (the same names and environment variables), and the archive's passphrase.
 */
export const PASSPHRASE_ENV = 'COFFER_BACKUP_PASSPHRASE';

/** coffer serve's root-key options, for the tools that open a store themselves. */
export const ROOT_KEY_TOOL_OPTIONS: Record<string, Option> = Object.fromEntries(Object.entries(ROOT_KEY_OPTIONS).map(([name, option]) =>
  [name, {
    type: option.type, value: name === 'root-key' ? 'PROVIDER' : name.endsWith('-file') ? 'FILE' : 'VALUE',
    help: `the root key, as coffer serve --help describes it (env ${option.env})`,
    ...(ROOT_KEY_COMPLETIONS[name as keyof typeof ROOT_KEY_OPTIONS] ? { complete: ROOT_KEY_COMPLETIONS[name as keyof typeof ROOT_KEY_OPTIONS]! } : {}),
  } satisfies Option]));

/** The hint after a store a tool could not open (a StartupError: its message says what is wrong). */
export const LOCATION_HINT = 'point --data-dir (and --store, and the root-key options) at what `coffer serve` uses';

export const LOCATION_OPTIONS: Record<string, Option> = {
  'data-dir': { type: 'string', value: 'DIR', help: `the data directory, as coffer serve's (default ${DEFAULT_CONFIG.dataDir}; env COFFER_DATA_DIR)`, complete: 'file' },
  store: { type: 'string', value: 'URL', help: 'a PostgreSQL store, postgres://... (default: SQLite in the data directory; env COFFER_STORE)' },
  ...ROOT_KEY_TOOL_OPTIONS,
};

/** The root-key options of ROOT_KEY_TOOL_OPTIONS, each from its flag or else its environment variable; secrets as coffer serve takes them. */
export function rootKeyOf(inv: Invocation): RootKeyOptions {
  return rootKeyOptionsOf((name) => inv.string(name) ?? (process.env[ROOT_KEY_OPTIONS[name].env] || undefined));
}

export const PASSPHRASE_FILE_OPTION: Option = {
  type: 'string', value: 'FILE', complete: 'file',
  help: `the archive's passphrase, on the file's first line (or env ${PASSPHRASE_ENV}; asked on a terminal)`,
};

/** The archive's path, from the required --out (backup) or --in (restore); `example` is a whole command line. */
export function archivePathOf(inv: Invocation, flag: 'out' | 'in', example: string): string {
  const path = inv.string(flag);
  if (path === undefined) throw new UsageError(`--${flag} FILE is required`, `e.g. ${example}`);
  // Elsewhere `-` is standard input or output; an archive is a file (written whole, then renamed;
  // read twice), and `-` would name one of that name in the current directory.
  if (path === '-') throw new UsageError(`--${flag} names a file; an archive does not go through standard ${flag === 'out' ? 'output' : 'input'}`, `e.g. ${example}`);
  return path;
}

export function locationOf(inv: Invocation): { dataDir: string; store?: string; rootKey: RootKeyOptions } {
  const dataDir = inv.string('data-dir') ?? (process.env.COFFER_DATA_DIR || DEFAULT_CONFIG.dataDir);
  const store = storeOf(inv);
  return { dataDir, ...(store !== undefined ? { store } : {}), rootKey: rootKeyOf(inv) };
}

/**
 * --store (or COFFER_STORE unless `fromEnv` is false): a PostgreSQL connection string, or undefined
 * for SQLite in the data directory. Anything else is refused, as `coffer serve` refuses it: a
 * mistyped `postgress://` would otherwise have a tool check, back up or change the SQLite store
 * beside it and say it was the one named.
 */
export function storeOf(inv: Invocation, fromEnv = true): string | undefined {
  const given = inv.string('store');
  const store = given ?? (fromEnv ? process.env.COFFER_STORE || undefined : undefined);
  if (store === undefined || store === 'sqlite') return undefined;
  if (!isPostgresUrl(store)) {
    throw new UsageError(`${given !== undefined ? '--store' : 'COFFER_STORE'} must be 'sqlite' or a postgres:// connection string`, 'e.g. --store postgres://user:password@host/database');
  }
  return store;
}

/**
 * The archive passphrase: from --passphrase-file, the environment, or the terminal (twice when
 * making an archive, so a typo does not make one nobody can open). Never a flag value: `ps` shows those.
 */
export async function passphraseOf(inv: Invocation, confirm: boolean): Promise<string> {
  const file = inv.string('passphrase-file');
  if (file !== undefined) return readSecretFile(file, 'backup passphrase');
  const fromEnv = secretFromEnv(PASSPHRASE_ENV, 'backup passphrase');
  if (fromEnv) return fromEnv;
  const first = await promptSecret('Backup passphrase: ');
  if (first === undefined) {
    throw new UsageError('no passphrase for the archive', `give --passphrase-file FILE or set ${PASSPHRASE_ENV} (standard input is not a terminal to ask on)`);
  }
  if (confirm && (await promptSecret('Backup passphrase again: ')) !== first) {
    throw new UsageError('the two passphrases differ', 'run the command again');
  }
  return first;
}

/** The PEM text of --recipient (backup) or --identity (restore). */
export function readPem(path: string, flag: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new IoError(`cannot read ${flag} ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, `give a PEM file to ${flag}`);
  }
}
