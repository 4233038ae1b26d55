import cliProgress from 'cli-progress';

/** Progress of long work on standard error: bytes, rate and ETA. Silent when stderr is no terminal, or with --quiet. */
export interface Progress {
  add(bytes: number): void;
  stop(): void;
}

const SILENT: Progress = { add: () => {}, stop: () => {} };

function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

const CLEAR_LINE = '\r\x1b[2K';
const LINE_WRAP_ON = '\x1b[?7h';
const SHOW_CURSOR = '\x1b[?25h';

/** The bar showing, if one is: erasing it and giving the terminal back its modes. */
let abandoned: (() => void) | undefined;

/**
 * Erases the bar showing, if any, and gives the terminal back its cursor and line wrapping, without
 * drawing it again (as its stop would): for a command about to exit on a signal, before it says why.
 */
export function abandonProgress(): void {
  abandoned?.();
}

export function startProgress(totalBytes: number | undefined, quiet: boolean): Progress {
  if (quiet || !process.stderr.isTTY || totalBytes === undefined) return SILENT;
  const started = Date.now();
  const bar = new cliProgress.SingleBar({
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
    etaBuffer: 50,
    format: (options, params, payload: { done: string; rate: string }) =>
      `${cliProgress.Format.BarFormat(params.progress, options)} ${Math.floor(params.progress * 100)}% | ${payload.done} | ${payload.rate}/s | ETA ${params.eta}s`,
  }, cliProgress.Presets.shades_classic);
  let done = 0;
  const payload = () => {
    const seconds = Math.max((Date.now() - started) / 1000, 0.001);
    return { done: `${humanBytes(done)}/${humanBytes(totalBytes)}`, rate: humanBytes(Math.round(done / seconds)) };
  };
  // The bar hides the cursor and turns line wrapping off until it stops: a command ended by a
  // signal (Ctrl-C) exits without stopping it, and would leave the terminal so (abandonProgress).
  const restoreTerminal = () => {
    abandoned = undefined;
    process.off('exit', restoreTerminal);
    process.stderr.write(`${CLEAR_LINE}${LINE_WRAP_ON}${SHOW_CURSOR}`);
  };
  abandoned = restoreTerminal;
  process.once('exit', restoreTerminal);
  bar.start(Math.max(totalBytes, 1), 0, payload());
  return {
    add: (bytes) => {
      done += bytes;
      bar.update(Math.min(done, Math.max(totalBytes, 1)), payload());
    },
    stop: () => {
      abandoned = undefined;
      process.off('exit', restoreTerminal);
      bar.stop();
    },
  };
}
