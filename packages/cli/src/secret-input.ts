import { readBounded } from './read-bounded.js';
import { IoError, UsageError } from './usage.js';

/**
 * How much of a secret file is read looking for the end of its first line. A passphrase or PIN is
 * far shorter; reading stops here, so a device or an endless pipe given by mistake (`/dev/zero`,
 * `/dev/urandom`) is refused instead of filling memory.
 */
export const MAX_SECRET_LINE_BYTES = 64 * 1024;

/** A secret from a file (its first line, without the newline), for --root-passphrase-file and --pkcs11-pin-file. */
export function readSecretFile(path: string, what: string): string {
  let text: string;
  try {
    const bytes = readBounded(path, MAX_SECRET_LINE_BYTES + 1, 0x0a);
    // A full read that did not stop at a line feed: the first line goes on past the bound.
    if (bytes.length > MAX_SECRET_LINE_BYTES && bytes.at(-1) !== 0x0a) throw new UsageError('first line too long');
    text = bytes.toString('utf8');
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`the first line of the ${what} file '${path}' is longer than ${MAX_SECRET_LINE_BYTES / 1024} KiB`, `write the ${what} on its first line`);
    // A file that cannot be read is exit code 5, as --config, --quotas and --policy files are.
    throw new IoError(`cannot read the ${what} file '${path}': ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, `give a readable file holding the ${what} on its first line`);
  }
  const secret = text.split(/\r?\n/)[0] ?? '';
  // Only the first line is read: a file whose first line is empty may hold the secret further down.
  if (secret === '') throw new UsageError(`the first line of the ${what} file '${path}' is empty`, `write the ${what} on its first line (only that line is read)`);
  return secret;
}

/**
 * Asks for a secret on the terminal without echoing it. Only when standard input is a TTY:
 * otherwise undefined, and the caller says how to give it instead.
 */
export function promptSecret(question: string): Promise<string> | undefined {
  const input = process.stdin;
  if (!input.isTTY) return undefined;
  return new Promise((done, fail) => {
    let typed = '';
    // No echo before the question shows: what is typed after it is never displayed.
    input.setRawMode(true);
    input.resume();
    process.stderr.write(question);
    const finish = (error?: Error) => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      process.stderr.write('\n');
      if (error) fail(error);
      else done(typed);
    };
    const onData = (chunk: Buffer) => {
      const chars = [...chunk.toString('utf8')];
      for (const [i, char] of chars.entries()) {
        if (char === '\r' || char === '\n') {
          // What was typed ahead (the second entry of a confirmation) stays for the next prompt.
          const rest = chars.slice(i + 1).join('').replace(/^\n/, '');
          finish();
          if (rest) input.unshift(Buffer.from(rest, 'utf8'));
          return;
        }
        if (char === '\u0003') return finish(new UsageError('interrupted at the passphrase prompt'));
        if (char === '\u007f' || char === '\b') typed = typed.slice(0, -1);
        else typed += char;
      }
    };
    input.on('data', onData);
  });
}
