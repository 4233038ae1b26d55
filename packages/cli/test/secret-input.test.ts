import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const SECRET_INPUT = fileURLToPath(new URL('../src/secret-input.js', import.meta.url));

/**
 * Runs promptSecret on a pseudo-terminal (util-linux `script`), writing each of `reads` to it
 * once the question shows, apart, so the prompt gets them in separate reads. Resolves with what
 * the prompt answered, as JSON on the screen.
 */
async function prompted(reads: readonly Buffer[]): Promise<string> {
  const program = `const { promptSecret } = await import("${SECRET_INPUT}"); process.stdout.write("[" + JSON.stringify(await promptSecret("passphrase: ")) + "]");`;
  const child = spawn('script', ['-qfec', `'${process.execPath}' --input-type=module -e '${program}'`, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (screen += s));
  const closed = new Promise<void>((done) => child.on('close', () => done()));
  for (let i = 0; i < 200 && !screen.includes('passphrase: '); i++) await sleep(50);
  for (const read of reads) {
    child.stdin.write(read);
    await sleep(300);
  }
  await closed;
  const answer = /\[(".*")\]/.exec(screen);
  assert.ok(answer, `no answer on the screen: ${JSON.stringify(screen)}`);
  return JSON.parse(answer[1]!) as string;
}

it('takes a character whose bytes come in two reads (a long paste) whole', async () => {
  const typed = Buffer.from('pä€😀\r', 'utf8');
  // Cut inside ä (2 bytes), inside € (3) and inside 😀 (4).
  const answer = await prompted([typed.subarray(0, 2), typed.subarray(2, 5), typed.subarray(5, 9), typed.subarray(9)]);
  assert.equal(answer, 'pä€😀');
});

it('Ctrl-W erases the last word as a terminal does: letters and digits, back to a hyphen or a blank', async () => {
  assert.equal(await prompted([Buffer.from('pass-junk\u0017word\r')]), 'pass-word');
  assert.equal(await prompted([Buffer.from('two wörds  \u0017\r')]), 'two ');
});
