import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { cleanEnv, MAIN, removeTempDirs, tempDir } from './support/cli.js';

after(removeTempDirs);

interface TerminalRun {
  readonly code: number | null;
  readonly screen: string;
  /** The command's process (it replaced the shell `script` started): gone once the run resolves. */
  readonly pid: number;
  /** Whether that process still ran 15 s after `script` ended; it is killed then. */
  readonly outlived: boolean;
}

/** Whether a process is gone (or a zombie its new parent has yet to reap). */
function isGone(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /s, '').startsWith('Z');
  } catch {
    return true;
  }
}

/**
 * Runs `coffer` on a pseudo-terminal (util-linux `script`), so standard input and output are a
 * TTY, typing `typed` into it. Once the screen matches `stopWhen`, `script` gets `signal` once:
 * SIGTERM makes it pass a SIGTERM on (and SIGKILL the command 2 s later); SIGKILL closes the
 * terminal, a hangup. Resolves once the command's process is gone too (a server that outlives its
 * terminal would hold the data directory from the next start), with what the terminal showed.
 */
async function onTerminal(
  args: readonly string[], typed: string, env: NodeJS.ProcessEnv,
  stopWhen?: RegExp, signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM', stderrFile?: string,
): Promise<TerminalRun> {
  const pidFile = join(tempDir(), 'pid');
  const quoted = [process.execPath, MAIN, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  // The shell writes its pid, then becomes the command: the session's leader, which a hangup signals.
  const command = `echo $$ > '${pidFile}'; exec ${quoted}${stderrFile ? ` 2>'${stderrFile}'` : ''}`;
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let screen = '';
  let signalled = false;
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    screen += s;
    // Once: a second SIGTERM would end `script` at once, before the command it signalled has ended.
    if (!signalled && stopWhen?.test(screen)) {
      signalled = true;
      child.kill(signal);
    }
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
  // A prompt written to a standard error sent to a file shows there, not on the screen.
  const watchLog = stderrFile && stopWhen ? setInterval(() => {
    if (!signalled && existsSync(stderrFile) && stopWhen.test(readFileSync(stderrFile, 'utf8'))) {
      signalled = true;
      child.kill(signal);
    }
  }, 50) : undefined;
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearInterval(typeIt);
  clearInterval(watchLog);
  clearTimeout(timer);
  const pid = Number(readFileSync(pidFile, 'utf8'));
  let outlived = true;
  for (let waited = 0; waited < 15_000; waited += 100) {
    if (isGone(pid)) {
      outlived = false;
      break;
    }
    await sleep(100);
  }
  if (outlived) process.kill(pid, 'SIGKILL');
  return { code, screen, pid, outlived };
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

describe('the passphrase prompt', () => {
  it('takes a terminal\'s line editing: Ctrl-U erases the line, Ctrl-W the last word (up to a hyphen, as a terminal\'s own)', async () => {
    const dataDir = tempDir();
    const started = await onTerminal(['serve', '--port', '0', '--data-dir', dataDir, '--root-key', 'passphrase'],
      'mistyped\u0015typed at-the-prompt\rtyped at-the-junk\u0017prompt\r', cleanEnv(), /Coffer is listening/);
    assert.match(started.screen, /Coffer is listening/, 'the two entries are one passphrase');
    const again = await onTerminal(['serve', '--port', '0', '--data-dir', dataDir], '', cleanEnv({ COFFER_ROOT_PASSPHRASE: 'typed at-the-prompt' }), /Coffer is listening/);
    assert.match(again.screen, /Coffer is listening/, 'the passphrase is what the line showed, without the erased keys');
  });

  it('ends at Ctrl-D on an empty line, exiting 2', async () => {
    const ended = await onTerminal(['serve', '--port', '0', '--data-dir', tempDir(), '--root-key', 'passphrase'], '\u0004', cleanEnv());
    assert.equal(ended.code, 2, ended.screen);
    assert.match(ended.screen, /error: no passphrase: end of input \(Ctrl-D\) at the prompt/);
  });

  it('fails cleanly when its terminal closes: the process ends, Node does not abort at exit', async () => {
    const log = join(tempDir(), 'stderr');
    // Standard error to a file (the prompt with it); input and output stay the terminal.
    const closed = await onTerminal(['serve', '--port', '0', '--data-dir', tempDir(), '--root-key', 'passphrase'], '', cleanEnv(), /New root-key passphrase: /, 'SIGKILL', log);
    assert.equal(closed.outlived, false);
    await sleep(500);
    assert.doesNotMatch(readFileSync(log, 'utf8'), /Assertion failed|Native stack trace/);
  });
});

describe('a server whose terminal closes', () => {
  it('started apart from it (setsid), outlives it, and takes a later SIGHUP for an operator\'s: a reload, not a stop', async () => {
    const dataDir = tempDir();
    const files = tempDir();
    const pidFile = join(files, 'pid');
    const log = join(files, 'log');
    const serve = [process.execPath, MAIN, 'serve', '--port', '0', '--data-dir', dataDir].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    // Its standard input stays the terminal; the hangup sends it no signal (another session).
    const command = `setsid -f sh -c 'echo $$ > ${pidFile}; exec ${serve.replace(/'/g, `'\\''`)}' > '${log}' 2>&1; sleep 60`;
    const terminal = spawn('script', ['-qfec', command, '/dev/null'], { env: cleanEnv({ COFFER_ROOT_PASSPHRASE: 'a passphrase for the setsid test' }), stdio: ['pipe', 'ignore', 'ignore'] });
    const logged = () => (existsSync(log) ? readFileSync(log, 'utf8') : '');
    let pid = 0;
    try {
      for (let i = 0; i < 300 && !/Coffer is listening/.test(logged()); i++) await sleep(100);
      assert.match(logged(), /Coffer is listening/);
      pid = Number(readFileSync(pidFile, 'utf8'));
      terminal.kill('SIGKILL');
      // Past the moments after the hangup in which a SIGHUP is taken for it.
      await sleep(3_000);
      assert.equal(isGone(pid), false, `the server ended with its terminal: ${logged()}`);
      process.kill(pid, 'SIGHUP');
      for (let i = 0; i < 50 && !/SIGHUP: not serving TLS/.test(logged()); i++) await sleep(100);
      assert.match(logged(), /"msg":"SIGHUP: not serving TLS: nothing to reload"/);
      await sleep(500);
      assert.equal(isGone(pid), false, `an operator's SIGHUP stopped it: ${logged()}`);
      assert.doesNotMatch(logged(), /the terminal closed/);
    } finally {
      terminal.kill('SIGKILL');
      if (pid && !isGone(pid)) process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && pid && !isGone(pid); i++) await sleep(100);
    }
  });

  it('stops as on SIGTERM, closing its store, and ends by SIGHUP rather than serving on as an orphan', async () => {
    const dataDir = tempDir();
    const log = join(tempDir(), 'stderr');
    const env = cleanEnv({ COFFER_ROOT_PASSPHRASE: 'a passphrase for the hangup test' });
    const served = await onTerminal(['serve', '--port', '0', '--data-dir', dataDir], '', env, /Coffer is listening/, 'SIGKILL', log);
    assert.equal(served.outlived, false, `the server still ran 15 s after its terminal closed: ${readFileSync(log, 'utf8')}`);
    const lines = readFileSync(log, 'utf8');
    assert.match(lines, /"msg":"SIGHUP \(the terminal closed\): finishing in-flight requests and closing the store"/);
    // Node's exit would have aborted, failing to restore the closed terminal's modes.
    assert.doesNotMatch(lines, /Assertion failed|Native stack trace/);
    // The data directory is free and its store whole: a start on it serves.
    const again = await onTerminal(['serve', '--port', '0', '--data-dir', dataDir], '', env, /Coffer is listening/);
    assert.match(again.screen, /Coffer is listening/);
  });
});
