/**
 * Structured log lines. Callers pass only what is safe to record: ids, names, sizes, outcomes.
 * Request and response bodies are never logged, so no plaintext, data key or secret can be.
 */
export type LogLevel = 'info' | 'warn' | 'error';
export type Logger = (level: LogLevel, message: string, fields?: Record<string, unknown>) => void;

export const jsonLogger = (write: (line: string) => void = (line) => process.stderr.write(line)): Logger =>
  (level, message, fields) => {
    write(JSON.stringify({ time: new Date().toISOString(), level, message, ...fields }) + '\n');
  };

export const silentLogger: Logger = () => {};
