import { checkStore, DEFAULT_CONFIG, StartupError, type StoreCheckReport } from '@coffer/server';
import { group, leaf } from '../command.js';
import { printJson } from '../output.js';
import { EXIT_CRYPTO, EXIT_FAILURE } from '../usage.js';
import { LOCATION_HINT, ROOT_KEY_TOOL_OPTIONS, rootKeyOf, storeOf } from './backup-options.js';
import { resetKeyPolicyCommand } from './store-reset-key-policy.js';

/**
 * The store itself, without a server: `coffer store check` proves its integrity with the root key
 * (docs/store.md, "Checking a store"); `coffer store reset-key-policy` is the operator's way back
 * to a key nobody can manage (store-reset-key-policy.ts).
 */
const check = leaf({
  name: 'check',
  summary: 'Check a store\'s integrity with its root key: keys, versions, aliases, grants, access keys, audit chain.',
  description: 'Opens the store (coffer.db in --data-dir, or the PostgreSQL database --store names) and the data\n'
    + 'store\'s root keys (root.key; a passphrase, token PIN or remote KMS given as to coffer serve: --root-passphrase-file\n'
    + 'or COFFER_ROOT_PASSPHRASE or a prompt, --pkcs11-pin-file or COFFER_PKCS11_PIN, the AWS credential chain: docs/root-keys.md),\n'
    + 'and checks that every key has all its versions and every version unwraps under the\n'
    + 'root key with a well-formed KeyMaterialId of its own; that aliases and grants name existing keys; that access keys belong\n'
    + 'to existing principals and their secrets unwrap; that the audit chain verifies; and, for SQLite, PRAGMA\n'
    + 'integrity_check. A running server on the same store is no obstacle.\n'
    + `Exit status: 0 the store is intact; ${EXIT_CRYPTO} a problem was found (each is named); ${EXIT_FAILURE} it could not be checked.`,
  synopsis: '[--data-dir DIR] [--store postgres://...]',
  options: {
    'data-dir': { type: 'string', value: 'DIR', help: `the server's data directory: root.key, and coffer.db for SQLite (default ${DEFAULT_CONFIG.dataDir}; env COFFER_DATA_DIR)`, complete: 'file' },
    store: { type: 'string', value: 'URL', help: 'a PostgreSQL store, postgres://... (default: SQLite in the data directory; env COFFER_STORE)' },
    ...ROOT_KEY_TOOL_OPTIONS,
  },
  json: true,
  remote: false,
  examples: ['coffer store check --data-dir /var/lib/coffer', 'coffer store check --data-dir /var/lib/coffer --store postgres://coffer@db:5432/coffer'],
  run: async (inv) => {
    const dataDir = inv.string('data-dir') ?? (process.env.COFFER_DATA_DIR || DEFAULT_CONFIG.dataDir);
    const store = storeOf(inv);
    let report: StoreCheckReport;
    try {
      report = await checkStore({ dataDir, ...(store !== undefined ? { store } : {}), rootKey: rootKeyOf(inv) });
    } catch (error) {
      if (error instanceof StartupError) {
        process.stderr.write(`error: ${error.message}\nhint: ${LOCATION_HINT}\n`);
        return EXIT_FAILURE;
      }
      throw error;
    }
    const { checked } = report;
    if (inv.flag('json')) {
      printJson({ Store: report.store, Valid: report.problems.length === 0, Problems: report.problems, Checked: checked });
    } else {
      process.stdout.write(`store ${report.store}: ${checked.keys} keys (${checked.keyVersions} versions), ${checked.aliases} aliases, `
        + `${checked.grants} grants, ${checked.principals} principals, ${checked.accessKeys} access keys, ${checked.auditRecords} audit records checked\n`);
    }
    if (report.problems.length > 0) {
      for (const problem of report.problems) process.stderr.write(`error: ${problem}\n`);
      process.stderr.write(`hint: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'} found; restore from a backup or investigate before serving from this store\n`);
      return EXIT_CRYPTO;
    }
    if (!inv.flag('json')) process.stdout.write('the store is intact\n');
  },
});

export const storeCommand = group({
  name: 'store',
  summary: 'Check the store, or reset a key nobody can manage, without a server.',
  children: [check, resetKeyPolicyCommand],
  examples: ['coffer store check --data-dir /var/lib/coffer', 'coffer store reset-key-policy 1234abcd-12ab-34cd-56ef-1234567890ab --data-dir /var/lib/coffer'],
});
