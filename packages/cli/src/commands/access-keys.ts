import { callAdmin } from '../admin-client.js';
import { group, leaf, type Invocation } from '../command.js';
import { dateOf, printable, printJson, printTable, withIsoDates } from '../output.js';
import { PRINCIPAL_ARGUMENT, principalOf } from '../principal-names.js';

/** Access keys of users, roles and the account root, through the Coffer admin API (docs/admin-api.md). */

const ACCESS_KEY_ARGUMENT = ['ACCESS_KEY_ID', 'the access key\'s id (AKIA...)'] as const;
const OWNER_ARGUMENT = [PRINCIPAL_ARGUMENT[0], `${PRINCIPAL_ARGUMENT[1]}; without it, the caller's own keys`] as const;

const showJson = (inv: Invocation, answer: unknown, human: () => void) => (inv.flag('json') ? printJson(withIsoDates(answer)) : human());
const ownerOf = async (inv: Invocation) => (inv.positionals[0] === undefined ? {} : principalOf(inv.positionals[0], () => inv.connection()));

const create = leaf({
  name: 'create',
  summary: 'Create an access key (CreateAccessKey) and print its secret, the only time it is shown.',
  arguments: [OWNER_ARGUMENT],
  minArguments: 0,
  json: true,
  examples: ['coffer access-keys create user/alice', 'coffer access-keys create role/deployer --json > deployer-key.json'],
  run: async (inv) => {
    const answer = await callAdmin(inv.connection(), 'CreateAccessKey', await ownerOf(inv));
    const key = answer.AccessKey as Record<string, unknown>;
    process.stderr.write('warning: the secret access key is shown only this once; store it now (it cannot be read back)\n');
    showJson(inv, answer, () => process.stdout.write(
      `AccessKeyId      ${String(key.AccessKeyId)}\nSecretAccessKey  ${String(key.SecretAccessKey)}\n`
      + `\nAs a profile in an AWS shared-credentials file:\n`
      + `aws_access_key_id = ${String(key.AccessKeyId)}\naws_secret_access_key = ${String(key.SecretAccessKey)}\n`,
    ));
  },
});

const list = leaf({
  name: 'list',
  summary: 'List access keys with their status, never their secrets (ListAccessKeys).',
  arguments: [OWNER_ARGUMENT],
  minArguments: 0,
  json: true,
  examples: ['coffer access-keys list user/alice', 'coffer access-keys list --json'],
  run: async (inv) => {
    const answer = await callAdmin(inv.connection(), 'ListAccessKeys', await ownerOf(inv));
    showJson(inv, answer, () => printTable((answer.AccessKeyMetadata as Record<string, unknown>[]).map((k) => ({
      AccessKeyId: k.AccessKeyId,
      Status: k.Status,
      Owner: k.UserName !== undefined ? `user/${String(k.UserName)}` : k.RoleName !== undefined ? `role/${String(k.RoleName)}` : 'root',
      Created: dateOf(k.CreateDate),
    })), ['AccessKeyId', 'Status', 'Owner', 'Created']));
  },
});

function statusOf(name: 'activate' | 'deactivate') {
  const Status = name === 'activate' ? 'Active' : 'Inactive';
  return leaf({
    name,
    summary: name === 'activate'
      ? 'Make an inactive access key usable again (UpdateAccessKey Status=Active).'
      : 'Stop an access key from signing requests, keeping it to reactivate (UpdateAccessKey Status=Inactive).',
    arguments: [ACCESS_KEY_ARGUMENT],
    examples: [`coffer access-keys ${name} AKIAIOSFODNN7EXAMPLE`],
    run: async (inv) => {
      await callAdmin(inv.connection(), 'UpdateAccessKey', { AccessKeyId: inv.positionals[0]!, Status });
      process.stdout.write(`${inv.positionals[0]!} is now ${Status}\n`);
    },
  });
}

const remove = leaf({
  name: 'delete',
  summary: 'Delete an access key for good (DeleteAccessKey).',
  arguments: [ACCESS_KEY_ARGUMENT],
  examples: ['coffer access-keys delete AKIAIOSFODNN7EXAMPLE'],
  run: async (inv) => {
    await callAdmin(inv.connection(), 'DeleteAccessKey', { AccessKeyId: inv.positionals[0]! });
    process.stdout.write(`deleted ${printable(inv.positionals[0]!)}\n`);
  },
});

export const accessKeysCommand = group({
  name: 'access-keys',
  summary: 'Create, list, switch off and on, and delete access keys (the Coffer admin API).',
  description: 'A principal has at most two access keys. A secret is shown once, when its key is created; the\nserver keeps it only wrapped by its root key.',
  examples: ['coffer access-keys create user/alice', 'coffer access-keys deactivate AKIAIOSFODNN7EXAMPLE', 'coffer access-keys list user/alice'],
  children: [create, list, statusOf('activate'), statusOf('deactivate'), remove],
});
