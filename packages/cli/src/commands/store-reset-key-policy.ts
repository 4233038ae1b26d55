import {
  DEFAULT_CONFIG, KeyPolicyResetError, resetKeyPolicy, StartupError, type KeyPolicyResetReport,
} from '@coffer/server';
import { leaf } from '../command.js';
import { printJson } from '../output.js';
import { EXIT_ACCESS, EXIT_FAILURE, EXIT_USAGE, UsageError } from '../usage.js';
import { LOCATION_HINT, LOCATION_OPTIONS, locationOf } from './backup-options.js';

/** coffer serve's realm options, same names and environment variables: the default policy names this account's root. */
const REALM_OPTIONS = {
  region: { type: 'string', value: 'REGION', help: `the server's region, as coffer serve's (default ${DEFAULT_CONFIG.region}; env COFFER_REGION)` },
  'account-id': { type: 'string', value: 'ID', help: `the server's account, as coffer serve's (default ${DEFAULT_CONFIG.accountId}; env COFFER_ACCOUNT_ID)` },
  partition: { type: 'string', value: 'NAME', help: `the server's partition, as coffer serve's (default ${DEFAULT_CONFIG.partition}; env COFFER_PARTITION)` },
} as const;

/** Per refusal: its exit code, as the client commands' for the same answer, and what to do. */
const REFUSALS: Record<KeyPolicyResetError['code'], { readonly exit: number; readonly hint: string }> = {
  identifier: { exit: EXIT_USAGE, hint: 'give the key\'s id or ARN (`coffer aliases list` shows the key an alias names); nothing was changed' },
  realm: { exit: EXIT_USAGE, hint: 'give --region, --account-id and --partition (or their COFFER_* variables) as coffer serve has them; nothing was changed' },
  // As NotFoundException from a client command.
  'not-found': { exit: EXIT_FAILURE, hint: 'a deleted key is gone for good; check the key id and --data-dir (and --store). Nothing was changed' },
  // As the server's AccessDeniedException to any change of an AWS managed key.
  'aws-managed': { exit: EXIT_ACCESS, hint: 'AWS managed keys cannot be locked: the account root may always read them. Nothing was changed' },
  'server-running': { exit: EXIT_FAILURE, hint: 'stop the server on this --data-dir, run this again, then start it; nothing was changed' },
};

/**
 * `coffer store reset-key-policy`: the operator's break-glass for a key nobody can manage
 * (docs/operations.md, "A key nobody can manage"), where AWS's remedy is AWS Support.
 */
export const resetKeyPolicyCommand = leaf({
  name: 'reset-key-policy',
  summary: 'Give a key nobody can manage the default key policy again (the account root may do everything), without a server.',
  description: 'For a key whose policy lets no one change it any more (it named only users or roles since deleted,\n'
    + 'or a Deny set with BypassPolicyLockoutSafetyCheck): AWS\'s way back is AWS Support; this is the operator\'s.\n'
    + 'Opens the store (coffer.db in --data-dir, or the PostgreSQL database --store names) and its root key as\n'
    + '`coffer store check` does, and replaces the key\'s policy with the default key policy of a key created\n'
    + 'without one, naming the root of the account --account-id gives (and --partition), as PutKeyPolicy writes it:\n'
    + 'a new key revision, with an audit record in the chain (operation PutKeyPolicy, no caller, user agent\n'
    + 'coffer-store-reset-key-policy). The key\'s state is kept: a key pending deletion stays pending.\n'
    + 'SQLite: refused while a server serves the data directory; stop it first. PostgreSQL: servers may run;\n'
    + 'each enforces the new policy from its next request on the key.\n'
    + `Exit status: 0 reset; ${EXIT_USAGE} not a key id or key ARN, or --region/--account-id/--partition not the server's;\n`
    + `${EXIT_ACCESS} an AWS managed key (alias/aws/*: its policy is fixed); ${EXIT_FAILURE} no such key, a server holds the\n`
    + 'data directory, or the store could not be opened.',
  synopsis: 'KEY [--data-dir DIR] [--store postgres://...] [--account-id ID]',
  arguments: [['KEY', 'the key id or key ARN (not an alias)']],
  options: { ...LOCATION_OPTIONS, ...REALM_OPTIONS },
  json: true,
  remote: false,
  examples: [
    'coffer store reset-key-policy 1234abcd-12ab-34cd-56ef-1234567890ab --data-dir /var/lib/coffer',
    'coffer store reset-key-policy arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab --region eu-west-1 --account-id 444455556666 --store postgres://coffer@db:5432/coffer',
  ],
  run: async (inv) => {
    const setting = (name: keyof typeof REALM_OPTIONS, env: string) => inv.string(name) ?? (process.env[env] || undefined);
    const realm = {
      region: setting('region', 'COFFER_REGION') ?? DEFAULT_CONFIG.region,
      accountId: setting('account-id', 'COFFER_ACCOUNT_ID') ?? DEFAULT_CONFIG.accountId,
      partition: setting('partition', 'COFFER_PARTITION') ?? DEFAULT_CONFIG.partition,
    };
    let report: KeyPolicyResetReport;
    try {
      report = await resetKeyPolicy({ ...locationOf(inv), key: inv.positionals[0]!, realm });
    } catch (error) {
      if (error instanceof KeyPolicyResetError) {
        process.stderr.write(`error: ${error.message}\nhint: ${REFUSALS[error.code].hint}\n`);
        return REFUSALS[error.code].exit;
      }
      if (error instanceof TypeError && error.message.startsWith('Invalid server configuration:')) {
        throw new UsageError(error.message, 'fix --region, --account-id or --partition (or its COFFER_* variable): they are coffer serve\'s');
      }
      if (error instanceof StartupError) {
        process.stderr.write(`error: ${error.message}\nhint: ${LOCATION_HINT}; nothing was changed\n`);
        return EXIT_FAILURE;
      }
      throw error;
    }
    if (inv.flag('json')) {
      printJson({
        Store: report.store, KeyId: report.keyId, KeyArn: report.keyArn, KeyState: report.keyState,
        PreviousPolicy: report.previous.policy ?? null, PreviousPolicySha256: report.previous.sha256, PreviousStatements: report.previous.statements ?? null,
        Policy: report.policy, AuditRequestId: report.requestId, AuditSeq: report.auditSeq ?? null,
      });
      return;
    }
    const statements = report.previous.statements === undefined ? 'not a policy with statements' : `${report.previous.statements} statement${report.previous.statements === 1 ? '' : 's'}`;
    process.stdout.write(`reset the key policy of ${report.keyArn} (${report.keyState}) in ${report.store}\n`
      + `previous policy: ${report.previous.policy === undefined ? 'none set (the default) ' : ''}${statements}, sha256 ${report.previous.sha256}\n`
      + `audit record: ${report.auditSeq !== undefined ? `${report.auditSeq} ` : ''}(request id ${report.requestId})\n`
      + `new policy:\n${report.policy}\n`
      + (report.keyState === 'PendingDeletion' ? 'the key is still pending deletion: the account root can cancel it (coffer keys cancel-deletion KEY)\n' : ''));
  },
});
