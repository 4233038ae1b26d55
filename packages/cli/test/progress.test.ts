import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';

const PROGRESS = fileURLToPath(new URL('../src/crypt/progress.js', import.meta.url));

/** What a terminal shows of `script` (a node program) run on it by util-linux `script`. */
function onTerminal(script: string): Promise<string> {
  const command = `'${process.execPath}' --input-type=module -e '${script}'`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { stdio: ['pipe', 'pipe', 'ignore'] });
  let screen = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (screen += s));
  return new Promise((done) => child.on('close', () => done(screen)));
}

const HIDE_CURSOR = '\x1b[?25l';
const SHOW_CURSOR = '\x1b[?25h';
const WRAP_OFF = '\x1b[?7l';
const WRAP_ON = '\x1b[?7h';

it('the progress bar gives the terminal its cursor and line wrapping back when the command exits midway (an error)', async () => {
  const screen = await onTerminal(`const { startProgress } = await import("${PROGRESS}"); startProgress(1000, false).add(10); process.exit(1);`);
  assert.ok(screen.includes(HIDE_CURSOR) && screen.includes(WRAP_OFF), `the bar did not show: ${JSON.stringify(screen)}`);
  assert.ok(screen.lastIndexOf(SHOW_CURSOR) > screen.lastIndexOf(HIDE_CURSOR), `the cursor stays hidden: ${JSON.stringify(screen)}`);
  assert.ok(screen.lastIndexOf(WRAP_ON) > screen.lastIndexOf(WRAP_OFF), `line wrapping stays off: ${JSON.stringify(screen)}`);
});

it('a command stopped by a signal erases the bar and says why after it, and nothing erases that line again', async () => {
  const screen = await onTerminal(`const { abandonProgress, startProgress } = await import("${PROGRESS}"); startProgress(1000, false).add(10); abandonProgress(); process.stderr.write("SIGINT: stopped\\n"); process.exit(130);`);
  const said = screen.lastIndexOf('SIGINT: stopped');
  assert.ok(said > screen.lastIndexOf(SHOW_CURSOR) && said > screen.lastIndexOf(WRAP_ON), `the modes were not given back before the message: ${JSON.stringify(screen)}`);
  const after = screen.slice(said);
  // The bar's own stop moves the cursor back to where it started (ESC 8) and clears that line.
  assert.ok(!after.includes('\x1b8') && !after.includes('\x1b[2K') && !after.includes('\x1b[0K'), `the message's line was redrawn or cleared: ${JSON.stringify(screen)}`);
});
