/**
 * The AWS shared-credentials file the server keeps its administrator's key in, `[coffer]` profile:
 * read, and written with that profile in place of the one there (other profiles, the profile's
 * other settings, the file's line endings and a link to it kept).
 */
import { existsSync, lstatSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';

export const CREDENTIALS_PROFILE = 'coffer';

/** The file's text, or undefined when there is none to read. */
export function readIfPresent(path: string): string | undefined {
  if (!existsSync(path)) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

/** The lines of the [coffer] profile in a shared-credentials text: [start, end) of `lines`. */
function profileLines(lines: readonly string[]): [number, number] | undefined {
  const header = (line: string) => /^\s*\[([^\]]*)\]\s*$/.exec(line)?.[1]?.trim();
  const start = lines.findIndex((line) => header(line) === CREDENTIALS_PROFILE);
  if (start < 0) return undefined;
  const next = lines.findIndex((line, i) => i > start && header(line) !== undefined);
  return [start, next < 0 ? lines.length : next];
}

/** The access key id of the [coffer] profile (spaces around `=` as any AWS tool writes them). */
export function profileKeyId(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  const range = profileLines(lines);
  if (!range) return undefined;
  for (const line of lines.slice(range[0] + 1, range[1])) {
    const match = /^\s*aws_access_key_id\s*=\s*(\S+)\s*$/.exec(line);
    if (match) return match[1];
  }
  return undefined;
}

/**
 * Written to a temporary file renamed into place, the [coffer] profile in place of the one in
 * `existing` (or added to it). That file is removed if the write fails (a full disk) and before
 * writing, should a crash have left one: in a container the server's pid is the same at every
 * start, and a leftover would refuse ('wx') every later start.
 */
export function writeCredentialsFile(path: string, accessKeyId: string, secret: string, existing?: string): void {
  const keyLines = [`aws_access_key_id = ${accessKeyId}`, `aws_secret_access_key = ${secret}`];
  let text = `${[`[${CREDENTIALS_PROFILE}]`, ...keyLines].join('\n')}\n`;
  if (existing !== undefined && existing.trim() !== '') {
    // In the file's own line endings; the profile's other settings (a region, say) stay, its
    // session token does not (it belonged to the key replaced).
    const eol = existing.includes('\r\n') ? '\r\n' : '\n';
    const lines = existing.replace(/\r?\n$/, '').split(/\r?\n/);
    const range = profileLines(lines);
    if (range) {
      const kept = lines.slice(range[0] + 1, range[1])
        .filter((line) => !/^\s*(aws_access_key_id|aws_secret_access_key|aws_session_token|aws_security_token)\s*=/.test(line));
      while (kept.length > 0 && kept[kept.length - 1]!.trim() === '') kept.pop();
      lines.splice(range[0], range[1] - range[0], lines[range[0]]!, ...keyLines, ...kept, ...(range[1] < lines.length ? [''] : []));
    } else {
      lines.push('', `[${CREDENTIALS_PROFILE}]`, ...keyLines);
    }
    text = `${lines.join(eol)}${eol}`;
    // A file that is a symbolic link (to a file shared with other tools) is written where it points.
    if (lstatSync(path).isSymbolicLink()) path = realpathSync(path);
  }
  const temporary = `${path}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}
