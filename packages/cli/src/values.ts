import { homedir } from 'node:os';
import { readBounded } from './read-bounded.js';
import { IoError, UsageError } from './usage.js';

/** Parsers for what client commands take on the command line; each refuses instead of guessing. */

/** `k=v` pairs (tags, encryption contexts) as an object; the value may itself contain `=`. */
export function keyValues(pairs: readonly string[], flag: string, example: string): Record<string, string> {
  // No prototype: a key named __proto__ is a key like any other, not the prototype setter.
  const result: Record<string, string> = Object.create(null);
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`${flag} '${pair}' is not KEY=VALUE`, `write it as ${example}`);
    const key = pair.slice(0, at);
    if (Object.hasOwn(result, key)) throw new UsageError(`${flag} names '${key}' twice`, 'give each key once');
    result[key] = pair.slice(at + 1);
  }
  return result;
}

/** A whole number from `min` to `max`, or undefined when the flag is absent. */
export function integerIn(text: string | undefined, what: string, min: number, max: number): number | undefined {
  if (text === undefined) return undefined;
  const value = /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const example = Math.min(Math.max(min, 30), max);
    throw new UsageError(`${what} must be a whole number from ${min} to ${max}, not '${text}'`,
      what.startsWith('--') ? `for example ${what} ${example}` : `for example ${example}`);
  }
  return value;
}

/** One of a closed set of words, or undefined when the flag is absent. */
export function oneOf<T extends string>(text: string | undefined, what: string, allowed: readonly T[]): T | undefined {
  if (text === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(text)) {
    throw new UsageError(`${what} '${text}' is not one of the accepted values`, `use one of: ${allowed.join(', ')}`);
  }
  return text as T;
}

/** A comma-separated list of words from a closed set, at least one. */
export function listOf<T extends string>(text: string, what: string, allowed: readonly T[]): T[] {
  const items = text.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) throw new UsageError(`${what} is empty`, `give one or more of: ${allowed.join(', ')}`);
  for (const item of items) oneOf(item, what, allowed);
  return items as T[];
}

/**
 * The most a text input may hold: the server's request body limit (256 KiB), which no document
 * sent in a request can exceed. Reading stops there, so a device or an endless pipe given by
 * mistake (`/dev/zero`, a log being written) is refused instead of filling memory.
 */
export const MAX_TEXT_INPUT_BYTES = 256 * 1024;

/**
 * The text of a file, or of standard input for `-`; an unreadable file is an I/O error (exit 5).
 * `file://PATH` (and `fileb://PATH`) is PATH, as the AWS CLI reads it and its users type it by habit.
 */
export function readTextInput(given: string, what: string): string {
  const path = /^fileb?:\/\//.test(given) ? awsCliFilePath(given.replace(/^fileb?:\/\//, '')) : given;
  const source = path === '-' ? 'standard input' : `'${path}'`;
  let bytes: Buffer;
  try {
    bytes = readBounded(path === '-' ? 0 : path, MAX_TEXT_INPUT_BYTES + 1);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new IoError(`cannot read ${what} from ${source}: ${code ?? (error as Error).message}`,
      code === 'ENOENT' ? 'check the path; `-` reads standard input' : undefined);
  }
  if (bytes.length > MAX_TEXT_INPUT_BYTES) {
    throw new UsageError(`${what} from ${source} is longer than ${MAX_TEXT_INPUT_BYTES / 1024} KiB, more than a request can carry`,
      'give the policy document itself: identity policies are at most 131072 characters, key policies 32768');
  }
  return bytes.toString('utf8');
}

/**
 * The path of a `file://` parameter as the AWS CLI reads it (awscli/paramfile.py): `~` and
 * `$VAR`/`${VAR}` expanded, and `-` a file of that name, not standard input.
 */
function awsCliFilePath(path: string): string {
  const expanded = path.replace(/^~(?=\/|$)/, homedir()).replace(/\$(?:(\w+)|\{(\w+)\})/g, (text, name?: string, braced?: string) => process.env[name ?? braced!] ?? text);
  return expanded === '-' ? './-' : expanded;
}

/** An alias name as AWS spells it: the `alias/` prefix is required, not assumed. */
export function aliasName(text: string): string {
  if (!text.startsWith('alias/')) {
    throw new UsageError(`'${text}' is not an alias name`, `alias names begin with alias/, e.g. alias/${text.replace(/^\/+/, '') || 'app'}`);
  }
  return text;
}

/**
 * The name of an alias to create, held to AWS's rules (CreateAlias: at most 256 characters of
 * `a-zA-Z0-9/_-` after `alias/`, none under `alias/aws/`) before anything is made: `keys create
 * --alias` creates the key first, and a name the server refuses would leave a key without it.
 */
export function newAliasName(text: string): string {
  const name = aliasName(text);
  if (!/^alias\/[a-zA-Z0-9/_-]+$/.test(name) || name.length > 256) {
    throw new UsageError(`'${text}' is not a valid alias name`, 'after alias/, use up to 250 letters, digits, /, _ and -, e.g. alias/payments-prod');
  }
  if (name.startsWith('alias/aws/')) throw new UsageError(`'${text}' is reserved for AWS managed keys`, 'choose a name that does not begin with alias/aws/');
  return name;
}
