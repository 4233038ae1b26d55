/**
 * Runs the README's tour as it is written: the shell block between `<!-- tour:start -->` and
 * `<!-- tour:end -->`, with bash in an empty directory, `coffer` on the PATH (the built binary),
 * and COFFER_PORT / COFFER_ENDPOINT naming a free port so the tour's own server does not clash.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { cleanEnv, MAIN, removeTempDirs, run, tempDir } from './support/cli.js';

// From packages/cli/dist/test/ to the repository root.
const README = fileURLToPath(new URL('../../../../README.md', import.meta.url));

after(() => removeTempDirs());

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** The one ```sh block between the tour markers. */
function tourScript(): string {
  const text = readFileSync(README, 'utf8');
  const section = /<!-- tour:start -->\n([\s\S]*?)<!-- tour:end -->/.exec(text);
  assert.ok(section, 'README.md has no tour between <!-- tour:start --> and <!-- tour:end -->');
  const blocks = [...section[1]!.matchAll(/```sh\n([\s\S]*?)```/g)];
  assert.equal(blocks.length, 1, 'the tour is one ```sh block');
  return blocks[0]![1]!;
}

describe('the README tour', () => {
  it('starts a server, creates a key with an alias, encrypts a file and decrypts it', async () => {
    const script = tourScript();
    const work = tempDir();
    const bin = tempDir();
    writeFileSync(join(bin, 'coffer'), `#!/bin/sh\nexec '${process.execPath}' '${MAIN}' "$@"\n`);
    chmodSync(join(bin, 'coffer'), 0o755);
    const port = await freePort();
    const env = cleanEnv({
      PATH: `${bin}:${process.env.PATH ?? ''}`,
      COFFER_PORT: String(port),
      COFFER_ENDPOINT: `http://127.0.0.1:${port}`,
    });
    // Harness, not tour: whatever happens, the tour's server does not outlive the test.
    const harness = `set -e\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n${script}`;
    const finished = await run('timeout', ['60', 'bash', '-c', harness], { env, cwd: work });
    assert.equal(finished.code, 0, `${finished.stdout}\n${finished.stderr}\n${existsSync(join(work, 'coffer.log')) ? readFileSync(join(work, 'coffer.log'), 'utf8') : ''}`);
    assert.match(finished.stdout, /^round trip ok$/m);
    assert.match(finished.stdout, /^Alias +alias\/tour$/m);
    assert.equal(readFileSync(join(work, 'note-again.txt'), 'utf8'), 'meet at noon\n');
    assert.ok(existsSync(join(work, 'note.txt.encrypted')));
    const log = readFileSync(join(work, 'coffer.log'), 'utf8');
    assert.match(log, new RegExp(`Coffer is listening on http://127\\.0\\.0\\.1:${port}`));
    assert.match(log, /"msg":"SIGTERM: finishing in-flight requests and closing the store"/);
  });
});
