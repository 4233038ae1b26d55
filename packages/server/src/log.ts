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
    : pino.destination({ dest: 2, sync: false });
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
