import { statSync, type Stats } from 'node:fs';
import {
  BackupError, describeArchive, restoreBackup, StartupError, type BackupIdentity, type RestoreReport,
} from '@coffer/server';
import { leaf } from '../command.js';
import { printJson } from '../output.js';
import { EXIT_CRYPTO, EXIT_FAILURE, EXIT_IO, EXIT_USAGE, IoError, UsageError } from '../usage.js';
import {
  LOCATION_OPTIONS, PASSPHRASE_ENV, PASSPHRASE_FILE_OPTION, archivePathOf, locationOf, passphraseOf, readPem,
} from './backup-options.js';

/** `coffer restore`: an archive of `coffer backup` into an empty store (docs/backup.md, "Recovering a lost machine"). */
export const restoreCommand = leaf({
  name: 'restore',
  summary: 'Restore an archive of coffer backup into an empty store, under a new root key.',
  synopsis: '--in FILE [--data-dir DIR] [--store URL] (--passphrase-file FILE | --identity PRIVATE.pem)',
  description: 'Decrypts and checks the whole archive first, and restores it into a scratch store in the system\'s\n'
    + 'temporary directory that is checked as `coffer store check` checks one (a wrong passphrase or key, an altered\n'
    + 'or truncated archive, rows that are no store a server could have had are refused before the target is\n'
    + 'touched), then opens the target store (SQLite in --data-dir, or\n'
    + 'the PostgreSQL database --store names), which must be empty, makes its root key as a first `coffer serve`\n'
    + 'would (the root-key options choose the provider), and imports every row in one transaction, each secret\n'
    + 'wrapped under the new root key. Ids, key versions, KeyMaterialIds and the audit chain are kept: every\n'
    + 'ciphertext made before the backup decrypts, and the administrator\'s credentials file is written again on\n'
    + `the first \`coffer serve\`. The passphrase comes from --passphrase-file, ${PASSPHRASE_ENV} or the terminal.\n`
    + `Exit status: 0 restored; ${EXIT_USAGE} no passphrase, or no --identity for a public-key archive; ${EXIT_CRYPTO} the archive\n`
    + `does not open or verify, or its rows are not a store a server could have had; ${EXIT_IO} --in does not exist or is not a\n`
    + `regular file; ${EXIT_FAILURE} any\n`
    + 'other failure (a target that is not empty).',
  options: {
    in: { type: 'string', value: 'FILE', help: 'the archive to restore (a file: it is read twice)', complete: 'file' },
    'passphrase-file': PASSPHRASE_FILE_OPTION,
    identity: { type: 'string', value: 'PRIVATE.pem', help: 'the RSA private key (PEM) of a public-key archive', complete: 'file' },
    ...LOCATION_OPTIONS,
  },
  json: true,
  remote: false,
  examples: [
    'coffer restore --in coffer-2026-01-31.backup --data-dir /var/lib/coffer --passphrase-file /root/backup-passphrase',
    'coffer restore --in nightly.backup --identity backup-private.pem --data-dir /var/lib/coffer --store postgres://coffer@db:5432/coffer',
  ],
  run: async (inv) => {
    const path = archivePathOf(inv, 'in', 'coffer restore --in coffer.backup --data-dir ./restored');
    assertRegularFile(path);
    let report: RestoreReport;
    try {
      const description = await describeArchive(path);
      const identityFile = inv.string('identity');
      if (description.protection === 'public-key' && identityFile === undefined) {
        throw new UsageError(`${path} is encrypted to a public key (${description.recipient})`, 'give its private key with --identity PRIVATE.pem');
      }
      const identity: BackupIdentity = description.protection === 'public-key'
        ? { privateKeyPem: readPem(identityFile!, '--identity') }
        : { passphrase: await passphraseOf(inv, false) };
      report = await restoreBackup({ ...locationOf(inv), in: path, identity });
    } catch (error) {
      if (error instanceof StartupError) {
        process.stderr.write(`error: ${error.message}\n`);
        return EXIT_FAILURE;
      }
      if (error instanceof BackupError) {
        process.stderr.write(`error: ${error.message}\n${HINTS[error.code]}`);
        return error.code === 'target' ? EXIT_FAILURE : EXIT_CRYPTO;
      }
      throw error;
    }
    if (inv.flag('json')) {
      printJson({ Store: report.store, CreatedAt: report.header.createdAt, Source: report.header.source, Rows: report.rows, Counts: report.counts });
      return;
    }
    const c = report.counts;
    process.stdout.write(`restored the backup of ${printable(report.header.createdAt)} (from ${printable(report.header.source)}) into ${report.store}: `
      + `${c.key ?? 0} keys (${c.keyVersion ?? 0} versions), ${c.alias ?? 0} aliases, ${c.grant ?? 0} grants, ${c.principal ?? 0} principals, `
      + `${c.accessKey ?? 0} access keys, ${c.audit ?? 0} audit records\n`
      + 'next: coffer store check, then coffer serve with the same --data-dir and --store, and the lost server\'s --region and --account-id\n');
  },
});

/**
 * --in is read twice (checked, then imported), from an offset: a FIFO, a pipe or a terminal cannot
 * be, and a directory cannot be read at all. Found with stat, which does not open the file: opening
 * a FIFO without a writer for reading blocks for ever.
 */
function assertRegularFile(path: string): void {
  let stats: Stats;
  try {
    stats = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new IoError(`${path} does not exist`, 'give the archive coffer backup wrote');
    throw new IoError(`${path} cannot be read (${code ?? (error as Error).message})`, 'give the archive coffer backup wrote');
  }
  if (stats.isFile()) return;
  throw new IoError(`${path} is ${kindOf(stats)}, not a regular file: an archive is read twice, so --in must name a file`,
    'give the archive coffer backup wrote (copy one that arrives through a pipe into a file first)');
}

function kindOf(stats: Stats): string {
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a pipe (FIFO)';
  if (stats.isSocket()) return 'a socket';
  if (stats.isCharacterDevice()) return 'a character device (a terminal or the like)';
  if (stats.isBlockDevice()) return 'a block device';
  return 'not a file';
}

const HINTS: Record<BackupError['code'], string> = {
  format: 'hint: give the file coffer backup wrote; nothing was restored\n',
  integrity: 'hint: the archive cannot be trusted; restore an intact copy. Nothing was restored\n',
  key: 'hint: give the passphrase (or private key) the archive was made with; nothing was restored\n',
  content: 'hint: the archive was not written by coffer backup as it reads now; restore another copy. Nothing was restored\n',
  target: 'hint: restore into a new --data-dir, or an empty database for --store\n',
};

/** The archive's header as text for a terminal: control characters (escape sequences, line breaks) shown as \u escapes, never obeyed. */
function printable(value: unknown): string {
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
