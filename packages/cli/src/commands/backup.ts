import { existsSync, rmSync } from 'node:fs';
import { BackupError, MIN_PASSPHRASE_LENGTH, partialPathFor, StartupError, writeBackup, type BackupRecipient, type BackupReport } from '@coffer/server';
import { leaf } from '../command.js';
import { printJson } from '../output.js';
import { EXIT_CRYPTO, EXIT_FAILURE, EXIT_IO, EXIT_USAGE, IoError, UsageError } from '../usage.js';
import {
  LOCATION_HINT, LOCATION_OPTIONS, PASSPHRASE_ENV, PASSPHRASE_FILE_OPTION, archivePathOf, locationOf, passphraseOf, readPem,
} from './backup-options.js';

/** `coffer backup`: one consistent, encrypted archive of the whole store (docs/backup.md). */
export const backupCommand = leaf({
  name: 'backup',
  summary: 'Write an encrypted archive of the whole store, for restoring on another machine.',
  synopsis: '--out FILE [--data-dir DIR] [--store URL] (--passphrase-file FILE | --recipient PUBLIC.pem)',
  description: 'Reads one consistent snapshot of the store (a running server may go on using it) and writes every\n'
    + 'key with all its versions, aliases, policies, grants, principals with their access keys, and the audit\n'
    + 'chain into FILE, encrypted and integrity-protected as a whole (AWS Encryption SDK message format). The\n'
    + 'archive does not depend on this store\'s root key: it opens with the passphrase, or with the private key\n'
    + `of --recipient (RSA, 2048 bits or more). The passphrase comes from --passphrase-file, ${PASSPHRASE_ENV},\n`
    + `or the terminal; at least ${MIN_PASSPHRASE_LENGTH} characters. Keep the archive and its passphrase or private key apart.\n`
    + `Exit status: 0 written; ${EXIT_USAGE} a passphrase too short, a public key that will not do; ${EXIT_CRYPTO} a stored secret\n`
    + `does not unwrap under the root key; ${EXIT_IO} --out exists or cannot be written (a full disk); ${EXIT_FAILURE} any other failure (the store cannot be opened).`,
  options: {
    out: { type: 'string', value: 'FILE', help: 'the archive to write (it must not exist; it appears only once complete)', complete: 'file' },
    'passphrase-file': PASSPHRASE_FILE_OPTION,
    recipient: { type: 'string', value: 'PUBLIC.pem', help: 'encrypt to this RSA public key (PEM) instead of a passphrase', complete: 'file' },
    ...LOCATION_OPTIONS,
  },
  json: true,
  remote: false,
  examples: [
    'coffer backup --data-dir /var/lib/coffer --out coffer-2026-01-31.backup --passphrase-file /root/backup-passphrase',
    'coffer backup --store postgres://coffer@db:5432/coffer --data-dir /var/lib/coffer --out nightly.backup --recipient backup-public.pem',
  ],
  run: async (inv) => {
    const out = archivePathOf(inv, 'out', 'coffer backup --out coffer.backup --passphrase-file pass.txt');
    if (existsSync(out)) throw new IoError(`${out} exists`, 'choose a new file for the archive, or remove the old one first');
    const recipientFile = inv.string('recipient');
    if (recipientFile !== undefined && inv.string('passphrase-file') !== undefined) {
      throw new UsageError('give --recipient or --passphrase-file, not both', 'an archive is protected by one or the other');
    }
    const recipient: BackupRecipient = recipientFile !== undefined
      ? { publicKeyPem: publicPem(readPem(recipientFile, '--recipient')) }
      : { passphrase: await passphraseOf(inv, true) };
    let report: BackupReport;
    try {
      // The one path both mean: the signal handler removes the file writeBackup writes.
      const partial = partialPathFor(out);
      report = await withPartialRemovedOnSignals(partial, () => writeBackup({ ...locationOf(inv), out, recipient, partial }));
    } catch (error) {
      if (error instanceof StartupError) {
        process.stderr.write(`error: ${error.message}\nhint: ${LOCATION_HINT}\n`);
        return EXIT_FAILURE;
      }
      if (error instanceof BackupError) {
        process.stderr.write(`error: ${error.message}\n`);
        // A passphrase too short or a public key that will not do is the command line's fault.
        return error.code === 'key' ? EXIT_USAGE : EXIT_CRYPTO;
      }
      // The archive's own file could not be written (a full disk): said with its name.
      const failed = error as NodeJS.ErrnoException;
      if (typeof failed.path === 'string' && failed.path.startsWith(`${out}.partial-`)) {
        throw new IoError(`cannot write the archive ${out}: ${failed.code ?? failed.message}`, `${archiveWriteHint(failed.code)}; nothing was left behind`);
      }
      throw error;
    }
    if (inv.flag('json')) {
      printJson({ Archive: report.out, Store: report.store, CreatedAt: report.createdAt, Protection: report.protection, Bytes: report.bytes, Rows: report.rows, Counts: report.counts });
      return;
    }
    const c = report.counts;
    process.stdout.write(`backup of ${report.store} at ${report.createdAt}: ${c.key ?? 0} keys (${c.keyVersion ?? 0} versions), ${c.alias ?? 0} aliases, `
      + `${c.grant ?? 0} grants, ${c.principal ?? 0} principals, ${c.accessKey ?? 0} access keys, ${c.audit ?? 0} audit records\n`
      + `written to ${report.out} (${report.bytes} bytes, protected by ${report.protection === 'passphrase' ? 'a passphrase' : 'a public key'})\n`);
  },
});

/** What to do about an archive that could not be written, by why. */
function archiveWriteHint(code: string | undefined): string {
  if (code === 'ENOENT' || code === 'ENOTDIR') return 'the directory --out names does not exist: create it, or choose another --out';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return 'this user may not write in the directory --out names: choose another --out';
  return 'free space on its disk, or choose another --out';
}

/**
 * writeBackup writes `<out>.partial-<pid>` and renames it when complete; SIGINT, SIGTERM, SIGHUP or
 * SIGQUIT while it runs removes that file before exiting (130, 143, 129, 131), so an interrupted
 * backup leaves nothing.
 */
async function withPartialRemovedOnSignals<T>(partial: string, work: () => Promise<T>): Promise<T> {
  const onSignal = (signal: NodeJS.Signals, code: number) => {
    rmSync(partial, { force: true });
    process.stderr.write(`${signal}: stopped; no archive was written\n`);
    process.exit(code);
  };
  const onInt = () => onSignal('SIGINT', 130);
  const onTerm = () => onSignal('SIGTERM', 143);
  const onHup = () => onSignal('SIGHUP', 129);
  const onQuit = () => onSignal('SIGQUIT', 131);
  process.once('SIGINT', onInt);
  process.once('SIGTERM', onTerm);
  process.once('SIGHUP', onHup);
  process.once('SIGQUIT', onQuit);
  try {
    return await work();
  } finally {
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', onHup);
    process.off('SIGQUIT', onQuit);
  }
}

/** The machine that takes backups holds the public key only: a private key given as the recipient is refused. */
function publicPem(pem: string): string {
  if (/-----BEGIN (?:[A-Z]+ )*PRIVATE KEY-----/.test(pem)) {
    throw new UsageError('--recipient takes the public key, not the private key', 'export it with `openssl pkey -in private.pem -pubout`, and keep the private key off this machine');
  }
  return pem;
}
