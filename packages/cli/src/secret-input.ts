import { readFileSync } from 'node:fs';
import { readBounded } from './read-bounded.js';
import { IoError, UsageError } from './usage.js';

/**
 * Secrets are text, and a key is derived from their UTF-8 (docs/root-keys.md). Bytes that are not
 * UTF-8 are refused rather than decoded: decoding replaces each bad sequence with U+FFFD, so many
 * different byte strings (a file of random bytes, a Latin-1 terminal) would become the same
 * passphrase, and one would open what another made.
 */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const NOT_TEXT_HINT = 'a secret is text: write it in UTF-8 (random bytes as text, e.g. `head -c 32 /dev/urandom | base64`); '
  + 'a store or archive made from such a secret before it was refused: docs/root-keys.md says how to open it';

function isUtf8(bytes: Uint8Array): boolean {
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/**
 * How much of a secret file is read looking for the end of its first line. A passphrase or PIN is
 * far shorter; reading stops here, so a device or an endless pipe given by mistake (`/dev/zero`,
 * `/dev/urandom`) is refused instead of filling memory.
 */
export const MAX_SECRET_LINE_BYTES = 64 * 1024;

/** A secret from a file (its first line, without the newline), for --root-passphrase-file and --pkcs11-pin-file. */
export function readSecretFile(path: string, what: string): string {
  let bytes: Buffer;
  try {
    bytes = readBounded(path, MAX_SECRET_LINE_BYTES + 1, 0x0a);
    // A full read that did not stop at a line feed: the first line goes on past the bound.
    if (bytes.length > MAX_SECRET_LINE_BYTES && bytes.at(-1) !== 0x0a) throw new UsageError('first line too long');
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`the first line of the ${what} file '${path}' is longer than ${MAX_SECRET_LINE_BYTES / 1024} KiB`, `write the ${what} on its first line`);
    // A file that cannot be read is exit code 5, as --config, --quotas and --policy files are.
    throw new IoError(`cannot read the ${what} file '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, `give a readable file holding the ${what} on its first line`);
  }
  if (!isUtf8(bytes)) throw new UsageError(`the first line of the ${what} file '${path}' is not UTF-8 text`, NOT_TEXT_HINT);
  const secret = bytes.toString('utf8').split(/\r?\n/)[0] ?? '';
  // Only the first line is read: a file whose first line is empty may hold the secret further down.
  if (secret === '') throw new UsageError(`the first line of the ${what} file '${path}' is empty`, `write the ${what} on its first line (only that line is read)`);
  return secret;
}

/**
 * A secret from the environment variable `name`, or undefined when it is unset or empty. Node
 * decodes the environment as UTF-8 with U+FFFD for what is not, so the variable's bytes are read
 * from /proc/self/environ (Linux) to refuse a value that is not UTF-8 text; where that file is
 * missing, or the variable was set after the process started, the value is taken as it is.
 */
export function secretFromEnv(name: string, what: string): string | undefined {
  const value = process.env[name];
  if (!value) return undefined;
  const raw = startingEnvironmentValue(name);
  if (raw !== undefined && raw.toString('utf8') === value && !isUtf8(raw)) {
    throw new UsageError(`the ${what} in ${name} is not UTF-8 text`, NOT_TEXT_HINT);
  }
  return value;
}

/** The bytes of `name`'s value in the environment the process started with, where the system shows it. */
function startingEnvironmentValue(name: string): Buffer | undefined {
  let environ: Buffer;
  try {
    environ = readFileSync('/proc/self/environ');
  } catch {
    return undefined;
  }
  const prefix = Buffer.from(`${name}=`);
  for (let start = 0; start < environ.length;) {
    const nul = environ.indexOf(0, start);
    const end = nul === -1 ? environ.length : nul;
    const entry = environ.subarray(start, end);
    if (entry.subarray(0, prefix.length).equals(prefix)) return entry.subarray(prefix.length);
    start = end + 1;
  }
  return undefined;
}

/**
 * Asks for a secret on the terminal without echoing it. Only when standard input is a TTY:
 * otherwise undefined, and the caller says how to give it instead.
 *
 * The terminal is in raw mode meanwhile (no echo, no line editing by the terminal), so the keys a
 * terminal's line editing gives are handled here, as getpass(3) and ssh have them: Backspace, Ctrl-U
 * (erase the line), Ctrl-W (erase the last word), Ctrl-C (interrupt) and Ctrl-D on an empty line
 * (end of input). The end of input itself, a closed terminal included, fails the prompt.
 */
export function promptSecret(question: string): Promise<string> | undefined {
  const input = process.stdin;
  if (!input.isTTY) return undefined;
  return new Promise((done, fail) => {
    let typed = '';
    // A character's bytes may come in two reads (a long paste): its first bytes wait for the rest.
    let pending = Buffer.alloc(0);
    // No echo before the question shows: what is typed after it is never displayed.
    input.setRawMode(true);
    input.resume();
    process.stderr.write(question);
    const finish = (error?: Error) => {
      process.off('SIGHUP', onHup);
      try {
        input.setRawMode(false);
      } catch {
        // a terminal that hung up takes no mode
      }
      input.pause();
      input.off('data', onData);
      input.off('end', onEnd);
      input.off('error', onError);
      process.stderr.write('\n');
      if (error) fail(error);
      else done(typed);
    };
    const onData = (chunk: Buffer) => {
      const bytes = Buffer.concat([pending, chunk]);
      const complete = completeUtf8Length(bytes);
      pending = bytes.subarray(complete);
      // A terminal in another encoding (Latin-1) sends bytes that are not UTF-8.
      if (!isUtf8(bytes.subarray(0, complete))) return finish(new UsageError('what was typed is not UTF-8 text', 'set the terminal to UTF-8'));
      const chars = [...bytes.subarray(0, complete).toString('utf8')];
      for (const [i, char] of chars.entries()) {
        if (char === '\r' || char === '\n') {
          // What was typed ahead (the second entry of a confirmation) stays for the next prompt.
          const rest = Buffer.concat([Buffer.from(chars.slice(i + 1).join('').replace(/^\n/, ''), 'utf8'), pending]);
          finish();
          if (rest.length > 0) input.unshift(rest);
          return;
        }
        if (char === '\u0003') return finish(new UsageError('interrupted at the passphrase prompt'));
        if (char === '\u0004') {
          if (typed === '') return finish(new UsageError('no passphrase: end of input (Ctrl-D) at the prompt'));
          continue; // as a terminal's line editing: Ctrl-D ends input on an empty line only
        }
        if (char === '\u0015') typed = '';
        // The last word and what follows it, a word being letters, digits and _ as the terminal's
        // own word erase has it: Ctrl-W after `pass-junk` leaves `pass-`.
        else if (char === '\u0017') typed = typed.replace(/[\p{L}\p{N}\p{M}_]*[^\p{L}\p{N}\p{M}_]*$/u, '');
        else if (char === '\u007f' || char === '\b') typed = [...typed].slice(0, -1).join('');
        else typed += char;
      }
    };
    const onEnd = () => finish(new UsageError('no passphrase: standard input ended at the prompt'));
    // A terminal that hung up fails its reads (EIO), where a pipe would end.
    const onError = (error: NodeJS.ErrnoException) => finish(new UsageError(`no passphrase: the terminal could not be read (${error.code ?? error.message})`));
    // A SIGHUP with no other listener would end the process by its default action, leaving the
    // terminal without echo: the mode is restored first, and the signal then takes its course.
    const onHup = () => {
      if (process.listenerCount('SIGHUP') > 1) return;
      finish(new UsageError('SIGHUP at the passphrase prompt'));
      process.kill(process.pid, 'SIGHUP');
    };
    input.on('data', onData);
    input.on('end', onEnd);
    input.on('error', onError);
    process.on('SIGHUP', onHup);
  });
}

/** How many of `bytes` end on a whole UTF-8 character: the rest is the start of one still coming. */
function completeUtf8Length(bytes: Buffer): number {
  // A lead byte within the last three, whose sequence the buffer's end cuts short.
  for (let back = 1; back <= Math.min(3, bytes.length); back++) {
    const byte = bytes[bytes.length - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const needs = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needs > back ? bytes.length - back : bytes.length;
  }
  return bytes.length;
}
