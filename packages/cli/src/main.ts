#!/usr/bin/env node
import { clientCommands } from './client-commands.js';
import { closeEnough } from './command.js';
import { EXIT_IO, IoError } from './usage.js';
import { ApiError } from './admin-client.js';
import { printable } from './output.js';
import { EXIT_ACCESS, EXIT_CRYPTO, EXIT_FAILURE, EXIT_USAGE, UsageError } from './usage.js';
import { endByHangupOnceTerminalClosed } from './commands/terminal-hangup.js';
import { cliVersion } from './version.js';

const COMMANDS: Record<string, (args: string[]) => Promise<number>> = {
  // Loaded on use: the server's modules (SQLite, PostgreSQL) would slow every other command's start.
  serve: async (args) => (await import('./commands/serve.js')).serveCommand(args),
  ...clientCommands(() => Object.keys(COMMANDS)),
};

const HELP = `coffer: a self-hosted key management service that speaks the AWS KMS protocol

Usage: coffer <command> [options]

Commands:
  serve       run the server (coffer serve --help)
  keys        create, inspect and manage KMS keys: rotation, deletion, tags, policy
  aliases     name keys with aliases (alias/...)
  grants      give principals narrow, revocable permissions on a key
  encrypt     encrypt files, standard input or a directory tree under KMS keys (AWS Encryption SDK format)
  decrypt     decrypt them; output appears only once the whole message verifies
  data-key    make a data key under a KMS key (GenerateDataKey)
  random      random bytes from the server (GenerateRandom)
  principals  users, roles and their identity policies (admin API)
  access-keys create, switch off and on, and delete access keys (admin API)
  audit       query, export and verify the audit trail (admin API, or a data directory)
  store       check a store's integrity with its root key; reset a key nobody can manage
  backup      write an encrypted archive of the whole store (keys, aliases, principals, audit chain)
  restore     restore such an archive into an empty store, on SQLite or PostgreSQL
  root        the root keys: status, rotation, migration to a passphrase, an HSM or another KMS
  completion  print a bash or zsh completion script

Examples:
  coffer serve --port 4600 --data-dir ./.coffer
  coffer keys create --description "payments data" --alias alias/payments
  coffer encrypt report.pdf --key alias/payments && coffer decrypt report.pdf.encrypted --key alias/payments -o copy.pdf

Run \`coffer <command> --help\` for a command's options and an example. Client commands
connect with --endpoint-url, --region and --profile, the usual AWS variables and profiles, or
./.coffer/credentials (profile [coffer]) when nothing else is set.

\`coffer --version\` prints the version.

Exit codes: 0 ok, 1 any other failure, 2 bad usage, 3 access refused (authentication or
authorization), 4 a cryptographic failure, 5 a file that cannot be read or written.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  // `coffer help keys list` is `coffer keys list --help`, as git and the AWS CLI read it.
  if (command === 'help' && rest[0] !== undefined) return runCommand(rest[0], [...rest.slice(1), '--help']);
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(HELP);
    return command === undefined ? EXIT_USAGE : 0;
  }
  // The AWS CLI's form, `aws --version`: the line a bug report starts with.
  if (command === '--version') {
    process.stdout.write(`coffer ${cliVersion()} node/${process.versions.node} ${process.platform}/${process.arch}\n`);
    return 0;
  }
  return runCommand(command, rest);
}

function runCommand(command: string, args: string[]): Promise<number> {
  const run = Object.hasOwn(COMMANDS, command) ? COMMANDS[command] : undefined;
  if (!run) {
    const near = Object.keys(COMMANDS).find((name) => closeEnough(name, command));
    throw new UsageError(`unknown command '${command}'`,
      near ? `did you mean \`coffer ${near}\`? \`coffer --help\` lists the commands` : 'run `coffer --help` for the list of commands');
  }
  return run(args);
}

// A command whose terminal hung up ends by SIGHUP once done, rather than abort at exit.
endByHangupOnceTerminalClosed();

// stderr redirected to a file on a full disk cannot take coffer's error lines or serve's notices.
// They are lost then, but their failed write must not end the process as an unhandled 'error'
// event: serve would die at SIGTERM ("finishing in-flight requests...") without finishing them.
process.stderr.on('error', () => {});

// Standard output that cannot be written (redirected to a full disk, or a reader that went away:
// EPIPE) ends a command with one error line and exit code 5, not with an unhandled 'error' event's
// stack trace and exit 1. Commands that watch standard output themselves (encrypt and decrypt to
// standard output, serve) add a listener of their own and decide.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (process.stdout.listenerCount('error') > 1) return;
  process.stderr.write(`error: cannot write to standard output: ${error.code ?? error.message}\n`
    + (error.code === 'EPIPE' ? 'hint: the program reading the output closed it before the end; what it read is incomplete\n' : ''));
  process.exit(EXIT_IO);
});

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    // Messages quote the command line and file names, which may hold control characters (an
    // argument with an escape sequence): shown escaped, as server messages are, never sent to the terminal.
    const said = (message: string, hint?: string) => `error: ${printable(message)}\n${hint ? `hint: ${hint.split('\n').map(printable).join('\n')}\n` : ''}`;
    if (error instanceof UsageError) {
      process.stderr.write(said(error.message, error.hint));
      process.exitCode = EXIT_USAGE;
    } else if (error instanceof ApiError) {
      // The first paragraph: a signature mismatch goes on with the canonical request the server
      // expected, which helps the author of a signer, not a user of this one (a wrong secret).
      const message = error.message.split('\n\n')[0]!;
      // Server messages quote what callers stored (an alias name, a description in a validation
      // error): control characters are shown escaped, never sent to the terminal.
      process.stderr.write(`error: ${error.code}: ${printable(message)}\n${hintFor(error.code, message)}`);
      process.exitCode = exitCodeFor(error.code);
    } else if (error instanceof IoError) {
      process.stderr.write(said(error.message, error.hint));
      process.exitCode = EXIT_IO;
    } else if (isSqliteDamage(error)) {
      // Met after the store opened (a page of a truncated coffer.db read later): SQLite's words alone.
      process.stderr.write(said(`the store is damaged (SQLite: ${(error as Error).message})`,
        '`coffer store check --data-dir DIR` names what it can; restore the store from a backup (docs/backup.md)'));
      process.exitCode = EXIT_FAILURE;
    } else {
      process.stderr.write(said(error instanceof Error ? error.message : String(error)));
      process.exitCode = EXIT_FAILURE;
    }
  },
);

/** SQLite's own word for a damaged database file (better-sqlite3's SqliteError codes). */
function isSqliteDamage(error: unknown): boolean {
  const code = (error as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && (code.startsWith('SQLITE_CORRUPT') || code === 'SQLITE_NOTADB');
}

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

/**
 * NotFoundException names what is missing in its message: a key or alias, and from the admin API
 * a user, role, access key or policy, or a grant. The hint points at the command that lists those.
 */
function notFoundHint(message: string): string {
  if (/^The (user|role) with name /.test(message)) return 'hint: `coffer principals list` shows the users and roles there are\n';
  if (/^The Access Key with id /.test(message)) return 'hint: `coffer access-keys list [user/NAME | role/NAME]` shows the access keys there are\n';
  if (/^The (user|role) policy with name /.test(message)) return 'hint: `coffer principals list-policies user/NAME` (or role/NAME) shows the policies there are\n';
  if (/^Grant ID |^The grant that the grant token names/.test(message)) return 'hint: `coffer grants list KEY` shows the grants of a key\n';
  return 'hint: `coffer keys list` and `coffer aliases list` show the keys and aliases there are\n';
}

function hintFor(code: string, message: string): string {
  if (code === 'ConnectionError' && message.includes('before its answer was complete')) {
    return 'hint: the server (or a proxy before it) cut its answer off: check its log; the request may have been carried out\n';
  }
  if (code === 'ConnectionError') {
    return 'hint: is the server running? start one with `coffer serve`, or pass --endpoint-url (https:// for a server with TLS, http:// for one without)\n';
  }
  if (code === 'Timeout' && message.startsWith('no connection')) {
    return 'hint: nothing took the connection; is the server running and reachable there? or pass --cli-connect-timeout SECONDS (0 waits for ever)\n';
  }
  if (code === 'Timeout') {
    return 'hint: the server took the connection but did not answer; check it, or pass --cli-read-timeout SECONDS (0 waits for ever)\n';
  }
  // A certificate out of its dates, or for another name, is not fixed by trusting it.
  if (code === 'UntrustedCertificate' && /\((?:certificate has expired|certificate is not yet valid)\)$/.test(message)) {
    return 'hint: the server\'s certificate is out of its validity dates: renew it on the server (`coffer serve --tls-self-signed` makes its own anew at its next start), or check this machine\'s clock\n';
  }
  if (code === 'UntrustedCertificate' && /\(Hostname\/IP does not match/.test(message)) {
    return 'hint: the certificate is for another name: use an --endpoint-url with a name or address it was issued for\n';
  }
  if (code === 'UntrustedCertificate') {
    return 'hint: pass --ca-bundle FILE (or set AWS_CA_BUNDLE) with the certificate to trust: `coffer serve --tls-self-signed` prints its path\n';
  }
  if (code === 'CredentialsProviderError' && /^the profile '/.test(message)) {
    return 'hint: check the name in --profile or AWS_PROFILE (`aws configure list-profiles` lists them); a local server\'s key is profile [coffer] in its .coffer/credentials\n';
  }
  if (code === 'CredentialsProviderError' && /^cannot read .*so the profile '/.test(message)) {
    return 'hint: the credentials and config files must be readable by the user running coffer; check their owner and mode\n';
  }
  if (code === 'CredentialsProviderError' && /^partial credentials in the environment/.test(message)) {
    return 'hint: set AWS_SECRET_ACCESS_KEY too, or unset AWS_ACCESS_KEY_ID to use a profile\n';
  }
  if (code === 'CredentialsProviderError') {
    return 'hint: pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run where `coffer serve` keeps .coffer/credentials\n';
  }
  if (code === 'NotFoundException') return notFoundHint(message);
  if (code === 'DisabledException') return 'hint: `coffer keys enable KEY` makes the key usable again\n';
  // A root-key rotation's refusal is about the keyring, not a KMS key.
  if (code === 'KMSInvalidStateException' && /root-key rotation/.test(message)) return 'hint: `coffer root status` shows the rotation under way\n';
  // An imported key rotates to material imported for it first; this CLI imports none.
  if (code === 'KMSInvalidStateException' && /No available key material pending rotation/.test(message)) {
    return 'hint: import the new material first: ImportKeyMaterial with ImportType NEW_KEY_MATERIAL (e.g. `aws kms import-key-material --import-type NEW_KEY_MATERIAL ...`)\n';
  }
  if (code === 'KMSInvalidStateException') return 'hint: `coffer keys describe KEY` shows the key\'s state\n';
  // Signed for another region than the server's: the region, not the credentials or a policy.
  const serves = /This server serves '([^']+)'/.exec(message);
  if (code === 'InvalidSignatureException' && serves) return `hint: pass --region ${serves[1]} (or set AWS_REGION): the request was signed for another region\n`;
  if (ACCESS_ERRORS.has(code)) return 'hint: check --profile and the credentials it names; the caller needs a policy that allows this\n';
  return '';
}
