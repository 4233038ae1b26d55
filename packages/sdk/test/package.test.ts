/**
 * The package as npm would publish it: what `npm pack` puts in the tarball, and the README's
 * examples, which users copy and paste. Both are checked from outside, as a user meets them:
 * npm's own file list, and the TypeScript compiler over the examples with the package resolved
 * by name.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';

const PACKAGE = fileURLToPath(new URL('../../', import.meta.url));
const ROOT = join(PACKAGE, '..', '..');

function packedFiles(): Set<string> {
  const out = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: PACKAGE,
    encoding: 'utf8',
  });
  const [report] = JSON.parse(out) as { files: { path: string }[] }[];
  return new Set(report!.files.map((f) => f.path));
}

test('every source map in the tarball names sources the tarball holds', () => {
  const files = packedFiles();
  const maps = [...files].filter((f) => f.endsWith('.js.map'));
  assert.ok(maps.length > 10, `source maps packed: ${maps.length}`);
  assert.ok(files.has('dist/src/index.js') && files.has('dist/src/index.d.ts') && files.has('README.md'));
  assert.ok(![...files].some((f) => f.startsWith('test/') || f.startsWith('bench/') || f.startsWith('dist/test/')));
  for (const map of maps) {
    const { sources } = JSON.parse(readFileSync(join(PACKAGE, map), 'utf8')) as { sources: string[] };
    for (const source of sources) {
      const resolved = posix.normalize(posix.join(posix.dirname(map), source));
      assert.ok(files.has(resolved), `${map} names ${source}, which is not packed`);
    }
  }
});

test("the README's TypeScript examples compile as written, against the package by name", () => {
  const readme = readFileSync(join(PACKAGE, 'README.md'), 'utf8');
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.ok(blocks.length >= 7, `examples found: ${blocks.length}`);

  const dir = mkdtempSync(join(tmpdir(), 'coffer-readme-'));
  try {
    // A project of its own that finds @coffer/sdk, the AWS SDK and Node's types by name.
    mkdirSync(join(dir, 'node_modules', '@coffer'), { recursive: true });
    symlinkSync(PACKAGE, join(dir, 'node_modules', '@coffer', 'sdk'));
    for (const scope of ['@aws-sdk', '@smithy', '@aws-crypto', '@types']) {
      symlinkSync(join(ROOT, 'node_modules', scope), join(dir, 'node_modules', scope));
    }
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    const names = blocks.map((block, i) => {
      const name = `example-${i}.ts`;
      // Each example is a module of its own, as a file a user pastes it into would be.
      writeFileSync(join(dir, name), `${block}\nexport {};\n`);
      return name;
    });
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
      '--moduleResolution', 'nodenext', '--types', 'node', '--skipLibCheck', ...names];
    const run = spawnSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.status, 0, `tsc: ${run.stdout}${run.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the declarations bring Node's types themselves: a consumer that lists no `types` (TypeScript 6's default) compiles", () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-types-'));
  try {
    mkdirSync(join(dir, 'node_modules', '@coffer'), { recursive: true });
    symlinkSync(PACKAGE, join(dir, 'node_modules', '@coffer', 'sdk'));
    for (const scope of ['@aws-sdk', '@smithy', '@aws-crypto', '@types']) {
      symlinkSync(join(ROOT, 'node_modules', scope), join(dir, 'node_modules', scope));
    }
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    // No Buffer in the consumer's own code: only the declarations name it.
    writeFileSync(join(dir, 'consumer.ts'), [
      "import { decrypt, encrypt, RawAesKeyring } from '@coffer/sdk';",
      "const keyring = new RawAesKeyring({ keyNamespace: 'ns', keyName: 'name', wrappingKey: new Uint8Array(32) });",
      "const { ciphertext } = await encrypt(keyring, new Uint8Array([1, 2, 3]));",
      "const opened: Uint8Array = (await decrypt(keyring, ciphertext)).plaintext;",
      'export { opened };',
      '',
    ].join('\n'));
    writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { strict: true, target: 'es2022', module: 'nodenext', moduleResolution: 'nodenext', types: [], noEmit: true, skipLibCheck: false },
      files: ['consumer.ts'],
    }));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = spawnSync(process.execPath, [tsc, '-p', dir], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.status, 0, `tsc: ${run.stdout}${run.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tarball packed from a checkout never built holds the built package (npm pack builds it first)', () => {
  // The package's sources where a fresh clone has them, beside the repository's base tsconfig and
  // its installed node_modules, with no dist: what `npm pack -w @coffer/sdk` meets after `npm ci`.
  const dir = mkdtempSync(join(tmpdir(), 'coffer-pack-'));
  try {
    const copy = join(dir, 'packages', 'sdk');
    mkdirSync(copy, { recursive: true });
    copyFileSync(join(ROOT, 'tsconfig.base.json'), join(dir, 'tsconfig.base.json'));
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    for (const name of ['package.json', 'tsconfig.json', 'README.md']) copyFileSync(join(PACKAGE, name), join(copy, name));
    cpSync(join(PACKAGE, 'src'), join(copy, 'src'), { recursive: true });
    const out = execFileSync('npm', ['pack', '--dry-run', '--json'], { cwd: copy, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [report] = JSON.parse(out) as { files: { path: string }[] }[];
    const files = new Set(report!.files.map((f) => f.path));
    for (const built of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/internal/seal-worker.js']) assert.ok(files.has(built), `${built} packed`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('results type as what they are: Response, Blob and crypto.subtle take them under strict settings with the DOM library', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-types-'));
  try {
    mkdirSync(join(dir, 'node_modules', '@coffer'), { recursive: true });
    symlinkSync(PACKAGE, join(dir, 'node_modules', '@coffer', 'sdk'));
    for (const scope of ['@aws-sdk', '@smithy', '@types']) symlinkSync(join(ROOT, 'node_modules', scope), join(dir, 'node_modules', scope));
    writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
    writeFileSync(join(dir, 'consumer.ts'), [
      "import { decrypt, encrypt, RawAesKeyring } from '@coffer/sdk';",
      "const keyring = new RawAesKeyring({ keyNamespace: 'n', keyName: 'k', wrappingKey: new Uint8Array(32) });",
      "const { ciphertext } = await encrypt(keyring, new TextEncoder().encode('hello'));",
      'const { plaintext } = await decrypt(keyring, ciphertext);',
      'export const uses = [new Response(ciphertext), new Blob([plaintext]), await crypto.subtle.digest(\'SHA-256\', plaintext)];',
      '',
    ].join('\n'));
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
    // No --skipLibCheck: the package's own declarations are checked as a consumer's compiler reads them.
    const args = ['--noEmit', '--strict', '--target', 'es2022', '--module', 'node16', '--moduleResolution', 'node16',
      '--lib', 'es2023,dom', '--types', 'node', 'consumer.ts'];
    const run = spawnSync(process.execPath, [tsc, ...args], { cwd: dir, encoding: 'utf8' });
    assert.equal(run.status, 0, `tsc: ${run.stdout}${run.stderr}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
