import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { cleanEnv, MAIN, removeTempDirs, tempDir } from './support/cli.js';

after(removeTempDirs);

/**
 * Runs a command on a pseudo-terminal (util-linux `script`), so standard input is a TTY, typing
 * `typed` into it. Resolves with everything the terminal showed and the exit code.
 */
function onTerminal(args: readonly string[], typed: string, env: NodeJS.ProcessEnv, stopWhen?: RegExp): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, MAIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    screen += s;
    if (stopWhen?.test(screen)) child.kill('SIGTERM');
  });
  child.stderr.resume();
  // Each entry once its prompt shows, as a person types.
  const entries = typed.split('\r').filter((e) => e !== '').map((e) => `${e}\r`);
  let prompts = 0;
  const typeIt = setInterval(() => {
    const shown = (screen.match(/passphrase: |Again: /g) ?? []).length;
    if (shown > prompts && entries.length > 0) {
      prompts = shown;
      child.stdin.write(entries.shift()!);
    }
  }, 50);
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return new Promise((resolve) => child.on('close', (code) => {
    clearInterval(typeIt);
    clearTimeout(timer);
    resolve({ code, screen });
  }));
}

describe('the root-key passphrase on a terminal', () => {
  it('is asked twice for a fresh store, once at a restart, and a wrong one stops the start', async () => {
    const dataDir = tempDir();
    const started = await onTerminal(['serve', '--port', '0', '--data-dir', dataDir, '--root-key', 'passphrase'], 'typed at the prompt\rtyped at the prompt\r', cleanEnv(), /Coffer is listening/);
    assert.match(started.screen, /New root-key passphrase: /);
    assert.match(started.screen, /Again: /);
    assert.match(started.screen, /Coffer is listening/);
    assert.equal(started.screen.includes('typed at the prompt'), false, 'the passphrase is not echoed');
    const wrong = await onTerminal(['serve', '--port', '0', '--data-dir', dataDir], 'typed elsewhere\r', cleanEnv());
    assert.equal(wrong.code, 1, wrong.screen);
    assert.match(wrong.screen, /error: The root-key passphrase is wrong/);
    const again = await onTerminal(['serve', '--port', '0', '--data-dir', dataDir], 'typed at the prompt\r', cleanEnv(), /Coffer is listening/);
    assert.match(again.screen, /Coffer is listening/);
  });
});
