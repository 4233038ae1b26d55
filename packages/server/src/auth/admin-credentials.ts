import { existsSync, lstatSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AccessKeys } from './access-keys.js';
import type { Store } from '../store/store.js';

export const CREDENTIALS_PROFILE = 'coffer';
const ADMIN_META = 'admin-access-key-id';

export interface AdminCredentials {
  readonly accessKeyId: string;
  readonly credentialsFile: string;
}

/**
 * The administrator's access key: created on first start, and written to `<data-dir>/credentials`
 * in the AWS shared-credentials format under the profile [coffer], mode 0600. If the file is lost
 * it is written again from the wrapped secret in the store. If the key was deleted or deactivated
 * (the account root's key rotated through the admin API), the root's newest active key becomes the
 * administrator's, and the file is written again from it: the banner names that file, and a file
 * holding a key that no longer works would send the operator's first command to a refusal.
 */
export async function ensureAdminCredentials(
  store: Store, accessKeys: AccessKeys, dataDir: string, principalArn: string, now: number,
): Promise<AdminCredentials> {
  const credentialsFile = join(dataDir, 'credentials');
  const storedId = await store.getMeta(ADMIN_META);
  let accessKeyId = storedId && Buffer.from(storedId).toString('utf8');
  if (accessKeyId === undefined) {
    const created = await accessKeys.create(principalArn, now);
    if (await store.putMetaIfAbsent(ADMIN_META, Buffer.from(created.accessKeyId, 'utf8'))) {
      writeCredentialsFile(credentialsFile, created.accessKeyId, created.secret.revealSecret());
      return { accessKeyId: created.accessKeyId, credentialsFile };
    }
    // Another node (or process) made the administrator's key at the same moment: keep its key, not a second one.
    await store.deleteAccessKey(created.accessKeyId);
    accessKeyId = Buffer.from((await store.getMeta(ADMIN_META))!).toString('utf8');
  }
  let key = await accessKeys.findActive(accessKeyId);
  // The administrator is the account root: a meta value naming another principal's key (a restored
  // archive's, say) would hand that principal's secret out as the administrator's.
  if (key && key.principalArn !== principalArn) key = undefined;
  if (!key) {
    const newest = (await store.listAccessKeys(principalArn))
      .filter((record) => record.status === 'Active')
      .sort((a, b) => b.createdAt - a.createdAt)[0];
    const replacement = newest && await accessKeys.findActive(newest.accessKeyId);
    if (replacement && storedId) {
      // Compared and set: of nodes starting at once, one names it, and the others read what it named.
      const named = await store.replaceMeta(ADMIN_META, storedId, Buffer.from(replacement.accessKeyId, 'utf8'));
      accessKeyId = named ? replacement.accessKeyId : Buffer.from((await store.getMeta(ADMIN_META))!).toString('utf8');
      const current = named ? replacement : await accessKeys.findActive(accessKeyId);
      key = current?.principalArn === principalArn ? current : undefined;
    }
  }
  if (key) {
    const existing = readIfPresent(credentialsFile);
    if (existing === undefined) {
      writeCredentialsFile(credentialsFile, key.accessKeyId, key.secret.revealSecret());
    } else if (profileKeyId(existing) !== key.accessKeyId) {
      // Only the [coffer] profile is replaced; other profiles an operator keeps in the file stay.
      // A file that cannot be written (a read-only data directory) is left as it is: the server serves all the same.
      try {
        writeCredentialsFile(credentialsFile, key.accessKeyId, key.secret.revealSecret(), existing);
      } catch {
        // left as it was
      }
    }
  }
  return { accessKeyId, credentialsFile };
}

function readIfPresent(path: string): string | undefined {
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
function profileKeyId(text: string): string | undefined {
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
function writeCredentialsFile(path: string, accessKeyId: string, secret: string, existing?: string): void {
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
