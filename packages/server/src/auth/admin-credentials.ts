import { join } from 'node:path';
import { RootKeyMismatchError, StartupError } from '../root/root-key.js';
import { profileKeyId, readIfPresent, writeCredentialsFile } from './credentials-file.js';
import type { AccessKeys } from './access-keys.js';
import type { Store } from '../store/store.js';

const ADMIN_META = 'admin-access-key-id';

export interface AdminCredentials {
  readonly accessKeyId: string;
  readonly credentialsFile: string;
  /**
   * Why no credentials file serves the account root (the banner says it in place of the file):
   * the store was made for another account, or holds no active key of the root.
   */
  readonly noCredentials?: string;
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
      writeOrRefuse(credentialsFile, created.accessKeyId, created.secret.revealSecret());
      return { accessKeyId: created.accessKeyId, credentialsFile };
    }
    // Another node (or process) made the administrator's key at the same moment: keep its key, not a second one.
    await store.deleteAccessKey(created.accessKeyId);
    accessKeyId = Buffer.from((await store.getMeta(ADMIN_META))!).toString('utf8');
  }
  // A stored secret that does not unwrap (a damaged row) costs the credentials file, not the start:
  // every other principal's key and every key of the store still serve.
  let damaged: string | undefined;
  let key = await accessKeys.findActive(accessKeyId).catch((error: unknown) => {
    if (!(error instanceof RootKeyMismatchError)) throw error;
    damaged = `the stored secret of the administrator's access key ${accessKeyId} does not open under the root key (${error.message}): `
      + 'the store is damaged there; `coffer store check` lists what else is, and a backup restores it';
    return undefined;
  });
  // The administrator of a store made for another account's root (a backup restored, then served
  // with a mistyped --account-id; or on purpose): said, as no credentials file serves this account.
  const otherRoot = key && key.principalArn !== principalArn && /^arn:[^:]+:iam::\d{12}:root$/.test(key.principalArn) ? key.principalArn : undefined;
  // The administrator is the account root: a meta value naming another principal's key (a restored
  // archive's, say) would hand that principal's secret out as the administrator's.
  if (key && key.principalArn !== principalArn) key = undefined;
  if (!key && damaged === undefined) {
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
      writeOrRefuse(credentialsFile, key.accessKeyId, key.secret.revealSecret());
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
  if (key !== undefined) return { accessKeyId, credentialsFile };
  return {
    accessKeyId, credentialsFile,
    noCredentials: damaged ?? (otherRoot !== undefined ? madeForAnother(otherRoot, principalArn) : `the store holds no active access key of ${principalArn}`),
  };
}

/** What to start a store with whose administrator is another account's (or partition's) root. */
function madeForAnother(storeRoot: string, principalArn: string): string {
  const [, storePartition, , , storeAccount] = storeRoot.split(':');
  const [, partition, , , account] = principalArn.split(':');
  const flags = [...(storeAccount !== account ? [`--account-id ${storeAccount}`] : []), ...(storePartition !== partition ? [`--partition ${storePartition}`] : [])];
  return `this store was made for ${storeRoot}: start it with ${flags.join(' ')} to use its credentials`;
}

/**
 * A credentials file the server must write (there is none to keep) and cannot (a directory of that
 * name, a data directory it may not write): the start stops, saying so. The key stays in the store,
 * and the next start writes the file once it can.
 */
function writeOrRefuse(path: string, accessKeyId: string, secret: string): void {
  try {
    writeCredentialsFile(path, accessKeyId, secret);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
    throw new StartupError(`Cannot write the administrator's credentials to ${path} (${reason}): make it a file the server may write, or remove what is there.`);
  }
}
