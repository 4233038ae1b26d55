import { CreateAliasCommand, DeleteAliasCommand, ListAliasesCommand, UpdateAliasCommand } from '@aws-sdk/client-kms';
import { group, leaf } from '../command.js';
import { allPages, jsonOf, keyArnOf, withKms } from '../kms-client.js';
import { printTable } from '../output.js';
import { aliasName } from '../values.js';
import { KEY_ARGUMENT, show } from './keys.js';

const ALIAS_ARGUMENT = ['ALIAS', 'the alias name, beginning with alias/'] as const;

/** CreateAlias and UpdateAlias take the same two arguments and differ in what exists first. */
function pointAlias(name: 'create' | 'update', summary: string, example: string) {
  return leaf({
    name,
    summary,
    arguments: [ALIAS_ARGUMENT, KEY_ARGUMENT],
    examples: [example],
    run: (inv) => withKms(inv.connection(), async (kms) => {
      const AliasName = aliasName(inv.positionals[0]!);
      // AWS takes only a key id or key ARN as the target: an alias given here is looked up first.
      const TargetKeyId = await keyArnOf(kms, inv.positionals[1]!);
      await kms.send(name === 'create' ? new CreateAliasCommand({ AliasName, TargetKeyId }) : new UpdateAliasCommand({ AliasName, TargetKeyId }));
      process.stdout.write(`${AliasName} -> ${TargetKeyId}\n`);
    }),
  });
}

export const aliasesCommand = group({
  name: 'aliases',
  summary: 'Name keys with aliases (alias/...).',
  examples: ['coffer aliases create alias/payments 1234abcd-12ab-34cd-56ef-1234567890ab', 'coffer aliases list'],
  children: [
    pointAlias('create', 'Create an alias for a key (CreateAlias).', 'coffer aliases create alias/payments 1234abcd-12ab-34cd-56ef-1234567890ab'),
    pointAlias('update', 'Point an existing alias at another key (UpdateAlias).', 'coffer aliases update alias/payments alias/payments-2027'),
    leaf({
      name: 'delete',
      summary: 'Delete an alias (DeleteAlias); the key stays.',
      arguments: [ALIAS_ARGUMENT],
      examples: ['coffer aliases delete alias/payments'],
      run: (inv) => withKms(inv.connection(), async (kms) => {
        const AliasName = aliasName(inv.positionals[0]!);
        await kms.send(new DeleteAliasCommand({ AliasName }));
        process.stdout.write(`deleted ${AliasName}\n`);
      }),
    }),
    leaf({
      name: 'list',
      summary: 'List aliases, of every key or of one (ListAliases, every page).',
      options: { key: { type: 'string', value: 'KEY', help: "only this key's aliases (key id, key ARN or alias)" } },
      json: true,
      examples: ['coffer aliases list', 'coffer aliases list --key 1234abcd-12ab-34cd-56ef-1234567890ab --json'],
      run: (inv) => withKms(inv.connection(), async (kms) => {
        const key = inv.string('key');
        const KeyId = key === undefined ? undefined : await keyArnOf(kms, key);
        const pages = await allPages((Marker) => kms.send(new ListAliasesCommand({ KeyId, Marker })));
        const Aliases = pages.flatMap((p) => p.Aliases ?? []);
        show(inv, { Aliases }, () => printTable(jsonOf(Aliases) as Record<string, unknown>[], ['AliasName', 'TargetKeyId']));
      }),
    }),
  ],
});
