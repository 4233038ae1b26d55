/**
 * The AWS shared-credentials file the server keeps its administrator's key in, `[coffer]` profile:
 * read, and written with that profile in place of the one there (other profiles, the profile's
 * other settings, the file's line endings and a link to it kept).
 */
import { existsSync, lstatSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

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

/** A section header's name, as botocore reads one (a comment may follow it). */
const sectionName = (line: string): string | undefined => /^\s*\[([^\]]*)\]\s*(?:[;#].*)?$/.exec(line)?.[1]?.trim();

/** The lines of the first [coffer] profile in a shared-credentials text from `from`: [start, end) of `lines`. */
function profileLines(lines: readonly string[], from = 0): [number, number] | undefined {
  const start = lines.findIndex((line, i) => i >= from && sectionName(line) === CREDENTIALS_PROFILE);
  if (start < 0) return undefined;
  const next = lines.findIndex((line, i) => i > start && sectionName(line) !== undefined);
  return [start, next < 0 ? lines.length : next];
}

/** A profile's line setting one of the key's own values (names are not case-sensitive). */
const KEY_SETTING = /^\s*(aws_access_key_id|aws_secret_access_key|aws_session_token|aws_security_token)\s*=/i;

/** The access key id of the [coffer] profile (spaces around `=` as any AWS tool writes them). */
export function profileKeyId(text: string): string | undefined {
  const lines = text.split(/\r?\n/);
  const range = profileLines(lines);
  if (!range) return undefined;
  for (const line of lines.slice(range[0] + 1, range[1])) {
    const match = /^\s*aws_access_key_id\s*=\s*(\S+)\s*$/i.exec(line);
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
/**
 * Where a file that is a symbolic link (to a file shared with other tools) is written: where it
 * points, even before that file exists.
 */
function linkTarget(path: string): string {
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return path;
  }
  if (!stat.isSymbolicLink()) return path;
  try {
    return realpathSync(path);
  } catch {
    return resolve(dirname(path), readlinkSync(path));
  }
}

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
      const kept = lines.slice(range[0] + 1, range[1]).filter((line) => !KEY_SETTING.test(line));
      while (kept.length > 0 && kept[kept.length - 1]!.trim() === '') kept.pop();
      const profile = [lines[range[0]]!, ...keyLines, ...kept];
      lines.splice(range[0], range[1] - range[0], ...profile, ...(range[1] < lines.length ? [''] : []));
      // A second [coffer] (which botocore refuses, and the JavaScript SDK reads last) goes.
      for (let again = profileLines(lines, range[0] + profile.length); again; again = profileLines(lines, again[0])) {
        lines.splice(again[0], again[1] - again[0]);
      }
    } else {
      lines.push('', `[${CREDENTIALS_PROFILE}]`, ...keyLines);
    }
    while (lines.length > 1 && lines[lines.length - 1]!.trim() === '') lines.pop();
    text = `${lines.join(eol)}${eol}`;
  }
  path = linkTarget(path);
  const temporary = `${path}.${process.pid}.tmp`;
  rmSync(temporary, { force: true });
  try {
    writeFileSync(temporary, text, { mode: 0o600, flag: 'wx' });
    renameSync(temporary, path);
  } finally {
    rmSync(temporary, { force: true });
  }
}
