import { ApiError, callAdmin, listMember, pageMarkers } from '../admin-client.js';
import { group, leaf, type Invocation } from '../command.js';
import { dateOf, printable, printJson, printTable, terminalJson, withIsoDates } from '../output.js';
import { PRINCIPAL_ARGUMENT, principalOf } from '../principal-names.js';
import { UsageError } from '../usage.js';
import { readTextInput } from '../values.js';

/** Users, roles and their identity policies, through the Coffer admin API (docs/admin-api.md). */

const POLICY_NAME_ARGUMENT = ['POLICY_NAME', 'the inline policy\'s name'] as const;

const showJson = (inv: Invocation, answer: unknown, human: () => void) => (inv.flag('json') ? printJson(withIsoDates(answer)) : human());

function createOf(kind: 'user' | 'role') {
  const wire = kind === 'user' ? { name: 'UserName', one: 'User', id: 'UserId' } : { name: 'RoleName', one: 'Role', id: 'RoleId' };
  return leaf({
    name: `create-${kind}`,
    summary: `Create a ${kind} (Create${wire.one}); give it access keys with \`coffer access-keys create\`.`,
    arguments: [['NAME', '1 to 64 characters: letters, digits and _+=,.@-']],
    json: true,
    examples: [kind === 'user' ? 'coffer principals create-user alice' : 'coffer principals create-role deployer'],
    run: async (inv) => {
      const answer = await callAdmin(inv.connection(), `Create${wire.one}`, { [wire.name]: inv.positionals[0]! });
      const created = answer[wire.one] as Record<string, unknown>;
      showJson(inv, answer, () => process.stdout.write(`created ${kind} ${String(created.Arn)} (${String(created[wire.id])})\n`));
    },
  });
}

const list = leaf({
  name: 'list',
  summary: 'List users and roles (ListUsers, ListRoles, every page).',
  synopsis: '[--users | --roles]',
  options: {
    users: { type: 'boolean', help: 'only users' },
    roles: { type: 'boolean', help: 'only roles' },
  },
  json: true,
  examples: ['coffer principals list', 'coffer principals list --roles --json'],
  run: async (inv) => {
    if (inv.flag('users') && inv.flag('roles')) throw new UsageError('--users and --roles cannot be combined', 'leave both out to list users and roles');
    const connection = inv.connection();
    const all = async (operation: string, member: string) => {
      const items: Record<string, unknown>[] = [];
      const next = pageMarkers(operation);
      let marker: string | undefined;
      do {
        const page = await callAdmin(connection, operation, marker ? { Marker: marker } : {});
        items.push(...listMember(page, member, operation));
        if (page.IsTruncated && typeof page.Marker !== 'string') throw new ApiError('MalformedResponse', `the server's ${operation} answer is truncated but gives no Marker`, 0);
        marker = next(page.IsTruncated ? (page.Marker as string) : undefined);
      } while (marker !== undefined);
      return items;
    };
    const Users = inv.flag('roles') ? undefined : await all('ListUsers', 'Users');
    const Roles = inv.flag('users') ? undefined : await all('ListRoles', 'Roles');
    showJson(inv, { ...(Users ? { Users } : {}), ...(Roles ? { Roles } : {}) }, () => printTable([
      ...(Users ?? []).map((u) => ({ Kind: 'user', Name: u.UserName, Id: u.UserId, Arn: u.Arn, Created: dateOf(u.CreateDate) })),
      ...(Roles ?? []).map((r) => ({ Kind: 'role', Name: r.RoleName, Id: r.RoleId, Arn: r.Arn, Created: dateOf(r.CreateDate) })),
    ], ['Kind', 'Name', 'Id', 'Arn', 'Created']));
  },
});

const remove = leaf({
  name: 'delete',
  summary: 'Delete a user or role (DeleteUser, DeleteRole), with its access keys and policies.',
  arguments: [PRINCIPAL_ARGUMENT],
  examples: ['coffer principals delete user/alice', 'coffer principals delete role/deployer'],
  run: async (inv) => {
    const principal = await principalOf(inv.positionals[0]!, () => inv.connection());
    await callAdmin(inv.connection(), 'UserName' in principal ? 'DeleteUser' : 'DeleteRole', principal);
    process.stdout.write(`deleted ${printable(inv.positionals[0]!)} with its access keys and policies\n`);
  },
});

const putPolicy = leaf({
  name: 'put-policy',
  summary: 'Attach an inline identity policy to a user or role, or replace it (PutPrincipalPolicy).',
  synopsis: 'PRINCIPAL POLICY_NAME --document FILE',
  description: 'The document is an IAM policy without Principal; actions are kms:* for keys and coffer:* for this admin API.',
  arguments: [PRINCIPAL_ARGUMENT, POLICY_NAME_ARGUMENT],
  options: { document: { type: 'string', value: 'FILE', help: 'the policy document (JSON); - reads standard input; required', complete: 'file' } },
  examples: [
    'coffer principals put-policy user/alice encrypt-only --document policy.json',
    `echo '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Encrypt","Resource":"*"}]}' | coffer principals put-policy user/alice encrypt-only --document -`,
  ],
  run: async (inv) => {
    const path = inv.string('document');
    if (path === undefined) throw new UsageError(`${inv.path}: missing --document FILE`, `for example \`${putPolicy.examples[0]}\``);
    const PolicyDocument = readTextInput(path, 'the policy document');
    await callAdmin(inv.connection(), 'PutPrincipalPolicy', { ...(await principalOf(inv.positionals[0]!, () => inv.connection())), PolicyName: inv.positionals[1]!, PolicyDocument });
    process.stdout.write(`put policy ${printable(inv.positionals[1]!)} on ${printable(inv.positionals[0]!)}\n`);
  },
});

const getPolicy = leaf({
  name: 'get-policy',
  summary: 'Print an inline identity policy of a user or role (GetPrincipalPolicy).',
  arguments: [PRINCIPAL_ARGUMENT, POLICY_NAME_ARGUMENT],
  json: true,
  examples: ['coffer principals get-policy user/alice encrypt-only', 'coffer principals get-policy role/deployer deploy --json'],
  run: async (inv) => {
    const answer = await callAdmin(inv.connection(), 'GetPrincipalPolicy', { ...(await principalOf(inv.positionals[0]!, () => inv.connection())), PolicyName: inv.positionals[1]! });
    showJson(inv, answer, () => {
      const document = String(answer.PolicyDocument);
      let pretty = document;
      try {
        pretty = terminalJson(JSON.parse(document), 2);
      } catch {
        // printed as stored
      }
      process.stdout.write(`${pretty}\n`);
    });
  },
});

const listPolicies = leaf({
  name: 'list-policies',
  summary: 'List the inline identity policies of a user or role (ListPrincipalPolicies).',
  arguments: [PRINCIPAL_ARGUMENT],
  json: true,
  examples: ['coffer principals list-policies user/alice'],
  run: async (inv) => {
    const answer = await callAdmin(inv.connection(), 'ListPrincipalPolicies', await principalOf(inv.positionals[0]!, () => inv.connection()));
    showJson(inv, answer, () => printTable((answer.PolicyNames as string[]).map((PolicyName) => ({ PolicyName })), ['PolicyName']));
  },
});

const deletePolicy = leaf({
  name: 'delete-policy',
  summary: 'Remove an inline identity policy from a user or role (DeletePrincipalPolicy).',
  arguments: [PRINCIPAL_ARGUMENT, POLICY_NAME_ARGUMENT],
  examples: ['coffer principals delete-policy user/alice encrypt-only'],
  run: async (inv) => {
    await callAdmin(inv.connection(), 'DeletePrincipalPolicy', { ...(await principalOf(inv.positionals[0]!, () => inv.connection())), PolicyName: inv.positionals[1]! });
    process.stdout.write(`deleted policy ${printable(inv.positionals[1]!)} from ${printable(inv.positionals[0]!)}\n`);
  },
});

export const principalsCommand = group({
  name: 'principals',
  summary: 'Manage users and roles and their identity policies (the Coffer admin API).',
  description: 'Principals sign requests with access keys (`coffer access-keys`); what they may do comes from key\npolicies, grants, and the identity policies managed here.',
  examples: [
    'coffer principals create-user alice',
    'coffer principals put-policy user/alice encrypt-only --document policy.json',
    'coffer principals list',
  ],
  children: [createOf('user'), createOf('role'), list, remove, putPolicy, getPolicy, listPolicies, deletePolicy],
});
