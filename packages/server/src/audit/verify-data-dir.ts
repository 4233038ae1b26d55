import { resolve } from 'node:path';
import type { KeyringRootKey } from '../root/keyring-root-key.js';
import { readKeyring } from '../root/keyring.js';
import { openRootKey } from '../root/open-root-key.js';
import { rootKeyOptionsFromEnv, type RootKeyOptions } from '../root/options.js';
import { StartupError } from '../root/root-key.js';
import { isPostgresUrl, redactConnectionString } from '../store/connection-string.js';
import { PostgresStore } from '../store/postgres.js';
import { openExistingSqliteStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import { readAuditKey } from './audit-key.js';
import type { ChainVerdict } from './chain.js';
import { verifyStoredChain } from './verify-trail.js';

/**
 * Verifies the audit chain of a data directory without a server: opens its store (coffer.db, or
 * the PostgreSQL database `storeUrl` names) and its root key directly, for when the server is down
 * or not trusted to judge its own trail. A running server on the same store is no obstacle (SQLite
 * in WAL mode lets this reader in beside it; PostgreSQL serves both). Throws StartupError when
 * there is no Coffer store there or its root key does not fit.
 */
export async function verifyAuditTrail(dataDir: string, storeUrl?: string, rootKey: RootKeyOptions = rootKeyOptionsFromEnv()): Promise<ChainVerdict> {
  const dir = resolve(dataDir);
  const postgres = storeUrl !== undefined && isPostgresUrl(storeUrl);
  let store: Store;
  if (postgres) {
    try {
      store = await PostgresStore.open({ connectionString: storeUrl, existing: true });
    } catch (error) {
      if (error instanceof StartupError) throw error;
      throw new StartupError(`Cannot open the PostgreSQL store ${redactConnectionString(storeUrl)}: ${(error as Error).message}`);
    }
  } else {
    store = openExistingSqliteStore(dir);
  }
  let root: KeyringRootKey | undefined;
  try {
    // A store without a keyring has never been opened by a server: opening its root key would make one.
    if ((await readKeyring(store)) === undefined) {
      if ((await store.getAuditHead()) === undefined) return { ok: true, records: 0 };
      throw new StartupError(`The store ${postgres ? redactConnectionString(storeUrl) : `in ${dir}`} has audit records but no root key: the chain cannot be checked.`);
    }
    root = await openRootKey(dir, store, rootKey);
    const auditKey = await readAuditKey(store, root);
    if (auditKey === undefined) {
      if ((await store.getAuditHead()) === undefined) return { ok: true, records: 0 };
      throw new StartupError(`The store ${postgres ? redactConnectionString(storeUrl) : `in ${dir}`} has audit records but no audit key: the chain cannot be checked.`);
    }
    return await verifyStoredChain(store, auditKey);
  } finally {
    await root?.close();
    await store.close();
  }
}
