/**
 * Exit codes, documented in the README: 0 ok, 1 any other failure, 2 bad usage, 3 access refused
 * (authentication or authorization), 4 a cryptographic failure (a ciphertext that does not
 * decrypt, a signature or an audit chain that does not verify), 5 an input or output file problem.
 */
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_ACCESS = 3;
export const EXIT_CRYPTO = 4;
export const EXIT_IO = 5;

/** The command line itself is wrong: printed as `error:` and `hint:` lines, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** A file the command reads or writes cannot be: printed as `error:` and `hint:` lines, exit code 5. */
export class IoError extends Error {
  override readonly name = 'IoError';
  readonly hint: string | undefined;
  constructor(message: string, hint?: string) {
    super(message);
    this.hint = hint;
  }
}

/** An option token as parseArgs reports it with `tokens: true`. */
export type ArgToken = { kind: string; name?: string; rawName?: string };

/**
 * A value option given twice (`--days 30 --days 7`) is refused: parseArgs would keep the last
 * one without a word, and which one the user meant is a guess. Repeatable options (`--tag`,
 * `--context`) and flags are not values that can disagree.
 */
export function refuseRepeatedValues(tokens: readonly ArgToken[], options: Readonly<Record<string, { readonly type: string; readonly multiple?: boolean }>>, command: string): void {
  const seen = new Set<string>();
  for (const token of tokens) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    const option = options[token.name];
    if (!option || option.type !== 'string' || option.multiple) continue;
    if (seen.has(token.name)) {
      throw new UsageError(`option '--${token.name}' is given more than once`, `give it once; run \`${command} --help\` for its options`);
    }
    seen.add(token.name);
  }
}

/** parseArgs' messages, shortened to the fact (its advice about `--` does not help here). */
export function parseErrorMessage(error: Error, args: readonly string[]): { message: string; hint?: string } {
  const code = (error as NodeJS.ErrnoException).code;
  // The option as parseArgs names it: '--days', '-o', or '-o, --output <value>' (then the long name).
  const option = /'(?:-\w, )?(--?[^' ,<]+)/.exec(error.message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    // As given, up to the quote parseArgs closes it with (an option may hold a quote itself).
    const given = /^Unknown option '(.+?)'(?:\. |$)/s.exec(error.message)?.[1] ?? option;
    if (given) return { message: `unknown option '${given}'` };
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) {
    if (/argument missing/.test(error.message)) return { message: `option '${option}' needs a value` };
    // `--description -legacy`: parseArgs will not take a value that looks like an option.
    if (/ambiguous/.test(error.message)) {
      // The argument that ends with the option: `-o`, or a group of short ones (`-ro`).
      const at = args.findIndex((a) => a === option || (!option.startsWith('--') && /^-[^-]/.test(a) && a.endsWith(option.slice(1))));
      const value = (at >= 0 ? args[at + 1] : undefined) ?? 'VALUE';
      // `-o=-x` would be read as the value '=-x': the long name takes `=`.
      const long = /use '(--[^=']+)=/.exec(error.message)?.[1] ?? option;
      return { message: `the value after '${option}' begins with a dash`, hint: `to give it as the value, write ${long}=${value}` };
    }
    return { message: `option '${option}' takes no value` };
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return { message: `unexpected argument '${/^Unexpected argument '(.*)'\. This command/s.exec(error.message)?.[1] ?? ''}'` };
  }
  return { message: error.message };
}
