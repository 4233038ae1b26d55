import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readSecretFile } from '../src/secret-input.js';
import { UsageError } from '../src/usage.js';

const SECRET_INPUT = fileURLToPath(new URL('../src/secret-input.js', import.meta.url));

/**
 * Runs promptSecret on a pseudo-terminal (util-linux `script`), writing each of `reads` to it
 * once the question shows, apart, so the prompt gets them in separate reads. Resolves with what
 * the prompt answered, as JSON on the screen.
 */
async function prompted(reads: readonly Buffer[]): Promise<string | { refused: string }> {
  const program = `const { promptSecret } = await import("${SECRET_INPUT}"); const answer = await promptSecret("passphrase: ").catch((e) => ({ refused: e.message })); process.stdout.write("[" + JSON.stringify(answer) + "]");`;
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
  const answer = /\[(".*"|\{.*\})\]/.exec(screen);
  assert.ok(answer, `no answer on the screen: ${JSON.stringify(screen)}`);
  return JSON.parse(answer[1]!) as string | { refused: string };
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

it('refuses typed bytes that are not UTF-8 (a Latin-1 terminal): each such byte would become U+FFFD', async () => {
  assert.deepEqual(await prompted([Buffer.from([0x70, 0xe4, 0x73, 0x73, 0x0d])]), { refused: 'what was typed is not UTF-8 text' });
});

/** What secretFromEnv answers in a process whose environment holds `bytes` (a shell's printf escapes) as COFFER_TEST_SECRET. */
function fromEnvironment(printfBytes: string): { answer?: string; refused?: string } {
  const program = `const { secretFromEnv } = await import("${SECRET_INPUT}"); let out; try { out = { answer: secretFromEnv("COFFER_TEST_SECRET", "test secret") }; } catch (e) { out = { refused: e.message }; } process.stdout.write(JSON.stringify(out));`;
  const shell = `COFFER_TEST_SECRET="$(printf '${printfBytes}')" exec '${process.execPath}' --input-type=module -e '${program}'`;
  return JSON.parse(execFileSync('sh', ['-c', shell], { encoding: 'utf8' })) as { answer?: string; refused?: string };
}

it('refuses a secret in the environment that is not UTF-8, and takes one that is (U+FFFD itself included)', () => {
  assert.deepEqual(fromEnvironment('pass\\377\\376word'), { refused: 'the test secret in COFFER_TEST_SECRET is not UTF-8 text' });
  assert.deepEqual(fromEnvironment('p\\303\\244ss\\357\\277\\275word'), { answer: 'päss\uFFFDword' });
  assert.deepEqual(fromEnvironment(''), {});
});

it('refuses a secret file whose first line is not UTF-8, and reads no further than that line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-secret-'));
  try {
    const file = join(dir, 'secret');
    writeFileSync(file, Buffer.concat([Buffer.from('pass'), Buffer.from([0xff, 0xfe]), Buffer.from('word\n')]));
    assert.throws(() => readSecretFile(file, 'test secret'), (error: Error) => error instanceof UsageError && /is not UTF-8 text$/.test(error.message));
    writeFileSync(file, Buffer.concat([Buffer.from('päss\uFFFDword\n'), Buffer.from([0xff])]));
    assert.equal(readSecretFile(file, 'test secret'), 'päss\uFFFDword');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
