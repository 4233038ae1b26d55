import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { bounded, coffer, removeTempDirs, run, tempDir } from './support/cli.js';

after(removeTempDirs);

/** The commands this file answers for; each group is walked through its own help. */
const GROUPS = ['keys', 'aliases', 'grants', 'data-key', 'random', 'store', 'completion'];

/** Every command the issue names: the walk must find each. */
const EXPECTED = [
  'keys create', 'keys list', 'keys describe', 'keys enable', 'keys disable', 'keys rotate', 'keys rotation enable',
  'keys rotation disable', 'keys rotation status', 'keys rotations', 'keys schedule-deletion', 'keys cancel-deletion',
  'keys tag', 'keys untag', 'keys tags', 'keys policy get', 'keys policy put',
  'aliases create', 'aliases update', 'aliases delete', 'aliases list',
  'grants create', 'grants list', 'grants list-retirable', 'grants retire', 'grants revoke',
  'data-key', 'random', 'store check', 'store reset-key-policy', 'completion',
];

/** The `Commands:` section of a group's help: the names in its first column. */
function subcommandsIn(help: string): string[] {
  const section = /^Commands:\n((?: {2}\S.*\n)+)/m.exec(help);
  return section ? section[1]!.trimEnd().split('\n').map((line) => line.trim().split(/\s+/)[0]!) : [];
}

/** Walks the help of `path` and below; returns the leaves' paths with their help text. */
async function walk(path: string): Promise<Map<string, string>> {
  const finished = await coffer([...path.split(' '), '--help']);
  assert.equal(finished.code, 0, `coffer ${path} --help: ${finished.stderr}`);
  assert.equal(finished.stderr, '');
  const children = subcommandsIn(finished.stdout);
  if (children.length === 0) return new Map([[path, finished.stdout]]);
  const below = await bounded(4, children.map((child) => () => walk(`${path} ${child}`)));
  return new Map([[path, finished.stdout], ...below.flatMap((m) => [...m])]);
}

describe('the exit codes', () => {
  it('are the same in the README table, in `coffer --help` and in usage.ts', async () => {
    const usage = (await import('../src/usage.js')) as Record<string, unknown>;
    const readme = readFileSync(fileURLToPath(new URL('../../../../README.md', import.meta.url)), 'utf8');
    const table = /\*\*Exit codes\.\*\*[^|]*((?:\|.*\|\n)+)/.exec(readme)?.[1];
    assert.ok(table, 'no exit-code table in the README');
    const documented = [...table.matchAll(/^\| (\d) \| (.*) \|$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(documented, [0, 1, 2, 3, 4, 5]);
    assert.deepEqual([usage.EXIT_FAILURE, usage.EXIT_USAGE, usage.EXIT_ACCESS, usage.EXIT_CRYPTO, usage.EXIT_IO], [1, 2, 3, 4, 5]);
    assert.match(table, /^\| 2 \| bad usage/m);
    assert.match(table, /^\| 3 \| access refused/m);
    assert.match(table, /^\| 4 \| a cryptographic failure/m);
    assert.match(table, /^\| 5 \| a file that cannot be read or written/m);
    const help = (await coffer(['--help'])).stdout;
    assert.match(help, /0 ok, 1 any other failure, 2 bad usage, 3 access refused \(authentication or\nauthorization\), 4 a cryptographic failure, 5 a file that cannot be read or written/);
  });
});

describe('coffer --help', () => {
  it('lists every command group and the exit codes', async () => {
    const finished = await coffer(['--help']);
    assert.equal(finished.code, 0);
    for (const group of GROUPS) assert.match(finished.stdout, new RegExp(`^ {2}${group} `, 'm'));
    assert.match(finished.stdout, /^Exit codes: 0 ok, 1 any other failure, 2 bad usage, 3 access refused/m);
  });

  it('prints the version with --version, as `aws --version` does', async () => {
    const { version } = JSON.parse(readFileSync(fileURLToPath(new URL('../../package.json', import.meta.url)), 'utf8')) as { version: string };
    const finished = await coffer(['--version']);
    assert.equal(finished.code, 0);
    assert.equal(finished.stderr, '');
    assert.equal(finished.stdout, `coffer ${version} node/${process.versions.node} ${process.platform}/${process.arch}\n`);
  });

  it('exits 0 for --help of every command and shows its usage and an example', async () => {
    const helps = new Map((await bounded(3, GROUPS.map((g) => () => walk(g)))).flatMap((m) => [...m]));
    for (const expected of EXPECTED) assert.ok(helps.has(expected), `no help found for coffer ${expected}`);
    for (const [path, help] of helps) {
      assert.match(help, new RegExp(`^Usage: coffer ${path}( |$)`, 'm'), path);
      assert.match(help, new RegExp(`^Examples?:\\n(?: {2}.*\\n)* {2}.*coffer ${path}\\b`, 'm'), `coffer ${path} --help has no example of itself`);
    }
    // Leaves document their options and, where they talk to a server, the connection flags.
    assert.match(helps.get('keys schedule-deletion')!, /^ {2}--days N +waiting period in days, 7 to 30/m);
    assert.match(helps.get('keys describe')!, /^ {2}--json +/m);
    assert.match(helps.get('keys describe')!, /^ {2}--endpoint-url URL/m);
    assert.match(helps.get('keys describe')!, /^ {2}KEY +key id, key ARN, alias name/m);
  });

  it('keeps every option\'s help in the second column, a long option name on a line of its own', async () => {
    for (const path of ['encrypt', 'decrypt', 'backup']) {
      const help = (await coffer([...path.split(' '), '--help'])).stdout;
      const options = /^Options:\n((?: .*\n)+)/m.exec(help)![1]!.split('\n');
      for (const [i, line] of options.entries()) {
        if (!line.startsWith('  -')) continue;
        // The help starts at the 28th character, on the option's line or, for a long option, on the next.
        if (line[26] === ' ' && line.length > 27) assert.match(line, /^ {2}\S.{23} \S/, `coffer ${path} --help: '${line}'`);
        else assert.match(options[i + 1]!, /^ {27}\S/, `coffer ${path} --help: '${line}' has its help below it`);
      }
      if (path !== 'backup') assert.match(help, /^ {2}--max-encrypted-data-keys N\n {27}refuse messages/m);
    }
  });

  it('takes -h and help where --help is taken', async () => {
    const [short, word] = await Promise.all([coffer(['keys', 'describe', '-h']), coffer(['keys', 'help'])]);
    assert.equal(short.code, 0);
    assert.match(short.stdout, /^Usage: coffer keys describe KEY/);
    assert.equal(word.code, 0);
    assert.match(word.stdout, /^Usage: coffer keys <command>/);
    // `coffer help COMMAND...`, as git and the AWS CLI take it (it printed the top-level help).
    const [group, leaf] = await Promise.all([coffer(['help', 'keys']), coffer(['help', 'keys', 'describe'])]);
    assert.equal(group.code, 0);
    assert.match(group.stdout, /^Usage: coffer keys <command>/);
    assert.equal(leaf.code, 0);
    assert.match(leaf.stdout, /^Usage: coffer keys describe KEY/);
  });
});

/** Runs the bash completion for a command line ending in `current`; returns what it offers. */
async function complete(script: string, words: string[], cwd?: string): Promise<string[]> {
  const file = join(tempDir(), 'coffer.bash');
  writeFileSync(file, script);
  const array = words.map((w) => `'${w}'`).join(' ');
  const finished = await run('bash', ['-c', `source '${file}'; COMP_WORDS=(${array}); COMP_CWORD=${words.length - 1}; _coffer; printf '%s\\n' "\${COMPREPLY[@]}"`],
    cwd ? { cwd } : {});
  assert.equal(finished.code, 0, finished.stderr);
  return finished.stdout.split('\n').filter((s) => s !== '');
}

describe('coffer completion', () => {
  it('prints a bash script that bash -n accepts and that completes commands, subcommands, flags and values', async () => {
    const finished = await coffer(['completion', 'bash']);
    assert.equal(finished.code, 0, finished.stderr);
    const script = finished.stdout;
    assert.match(script, /^complete -F _coffer coffer$/m);
    const file = join(tempDir(), 'coffer.bash');
    writeFileSync(file, script);
    const syntax = await run('bash', ['-n', file]);
    assert.equal(syntax.code, 0, syntax.stderr);

    const cwd = tempDir();
    writeFileSync(join(cwd, 'policy.json'), '{}');
    writeFileSync(join(cwd, 'my policy.json'), '{}');
    const [top, keys, flags, values, files, serve, shells, spaced, serveFile, serveProvider, serveAny, toolProvider, toolFile, shortOut, caBundle] = await Promise.all([
      complete(script, ['coffer', '']),
      complete(script, ['coffer', 'keys', 'ro']),
      complete(script, ['coffer', 'keys', 'schedule-deletion', 'alias/x', '--']),
      complete(script, ['coffer', 'keys', 'create', '--key-spec', 'SYM']),
      complete(script, ['coffer', 'keys', 'policy', 'put', 'alias/x', '--policy', 'pol'], cwd),
      complete(script, ['coffer', 'serve', '--p']),
      complete(script, ['coffer', 'completion', '']),
      complete(script, ['coffer', 'keys', 'policy', 'put', 'alias/x', '--policy', 'my'], cwd),
      complete(script, ['coffer', 'serve', '--config', 'pol'], cwd),
      complete(script, ['coffer', 'serve', '--root-key', 'p']),
      complete(script, ['coffer', 'serve', '--port', '']),
      complete(script, ['coffer', 'backup', '--root-key', 'k']),
      complete(script, ['coffer', 'store', 'check', '--root-passphrase-file', 'pol'], cwd),
      complete(script, ['coffer', 'encrypt', 'in.txt', '-o', 'pol'], cwd),
      complete(script, ['coffer', 'keys', 'list', '--ca-bundle', 'pol'], cwd),
    ]);
    for (const group of GROUPS) assert.ok(top.includes(group), `${group} in ${top.join(' ')}`);
    assert.ok(top.includes('serve'));
    assert.deepEqual(keys, ['rotate', 'rotation', 'rotations']);
    for (const flag of ['--days', '--json', '--endpoint-url', '--region', '--profile', '--help']) assert.ok(flags.includes(flag), `${flag} in ${flags.join(' ')}`);
    assert.deepEqual(values, ['SYMMETRIC_DEFAULT']);
    assert.deepEqual(files, ['policy.json']);
    assert.deepEqual(serve.sort(), ['--partition', '--pkcs11-key-label', '--pkcs11-library', '--pkcs11-pin-file', '--pkcs11-slot', '--pkcs11-token-label', '--port']);
    assert.deepEqual(shells, ['bash', 'zsh', '--help']);
    assert.deepEqual(spaced, ['my policy.json'], 'a file name with a space is one word');
    assert.deepEqual(serveFile, ['policy.json']);
    assert.deepEqual(serveProvider, ['passphrase', 'pkcs11']);
    assert.deepEqual(serveAny, [], 'a port: nothing to offer, not the flags');
    assert.deepEqual(toolProvider, ['kms']);
    assert.deepEqual(toolFile, ['policy.json']);
    assert.deepEqual(shortOut, ['policy.json'], '-o as --output');
    assert.deepEqual(caBundle, ['policy.json']);
  });

  it('prints a zsh script with #compdef that names every command', async () => {
    const finished = await coffer(['completion', 'zsh']);
    assert.equal(finished.code, 0, finished.stderr);
    assert.match(finished.stdout, /^#compdef coffer\n/);
    assert.match(finished.stdout, /compdef _coffer coffer/);
    assert.match(finished.stdout, /'keys rotation'\) echo 'enable disable status --help'/);
    for (const group of GROUPS) assert.match(finished.stdout, new RegExp(`^ {4}''\\) echo '.*\\b${group}\\b`, 'm'));
    const zsh = await run('sh', ['-c', 'command -v zsh || true']);
    if (zsh.stdout.trim() !== '') {
      const file = join(tempDir(), '_coffer');
      writeFileSync(file, finished.stdout);
      const syntax = await run('zsh', ['-n', file]);
      assert.equal(syntax.code, 0, syntax.stderr);
    }
  });
});
