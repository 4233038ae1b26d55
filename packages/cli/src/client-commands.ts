import { runCommand, type Command } from './command.js';
import { completionCommand } from './commands/completion.js';

/**
 * The command-tree commands, each loaded only when it runs: a command's modules (the AWS SDK,
 * the server's for `coffer audit verify`) would otherwise slow the start of every other one.
 * Add a command here, in the order `coffer --help` lists it.
 */
const LOADERS: readonly (readonly [string, () => Promise<Command>])[] = [
  ['keys', async () => (await import('./commands/keys.js')).keysCommand],
  ['aliases', async () => (await import('./commands/aliases.js')).aliasesCommand],
  ['grants', async () => (await import('./commands/grants.js')).grantsCommand],
  ['encrypt', async () => (await import('./commands/encrypt.js')).encryptCommand],
  ['decrypt', async () => (await import('./commands/decrypt.js')).decryptCommand],
  ['data-key', async () => (await import('./commands/data-key.js')).dataKeyCommand],
  ['random', async () => (await import('./commands/random.js')).randomCommand],
  ['principals', async () => (await import('./commands/principals.js')).principalsCommand],
  ['access-keys', async () => (await import('./commands/access-keys.js')).accessKeysCommand],
  ['audit', async () => (await import('./commands/audit.js')).auditCommand],
  ['store', async () => (await import('./commands/store.js')).storeCommand],
  ['backup', async () => (await import('./commands/backup.js')).backupCommand],
  ['restore', async () => (await import('./commands/restore.js')).restoreCommand],
  ['root', async () => (await import('./commands/root.js')).rootCommand],
];

/**
 * The commands of the command tree, for main.ts's COMMANDS table. `allNames` gives every
 * top-level command, so completion also offers the ones outside the tree (`coffer serve`).
 */
export function clientCommands(allNames: () => readonly string[]): Record<string, (args: string[]) => Promise<number>> {
  const completion = completionCommand(async () => {
    const commands = [...await Promise.all(LOADERS.map(([, load]) => load())), completion];
    const { OPTIONS: serveOptions, OPTION_COMPLETIONS: serveCompletions } = await import('./commands/serve.js');
    // A value-taking serve option completes a path, one of its words, or nothing (any value).
    const serveValues = Object.fromEntries(Object.entries(serveOptions).filter(([, o]) => o.type === 'string')
      .map(([flag]) => [flag, serveCompletions[flag] ?? 'any'] as const));
    return {
      commands,
      plain: allNames().filter((name) => !commands.some((c) => c.name === name))
        .map((name) => ({ name, flags: name === 'serve' ? Object.keys(serveOptions) : [], ...(name === 'serve' ? { values: serveValues } : {}) })),
    };
  });
  return Object.fromEntries([
    ...LOADERS.map(([name, load]) => [name, async (args: string[]) => runCommand(await load(), args)] as const),
    ['completion', (args: string[]) => runCommand(completion, args)] as const,
  ]);
}
