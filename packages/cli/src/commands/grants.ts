import {
  CreateGrantCommand, GrantOperation, ListGrantsCommand, ListRetirableGrantsCommand, RetireGrantCommand, RevokeGrantCommand,
  type GrantListEntry,
} from '@aws-sdk/client-kms';
import { group, leaf } from '../command.js';
import { allPages, keyArnOf, withKms } from '../kms-client.js';
import { printTable } from '../output.js';
import { UsageError } from '../usage.js';
import { keyValues, listOf } from '../values.js';
import { KEY_ARGUMENT, show } from './keys.js';

const GRANT_ID_ARGUMENT = ['GRANT_ID', 'the grant id CreateGrant answered'] as const;
const OPERATIONS = Object.values(GrantOperation);

/** `text` in lines of at most `width` characters, each indented by `indent` spaces. */
function wrap(text: string, indent: number, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && indent + line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => `${' '.repeat(indent)}${l}`).join('\n');
}

/** Grants for people: one line each, operations and constraints flattened. */
function printGrants(grants: readonly GrantListEntry[]): void {
  const context = (c: Record<string, string> | undefined) => Object.entries(c ?? {}).map(([k, v]) => `${k}=${v}`).join(',');
  printTable(grants.map((g) => ({
    ...g,
    // A service principal (GranteeServicePrincipal) shows in the same column, as AWS's own name for it.
    GranteePrincipal: g.GranteePrincipal ?? g.GranteeServicePrincipal,
    RetiringPrincipal: g.RetiringPrincipal ?? g.RetiringServicePrincipal,
    Operations: (g.Operations ?? []).join(','),
    Constraints: [
      ...(g.Constraints?.EncryptionContextSubset ? [`subset:${context(g.Constraints.EncryptionContextSubset)}`] : []),
      ...(g.Constraints?.EncryptionContextEquals ? [`equals:${context(g.Constraints.EncryptionContextEquals)}`] : []),
      ...(g.Constraints?.SourceArn ? [`source:${g.Constraints.SourceArn}`] : []),
    ].join(' '),
  })), ['GrantId', 'Name', 'GranteePrincipal', 'RetiringPrincipal', 'Operations', 'Constraints']);
}

const create = leaf({
  name: 'create',
  summary: 'Allow a principal some operations on a key (CreateGrant).',
  description: `\nOperations:\n${wrap(OPERATIONS.join(', '), 2, 96)}`,
  synopsis: 'KEY --grantee ARN --operations OP,OP [--retiring ARN] [--name N] [--context-subset K=V ...] [--context-equals K=V ...]',
  arguments: [KEY_ARGUMENT],
  options: {
    grantee: { type: 'string', value: 'ARN', help: 'the principal that gets the permissions; required' },
    operations: { type: 'string', value: 'OP,OP', help: 'the operations it allows, comma-separated; required' },
    retiring: { type: 'string', value: 'ARN', help: 'a principal that may retire the grant' },
    name: { type: 'string', value: 'NAME', help: 'a name; a second CreateGrant with the same name and fields is the same grant' },
    'context-subset': { type: 'string', multiple: true, value: 'K=V', help: 'only requests whose encryption context includes these pairs' },
    'context-equals': { type: 'string', multiple: true, value: 'K=V', help: 'only requests whose encryption context is exactly these pairs' },
  },
  json: true,
  examples: ['coffer grants create alias/payments --grantee arn:aws:iam::111122223333:role/app --operations Encrypt,Decrypt'],
  run: async (inv) => {
    const grantee = inv.string('grantee');
    const operations = inv.string('operations');
    if (grantee === undefined || operations === undefined) {
      throw new UsageError(`${inv.path}: missing ${grantee === undefined ? '--grantee ARN' : '--operations OP,OP'}`,
        `for example \`${create.examples[0]}\``);
    }
    const subset = inv.strings('context-subset');
    const equals = inv.strings('context-equals');
    if (subset.length && equals.length) {
      throw new UsageError('--context-subset and --context-equals cannot be combined', 'a grant has one kind of encryption-context constraint; pick one');
    }
    const input = {
      GranteePrincipal: grantee,
      Operations: listOf(operations, '--operations', OPERATIONS),
      RetiringPrincipal: inv.string('retiring'),
      Name: inv.string('name'),
      ...(subset.length ? { Constraints: { EncryptionContextSubset: keyValues(subset, '--context-subset', '--context-subset purpose=backup') } } : {}),
      ...(equals.length ? { Constraints: { EncryptionContextEquals: keyValues(equals, '--context-equals', '--context-equals purpose=backup') } } : {}),
    };
    await withKms(inv.connection(), async (kms) => {
      const answer = await kms.send(new CreateGrantCommand({ KeyId: await keyArnOf(kms, inv.positionals[0]!), ...input }));
      show(inv, answer, () => process.stdout.write(`GrantId     ${answer.GrantId}\nGrantToken  ${answer.GrantToken}\n`));
    });
  },
});

const list = leaf({
  name: 'list',
  summary: "List a key's grants (ListGrants, every page).",
  arguments: [KEY_ARGUMENT],
  options: {
    'grant-id': { type: 'string', value: 'ID', help: 'only this grant' },
    grantee: { type: 'string', value: 'ARN', help: "only this principal's grants" },
  },
  json: true,
  examples: ['coffer grants list alias/payments', 'coffer grants list alias/payments --grantee arn:aws:iam::111122223333:role/app --json'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const KeyId = await keyArnOf(kms, inv.positionals[0]!);
    const pages = await allPages((Marker) => kms.send(new ListGrantsCommand({
      KeyId, Marker, GrantId: inv.string('grant-id'), GranteePrincipal: inv.string('grantee'),
    })));
    const Grants = pages.flatMap((p) => p.Grants ?? []);
    show(inv, { Grants }, () => printGrants(Grants));
  }),
});

const listRetirable = leaf({
  name: 'list-retirable',
  summary: 'List the grants a principal may retire (ListRetirableGrants, every page).',
  arguments: [['ARN', 'the retiring principal']],
  json: true,
  examples: ['coffer grants list-retirable arn:aws:iam::111122223333:role/operator'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const RetiringPrincipal = inv.positionals[0]!;
    const pages = await allPages((Marker) => kms.send(new ListRetirableGrantsCommand({ RetiringPrincipal, Marker })));
    const Grants = pages.flatMap((p) => p.Grants ?? []);
    show(inv, { Grants }, () => printGrants(Grants));
  }),
});

const retire = leaf({
  name: 'retire',
  summary: 'Retire a grant (RetireGrant), by its token or by key and grant id.',
  synopsis: '(--token TOKEN | KEY GRANT_ID)',
  arguments: [KEY_ARGUMENT, GRANT_ID_ARGUMENT],
  minArguments: 0,
  options: { token: { type: 'string', value: 'TOKEN', help: 'the grant token CreateGrant answered' } },
  examples: ['coffer grants retire alias/payments 0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60', 'coffer grants retire --token "$TOKEN"'],
  run: async (inv) => {
    const token = inv.string('token');
    const [key, grantId] = inv.positionals;
    if (token !== undefined ? key !== undefined : grantId === undefined) {
      throw new UsageError(`${inv.path}: give either --token TOKEN, or KEY and GRANT_ID`, `for example \`${retire.examples[0]}\``);
    }
    await withKms(inv.connection(), async (kms) => {
      await kms.send(new RetireGrantCommand(token !== undefined ? { GrantToken: token } : { KeyId: await keyArnOf(kms, key!), GrantId: grantId }));
      process.stdout.write(`retired ${grantId ?? 'the grant'}\n`);
    });
  },
});

const revoke = leaf({
  name: 'revoke',
  summary: 'Revoke a grant (RevokeGrant).',
  arguments: [KEY_ARGUMENT, GRANT_ID_ARGUMENT],
  examples: ['coffer grants revoke alias/payments 0c237476b39f8bc44e45212e08498fbe3151305030726c0590dd8d3e9f3d6a60'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const [key, GrantId] = inv.positionals;
    await kms.send(new RevokeGrantCommand({ KeyId: await keyArnOf(kms, key!), GrantId }));
    process.stdout.write(`revoked ${GrantId}\n`);
  }),
});

export const grantsCommand = group({
  name: 'grants',
  summary: 'Give principals narrow, revocable permissions on a key.',
  examples: ['coffer grants create alias/payments --grantee arn:aws:iam::111122223333:role/app --operations Decrypt', 'coffer grants list alias/payments'],
  children: [create, list, listRetirable, retire, revoke],
});
