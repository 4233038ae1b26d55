import { pino, type DestinationStream } from 'pino';

/**
 * Structured log lines. Callers pass only what is safe to record: ids, names, sizes, outcomes.
 * Request and response bodies are never logged, so no plaintext, data key or secret can be.
 * Every line a request produces carries its `requestId`, the id its response's `x-amzn-RequestId` has.
 */
export type LogLevel = 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

/** A logger whose buffered lines can be written out before the process stops. */
export type FlushableLogger = Logger & { flush(): Promise<void> };

/**
 * JSON lines through pino: `{"level":"info","time":"<ISO 8601>","msg":"...", ...fields}`. By default
 * to stderr through an asynchronous destination (the request path does not wait for the write);
 * `flush` writes out what is buffered, and the server calls it when it closes. `write` takes each
 * line instead (tests read them). `fields` go into every line (`coffer serve --workers` adds the
 * worker's number).
 */
export function jsonLogger(write?: (line: string) => void, fields?: Readonly<Record<string, string | number>>): FlushableLogger {
  const destination: DestinationStream & { flush?: (cb?: (error?: Error) => void) => void } = write
    ? { write }
    : stderrDestination();
  const logger = pino({
    base: fields ?? undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  }, destination);
  const log = ((level, message, fields) => {
    if (fields) logger[level](fields, message);
    else logger[level](message);
  }) as FlushableLogger;
  log.flush = () => new Promise<void>((done) => {
    if (!destination.flush) return done();
    destination.flush(() => done());
  });
  return log;
}

export const silentLogger: Logger = () => {};

/** How many bytes of log lines wait while stderr cannot be written; lines past it are dropped. */
const MAX_WAITING_LOG_BYTES = 16 * 1024 * 1024;

/**
 * pino's asynchronous destination on stderr, made to outlast a stderr that cannot be written: a
 * redirected log on a full disk (ENOSPC) or a failing one (EIO). Left alone, sonic-boom emits the
 * write's error, which nothing handles, and the process dies; then pino's exit hook calls flushSync,
 * which retries any failing write but EAGAIN forever: the server neither serves nor exits. Here the
 * error is taken (the lines stay buffered, up to MAX_WAITING_LOG_BYTES, and the next line tries
 * again, so logging resumes once there is space) and, while writes fail, the exit hook's flushSync
 * gives up on the lines instead of retrying them forever.
 */
function stderrDestination(): ReturnType<typeof pino.destination> {
  const destination = pino.destination({ dest: 2, sync: false, maxLength: MAX_WAITING_LOG_BYTES });
  let failing = false;
  destination.on('error', () => (failing = true));
  destination.on('write', () => (failing = false));
  const flushSync = destination.flushSync.bind(destination);
  destination.flushSync = () => {
    if (!failing) flushSync();
  };
  return destination;
}

/**
 * Sends the process's warnings to `log` instead of Node's default printer, whose plain-text lines
 * would break a JSON-lines log: Node's own, and those libraries raise with `process.emitWarning`
 * (the AWS SDK, loaded for a `kms` root key, warns of the Node versions it will drop). For the
 * process that owns stderr (`coffer serve`), not for a server embedded in an application, whose
 * warnings are the application's to handle.
 */
export function logProcessWarnings(log: Logger): void {
  process.removeAllListeners('warning');
  process.on('warning', (warning) => log('warn', 'process warning', { warning: warning.name, message: warning.message }));
}
