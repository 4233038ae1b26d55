import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Keyring } from '@coffer/sdk';
import { isRootKeyMeta, replaceWrappedValues } from '../root/wrapped-values.js';
import { checkStore } from '../store/check.js';
import { SqliteStore } from '../store/sqlite.js';
import { isDiskFault } from '../store/disk-fault.js';
import { rootKeyOptionsFromEnv, type RootKeyOptions } from '../root/options.js';
import { StartupError } from '../root/root-key.js';
import type { RootKey } from '../root/root-key.js';
import { RESTORE_UNFINISHED_META, StoreFullError, StoreNotEmptyError, type SnapshotRow } from '../store/store.js';
import type { ArchiveSummary } from './read-archive.js';
import { openArchive, readArchive, type OpenedArchive } from './read-archive.js';
import { openRootKey, openTarget, type OpenedRootKey, type StoreLocation } from './data-dir.js';
import { BackupContentError, BackupError, RestoreTargetNotEmptyError } from './errors.js';
import { keyringFor, type BackupIdentity } from './protection.js';

export interface RestoreOptions extends StoreLocation {
  /** The archive file: read twice (verified into a scratch store, then imported), so not a pipe. */
  readonly in: string;
  readonly identity: BackupIdentity;
}

export interface RestoreReport extends ArchiveSummary {
  readonly store: string;
}

/**
 * Restores an archive into an empty store (docs/backup.md, "Restoring"):
 *
 * 1. the whole archive is decrypted and checked (every tag, the end line's counts) as it is
 *    restored into a scratch store, which is then checked as `coffer store check` checks one: a
 *    wrong passphrase or key, a truncated or altered archive, rows that are no store a server
 *    could have had stop here, before the target is opened;
 * 2. the target is opened (created if need be) and must be empty, checked before its root key is
 *    made, so a refused restore leaves no root key behind;
 * 3. the archive is read again and imported in one transaction, every secret wrapped under the
 *    target's root key. Anything that fails now (the file changed since step 1, the database went
 *    away) rolls the whole import back.
 *
 * From step 3 on, the store holds RESTORE_UNFINISHED_META until the import committed: no server
 * (on any node) starts on the empty store a failed or killed restore leaves.
 */
export async function restoreBackup(options: RestoreOptions): Promise<RestoreReport> {
  const archive = await openArchive(options.in);
  const keyring = await keyringFor(archive.preamble, options.identity);
  const checked = await assertSoundContent(archive, keyring);
  // A data directory this restore makes, for a PostgreSQL target that then turns out not to be
  // empty, goes again: "nothing was restored" leaves nothing behind.
  const madeDataDir = !existsSync(resolve(options.dataDir));
  const target = await openTarget(options);
  let refused = false;
  try {
    await assertEmpty(target.store.importSnapshot(none()), target.name).catch((error: unknown) => {
      refused = error instanceof RestoreTargetNotEmptyError;
      throw error;
    });
    await target.store.putMetaIfAbsent(RESTORE_UNFINISHED_META, Buffer.from(`coffer restore of ${options.in}, started ${new Date().toISOString()}`, 'utf8'));
    const root = await openRootKey(target.dataDir, target.store, options.rootKey);
    try {
      assertRootKeyAsAsked(root, options.rootKey, target.dataDir);
      let summary: ArchiveSummary | undefined;
      // The import clears RESTORE_UNFINISHED_META in its own transaction (Store.importSnapshot).
      await assertEmpty(target.store.importSnapshot(wrapUnder(root, readArchive(archive, keyring, (s) => (summary = s), checked))), target.name)
        .catch((error: unknown) => {
          throw importStopped(error, target.name);
        });
      return { store: target.name, ...summary! };
    } finally {
      await root.close();
    }
  } finally {
    await target.store.close();
    if (refused && madeDataDir) removeIfEmpty(target.dataDir);
  }
}

/**
 * A full disk (or a failing one) under the import: said with the store, what it left (the marker,
 * so no server starts on it) and what to do, where the store's own words named none of them.
 */
function importStopped(error: unknown, store: string): unknown {
  if (!(error instanceof StoreFullError) && !isDiskFault(error)) return error;
  return new StartupError(`The restore into ${store} stopped: ${(error as Error).message}. Nothing was restored; the store stays marked as a restore `
    + 'that did not finish, so no server starts on it. Free space on its disk (or choose a target with room), then run this coffer restore again.');
}

function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch {
    // Not empty (or already gone): what is there is not this restore's to remove.
  }
}

/**
 * A restore run again into the target of one that did not finish finds the root key that run
 * made (the import rolled back; the root key stays). Asked for a root key of another provider, it
 * would otherwise restore under the one found, silently.
 */
function assertRootKeyAsAsked(root: OpenedRootKey, asked: RootKeyOptions | undefined, dataDir: string): void {
  const provider = (asked ?? rootKeyOptionsFromEnv()).provider;
  const found = root.currentDescriptor.provider;
  if (provider === undefined || provider === found) return;
  throw new RestoreTargetNotEmptyError(`The restore target ${dataDir} already has a ${found} root key, made by an earlier restore into it that did not finish, `
    + `not the ${provider} root key asked for: run the restore with that first run's root-key options, or restore into a new --data-dir (and an empty database for --store). Nothing was restored.`);
}

/**
 * Step 1: the archive is read, every tag and count checked, into a scratch SQLite store (in the system's temporary
 * directory, under a root key of its own, removed at the end) and that store is checked as
 * `coffer store check` checks one, audit chain included. An archive coffer backup wrote always
 * passes; one whose rows do not form a store a server could have had is refused before the target
 * is touched, instead of restored into a server that fails on it.
 */
async function assertSoundContent(archive: OpenedArchive, keyring: Keyring): Promise<string> {
  let dir: string | undefined;
  try {
    dir = mkdtempSync(join(tmpdir(), 'coffer-restore-check-'));
    return await checkInScratch(dir, archive, keyring);
  } catch (error) {
    // The archive's own faults (wrong key, altered, truncated) are what they are; the scratch
    // store's disk failing or filling, at any step (its directory not made at all, too), is this
    // machine's, not the archive's.
    if (dir !== undefined && !(error instanceof StoreFullError) && !isDiskFault(error)) throw error;
    throw new StartupError(`The archive could not be checked: the scratch store in ${dir ?? tmpdir()} (the system's temporary directory; TMPDIR moves it) `
      + `could not be written: ${(error as Error).message}. The archive itself may be intact; nothing was restored.`, { cause: error });
  } finally {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}

/** The archive imported into a scratch store in `dir`, then checked as `coffer store check` does; its digest. */
async function checkInScratch(dir: string, archive: OpenedArchive, keyring: Keyring): Promise<string> {
  let digest: string | undefined;
  // A passphrase root key whose passphrase lives only in this process: the scratch store's
  // secrets are wrapped under it, and a directory left behind by a killed restore opens for nobody
  // (a file root key would sit beside them).
  const rootKey: RootKeyOptions = { provider: 'passphrase', passphrase: randomBytes(32).toString('base64') };
  const store = new SqliteStore(join(dir, 'coffer.db'));
  try {
    const root = await openRootKey(dir, store, rootKey);
    try {
      await store.importSnapshot(wrapUnder(root, readArchive(archive, keyring, (summary) => (digest = summary.digest))));
    } catch (error) {
      if (error instanceof BackupError || error instanceof StoreFullError || isDiskFault(error)) throw error;
      throw new BackupContentError(`The archive's rows do not form a store: ${(error as Error).message}. Nothing was restored.`, { cause: error });
    } finally {
      await root.close();
    }
  } finally {
    await store.close();
  }
  const { problems } = await checkStore({ dataDir: dir, rootKey });
  if (problems.length > 0) {
    const shown = problems.slice(0, 10).join('; ');
    throw new BackupContentError(`The archive's rows are not a store a server could have had (${problems.length} problem(s): ${shown}${problems.length > 10 ? '; ...' : ''}). Nothing was restored.`);
  }
  return digest!;
}


/** Importing nothing into an empty store writes nothing; into a store with data it is refused. */
async function* none(): AsyncGenerator<SnapshotRow> {}

async function assertEmpty<T>(importing: Promise<T>, name: string): Promise<T> {
  try {
    return await importing;
  } catch (error) {
    if (!(error instanceof StoreNotEmptyError)) throw error;
    throw new RestoreTargetNotEmptyError(`The restore target ${name} is not empty (${error.message.replace(/^the store is not empty: /, '')}): `
      + 'a restore only fills an empty store. Point --data-dir (and --store) at a new one; nothing was written.', { cause: error });
  }
}

async function* wrapUnder(root: RootKey, rows: AsyncIterable<SnapshotRow>): AsyncGenerator<SnapshotRow> {
  for await (const row of rows) {
    // Coffer never writes these into an archive; one that holds them is not the target's to take.
    // (Nor the unfinished-restore mark of a store backed up in that state: the restore sets its own.)
    if (row.kind === 'meta' && (isRootKeyMeta(row.name) || row.name === RESTORE_UNFINISHED_META)) continue;
    yield replaceWrappedValues(row, async (value) => {
      const wrapped = await root.wrap(value.bytes, value.aad);
      // Decoded from the archive for this row alone: wiped once wrapped.
      value.bytes.fill(0);
      return wrapped;
    });
  }
}
