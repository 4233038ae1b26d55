#!/usr/bin/env node
import { serveCommand } from './commands/serve.js';
import { UsageError, EXIT_USAGE } from './usage.js';

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  serve: serveCommand,
};

const HELP = `coffer: a self-hosted key management service that speaks the AWS KMS protocol

Usage: coffer <command> [options]

Commands:
  serve     run the server (coffer serve --help)

Example:
  coffer serve --port 4600 --data-dir ./.coffer
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? EXIT_USAGE : 0;
  }
  const run = COMMANDS[command];
  if (!run) throw new UsageError(`unknown command '${command}'`, 'run `coffer --help` for the list of commands');
  return run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n${error.hint ? `hint: ${error.hint}\n` : ''}`);
      process.exitCode = EXIT_USAGE;
    } else {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    }
  },
);
