#!/usr/bin/env node
import { serveCommand } from './commands/serve.js';
import { ApiError } from './admin-client.js';
import { EXIT_ACCESS, EXIT_CRYPTO, EXIT_FAILURE, EXIT_USAGE, UsageError } from './usage.js';

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
    } else if (error instanceof ApiError) {
      process.stderr.write(`error: ${error.code}: ${error.message}\n${hintFor(error.code)}`);
      process.exitCode = exitCodeFor(error.code);
    } else {
      process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = EXIT_FAILURE;
    }
  },
);

const ACCESS_ERRORS = new Set([
  'AccessDeniedException', 'UnrecognizedClientException', 'InvalidSignatureException',
  'MissingAuthenticationTokenException', 'IncompleteSignatureException', 'CredentialsProviderError',
]);
const CRYPTO_ERRORS = new Set([
  'InvalidCiphertextException', 'IncorrectKeyException', 'KMSInvalidSignatureException', 'KMSInvalidMacException',
]);

/** The documented exit code for a server error (see usage.ts). */
function exitCodeFor(code: string): number {
  if (ACCESS_ERRORS.has(code)) return EXIT_ACCESS;
  if (CRYPTO_ERRORS.has(code)) return EXIT_CRYPTO;
  return EXIT_FAILURE;
}

function hintFor(code: string): string {
  if (code === 'ConnectionError') return 'hint: is the server running? start one with `coffer serve`, or pass --endpoint-url\n';
  if (ACCESS_ERRORS.has(code)) return 'hint: check --profile and the credentials it names; the caller needs a policy that allows this\n';
  return '';
}
