import { isatty } from 'node:tty';

/**
 * Tells a SIGHUP sent because the process's terminal closed (its window shut, its SSH session
 * dropped) from one an operator sends to reload the TLS certificate. The first should stop a
 * server started on that terminal, as it stops every other program there; had `coffer serve`
 * reloaded instead, it would keep serving (and holding its port and data directory) as an orphan
 * whose log lines go nowhere.
 *
 * Once a terminal hangs up, the kernel fails every operation on its descriptors, so `isatty` says
 * no for a standard descriptor that said yes at the start. A server started with none (systemd, a
 * container, output redirected) never takes a SIGHUP for a hangup.
 */
export function terminalHangupCheck(): () => boolean {
  const terminals = [0, 1, 2].filter((fd) => isatty(fd));
  return () => terminals.some((fd) => !isatty(fd));
}

/** How long after its terminal is first seen closed a SIGHUP is still taken for the hangup's. */
const HANGUP_SIGNAL_WINDOW_MS = 2_000;

/**
 * Whether a SIGHUP arriving now is the hangup's: the terminal is closed, and was seen open until
 * moments ago (checked twice a second). A process that outlived its terminal (started with
 * `setsid`, or a background job `disown`ed: the hangup sent it no signal) takes every later SIGHUP
 * for an operator's.
 */
export function hangupSignalCheck(): () => boolean {
  const terminalClosed = terminalHangupCheck();
  let closedSince: number | undefined;
  if (!terminalClosed()) {
    const watch = setInterval(() => {
      if (!terminalClosed()) return;
      closedSince ??= Date.now();
      clearInterval(watch);
    }, 500).unref();
  }
  return () => {
    if (!terminalClosed()) return false;
    closedSince ??= Date.now();
    return Date.now() - closedSince <= HANGUP_SIGNAL_WINDOW_MS;
  };
}

/**
 * Makes every command whose terminal hung up end by SIGHUP's default action (status 129 to a
 * shell), as a hangup ends a program that does not handle it, once it is done: a server stopped
 * for the hangup, a decryption that removed its partial file, a prompt that lost its terminal. A
 * normal exit would abort instead, Node asserting when it cannot restore the terminal's modes
 * (`ResetStdio`: tcsetattr on a hung-up terminal fails with EIO), with a native stack trace and a
 * core dump. Installed once, first thing in main.ts.
 */
export function endByHangupOnceTerminalClosed(): void {
  const terminalClosed = terminalHangupCheck();
  process.on('exit', () => {
    if (!terminalClosed()) return;
    process.removeAllListeners('SIGHUP');
    process.kill(process.pid, 'SIGHUP');
  });
}
