import { parseArgs } from 'node:util';

/** One option of a bench: parseArgs' own fields, and the line `--help` prints for it. */
interface BenchOption {
  readonly type: 'string' | 'boolean';
  readonly default?: string | boolean;
  readonly help: string;
}

type Values<O extends Record<string, BenchOption>> = {
  [K in keyof O]: O[K]['type'] extends 'boolean' ? boolean : O[K] extends { default: string } ? string : string | undefined;
};

/**
 * A bench's command line. `--help` prints the usage and exits 0; a mistake (an unknown option, a
 * missing value) prints what was wrong and the usage, and exits 2: a bench is run by people, who
 * should not get a stack trace for a typo.
 */
export function benchArgs<O extends Record<string, BenchOption>>(command: string, what: string, options: O): Values<O> {
  const width = Math.max(...Object.keys(options).map((name) => name.length + (options[name]!.type === 'string' ? 2 : 0)));
  const usage = `Usage: ${command} [options]\n\n${what}\n\nOptions:\n${Object.entries(options).map(([name, option]) => {
    const flag = `--${name}${option.type === 'string' ? ' V' : ''}`;
    const fallback = option.default === undefined || option.default === false ? '' : ` (default ${String(option.default)})`;
    return `  ${flag.padEnd(width + 4)}  ${option.help}${fallback}`;
  }).join('\n')}\n  ${'--help'.padEnd(width + 4)}  this text\n`;
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const config = Object.fromEntries(Object.entries(options).map(([name, { type, default: fallback }]) => [name, fallback === undefined ? { type } : { type, default: fallback }]));
  try {
    return parseArgs({ options: config as never, allowPositionals: false }).values as Values<O>;
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n\n${usage}`);
    process.exit(2);
  }
}
