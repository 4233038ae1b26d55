import { parseArgs } from 'node:util';
import { CONNECTION_HELP, CONNECTION_OPTIONS, resolveConnection, type Connection } from './connection.js';
import { cliErrorOf } from './kms-client.js';
import { EXIT_USAGE, parseErrorMessage, refuseRepeatedValues, UsageError, type ArgToken } from './usage.js';

/**
 * The shape of the client commands: a tree of groups (`coffer keys`, `coffer keys rotation`) whose
 * leaves parse their own flags. Help, usage errors and shell completion are all derived from it,
 * so a command cannot exist without its help and example.
 */

export interface Option {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  /** The value's placeholder in help: `--days N`. */
  readonly value?: string;
  readonly help: string;
  /** What a shell may complete as the value: files, or a closed set of words. */
  readonly complete?: 'file' | readonly string[];
}

export interface Invocation {
  /** `coffer keys describe`: for messages. */
  readonly path: string;
  readonly positionals: readonly string[];
  string(name: string): string | undefined;
  strings(name: string): readonly string[];
  flag(name: string): boolean;
  connection(): Connection;
}

export interface Leaf {
  readonly kind: 'leaf';
  readonly name: string;
  readonly summary: string;
  /** The synopsis after the command's name: `KEY [--days N]`. */
  readonly synopsis?: string;
  readonly description?: string;
  /** Positional arguments: name and help, in order. A name ending in `...` takes any number. */
  readonly arguments?: readonly (readonly [string, string])[];
  /** The fewest positionals accepted (default: all named arguments, none for `...`). */
  readonly minArguments?: number;
  /** Words a shell may offer for the positionals. */
  readonly completeArguments?: readonly string[];
  readonly options?: Readonly<Record<string, Option>>;
  /** Adds `--json`: the command prints what the KMS API answered. */
  readonly json?: boolean;
  /** Adds the connection flags (default true). */
  readonly remote?: boolean;
  readonly examples: readonly string[];
  run(invocation: Invocation): Promise<number | void>;
}

export interface Group {
  readonly kind: 'group';
  readonly name: string;
  readonly summary: string;
  readonly description?: string;
  readonly children: readonly Command[];
  readonly examples: readonly string[];
}

export type Command = Leaf | Group;

export const leaf = (spec: Omit<Leaf, 'kind'>): Leaf => ({ kind: 'leaf', ...spec });
export const group = (spec: Omit<Group, 'kind'>): Group => ({ kind: 'group', ...spec });

const JSON_OPTION: Option = { type: 'boolean', help: 'print the answer as JSON (AWS field names) instead of a table' };
const HELP_OPTION: Option = { type: 'boolean', short: 'h', help: 'show this help' };
const CONNECTION_OPTION_HELP: Record<keyof typeof CONNECTION_OPTIONS, Option> = {
  'endpoint-url': { type: 'string', value: 'URL', help: 'the server' },
  region: { type: 'string', value: 'REGION', help: 'its region' },
  profile: { type: 'string', value: 'NAME', help: 'credentials profile' },
  'ca-bundle': { type: 'string', value: 'FILE', help: 'certificates to trust for https (PEM)', complete: 'file' },
  'cli-read-timeout': { type: 'string', value: 'SECONDS', help: 'wait for an answer (default 60; 0: for ever)' },
  'cli-connect-timeout': { type: 'string', value: 'SECONDS', help: 'wait for a connection (default 60; 0: for ever)' },
};

/** Every flag a leaf accepts, the shared ones included, in help order. */
export function optionsOf(command: Leaf): Record<string, Option> {
  return {
    ...command.options,
    ...(command.json ? { json: JSON_OPTION } : {}),
    help: HELP_OPTION,
    ...(command.remote === false ? {} : CONNECTION_OPTION_HELP),
  };
}

/** Runs `args` against a command; `path` is the words that led here (`['coffer', 'keys']`). */
export async function runCommand(command: Command, args: readonly string[], path: readonly string[] = ['coffer']): Promise<number> {
  const here = [...path, command.name];
  if (command.kind === 'group') return runGroup(command, args, here);
  return runLeaf(command, args, here);
}

async function runGroup(command: Group, args: readonly string[], path: readonly string[]): Promise<number> {
  const [first, ...rest] = args;
  const name = path.join(' ');
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    process.stdout.write(groupHelp(command, name));
    return first === undefined ? EXIT_USAGE : 0;
  }
  const child = command.children.find((c) => c.name === first);
  if (!child) {
    const near = command.children.find((c) => closeEnough(c.name, first));
    throw new UsageError(`unknown command '${name} ${first}'`,
      near ? `did you mean \`${name} ${near.name}\`? \`${name} --help\` lists the commands` : `run \`${name} --help\` for the list of commands`);
  }
  return runCommand(child, rest, path);
}

async function runLeaf(command: Leaf, args: readonly string[], path: readonly string[]): Promise<number> {
  const name = path.join(' ');
  const beforeSeparator = args.includes('--') ? args.slice(0, args.indexOf('--')) : args;
  if (beforeSeparator.includes('--help') || beforeSeparator.includes('-h')) {
    process.stdout.write(leafHelp(command, name));
    return 0;
  }
  const options = optionsOf(command);
  let parsed: { values: Record<string, string | boolean | (string | boolean)[] | undefined>; positionals: string[]; tokens: ArgToken[] };
  try {
    parsed = parseArgs({
      args: [...args],
      options: Object.fromEntries(Object.entries(options).map(([k, o]) => [k, {
        type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}),
      }])),
      strict: true,
      allowPositionals: true,
      tokens: true,
    });
  } catch (error) {
    const { message, hint } = parseErrorMessage(error as Error, args);
    throw new UsageError(message, hint ?? `run \`${name} --help\` for its options and an example`);
  }
  refuseRepeatedValues(parsed.tokens, options, name);
  const named = command.arguments ?? [];
  const variadic = named.length > 0 && named[named.length - 1]![0].endsWith('...');
  const min = command.minArguments ?? (variadic ? named.length - 1 : named.length);
  const max = variadic ? Infinity : named.length;
  const { positionals, values } = parsed;
  if (positionals.length < min) {
    const missing = named.slice(positionals.length, Math.max(min, positionals.length)).map(([n]) => n).join(' ');
    throw new UsageError(`${name}: missing ${missing}`, `usage: ${synopsisOf(command, name)}; for example \`${command.examples[0]}\``);
  }
  if (positionals.length > max) {
    throw new UsageError(`${name}: unexpected argument '${positionals[max]}'`, `usage: ${synopsisOf(command, name)}`);
  }
  let connection: Connection | undefined;
  const invocation: Invocation = {
    path: name,
    positionals,
    string: (flag) => {
      const value = values[flag];
      return typeof value === 'string' ? value : undefined;
    },
    strings: (flag) => {
      const value = values[flag];
      return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : [];
    },
    flag: (flag) => values[flag] === true,
    connection: () => (connection ??= resolveConnection({
      ...(typeof values['endpoint-url'] === 'string' ? { 'endpoint-url': values['endpoint-url'] } : {}),
      ...(typeof values.region === 'string' ? { region: values.region } : {}),
      ...(typeof values.profile === 'string' ? { profile: values.profile } : {}),
      ...(typeof values['ca-bundle'] === 'string' ? { 'ca-bundle': values['ca-bundle'] } : {}),
      ...(typeof values['cli-read-timeout'] === 'string' ? { 'cli-read-timeout': values['cli-read-timeout'] } : {}),
      ...(typeof values['cli-connect-timeout'] === 'string' ? { 'cli-connect-timeout': values['cli-connect-timeout'] } : {}),
    })),
  };
  try {
    return (await command.run(invocation)) ?? 0;
  } catch (error) {
    throw cliErrorOf(error);
  }
}

/** Whether `b` is a typo of `a` (or a start of it): what an unknown command's hint offers. */
export function closeEnough(a: string, b: string): boolean {
  if (a.startsWith(b) || b.startsWith(a)) return true;
  // Levenshtein distance of at most 2: a typo, not another word.
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length]! <= 2;
}

function synopsisOf(command: Leaf, name: string): string {
  const named = command.arguments ?? [];
  const min = command.minArguments ?? named.length;
  const synopsis = command.synopsis ?? named.map(([n], i) => (i < min ? n : `[${n}]`)).join(' ');
  return `${name}${synopsis ? ` ${synopsis}` : ''}`;
}

/** A name and its help; a name too long for the first column gets a line of its own, the help below it in the second. */
const column = (left: string, right: string) =>
  left.length <= 24 ? `  ${left.padEnd(24)} ${right}\n` : `  ${left}\n${' '.repeat(27)}${right}\n`;

function examplesBlock(examples: readonly string[]): string {
  return `${examples.length > 1 ? 'Examples' : 'Example'}:\n${examples.map((e) => `  ${e}\n`).join('')}`;
}

export function leafHelp(command: Leaf, name: string): string {
  let text = `Usage: ${synopsisOf(command, name)} [options]\n\n${command.summary}\n`;
  if (command.description) text += `${command.description}\n`;
  if (command.arguments?.length) {
    text += '\nArguments:\n' + command.arguments.map(([n, h]) => column(n, h)).join('');
  }
  // The connection's flags are listed under Connection (CONNECTION_HELP), once. A local command's
  // flag of the same name (store reset-key-policy's --region: the server's) is its own.
  const own = Object.entries(optionsOf(command)).filter(([flag]) => command.remote === false || !Object.hasOwn(CONNECTION_OPTIONS, flag));
  text += '\nOptions:\n' + own.map(([flag, o]) =>
    column(`${o.short ? `-${o.short}, ` : ''}--${flag}${o.value ? ` ${o.value}` : ''}`, o.help)).join('');
  if (command.remote !== false) text += `\n${CONNECTION_HELP}\n`;
  return `${text}\n${examplesBlock(command.examples)}`;
}

export function groupHelp(command: Group, name: string): string {
  let text = `Usage: ${name} <command> [options]\n\n${command.summary}\n`;
  if (command.description) text += `${command.description}\n`;
  text += '\nCommands:\n' + command.children.map((c) => column(c.name, c.summary)).join('');
  return `${text}\n${examplesBlock(command.examples)}\nRun \`${name} <command> --help\` for a command's options and an example.\n`;
}
