import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Logger } from '../log.js';

/**
 * Bounds on connections, so that clients holding connections open (idle, or sending a request a
 * byte at a time) cannot take every file descriptor of the process, which the store's files, TLS
 * and the log need too, nor keep one for minutes. A KMS request is a few KB sent at once: a
 * client that needs longer than these is not one the server should wait for.
 */
export interface ConnectionLimits {
  /** Open connections at most; one more is closed as it arrives (and counted in the log). */
  readonly maxConnections: number;
  /** From a connection's start (or its last answer) to its request's last header line. */
  readonly headersTimeoutMs: number;
  /** From a request's start to its body's end. */
  readonly requestTimeoutMs: number;
  /** How often node:http looks for connections past those times: each waits up to this longer. */
  readonly checkEveryMs: number;
}

/** Descriptors left to the process besides connections: the store, its WAL, TLS, the log, workers. */
const RESERVED_DESCRIPTORS = 256;
const MAX_CONNECTIONS = 10_000;

export function defaultConnectionLimits(): ConnectionLimits {
  return {
    maxConnections: Math.max(64, Math.min(MAX_CONNECTIONS, openFileLimit() - RESERVED_DESCRIPTORS)),
    headersTimeoutMs: 20_000,
    requestTimeoutMs: 60_000,
    checkEveryMs: 5_000,
  };
}

/**
 * The process's limit on open files (Node raises the soft limit to the hard one at start), read
 * from /proc on Linux; elsewhere assumed to allow the maximum.
 */
function openFileLimit(): number {
  try {
    const line = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    if (line && line[1] !== 'unlimited') return Number(line[1]);
  } catch {
    // Not Linux.
  }
  return MAX_CONNECTIONS + RESERVED_DESCRIPTORS;
}

/** The options node:http takes only at creation. */
export const creationOptions = (limits: ConnectionLimits) => ({ connectionsCheckingInterval: limits.checkEveryMs });

/**
 * Sets the limits on a server. A connection refused for the limit is logged at once; more within
 * the next 10 s are counted in one line at its end, so a flood of them is a line every 10 s.
 */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits, log: Logger): void {
  server.maxConnections = limits.maxConnections;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  const refused = (count: number) => log('warn', 'connections refused', {
    count, maxConnections: limits.maxConnections, reason: 'the server holds as many open connections as it takes',
  });
  let since = 0;
  let window: NodeJS.Timeout | undefined;
  server.on('drop', () => {
    if (window !== undefined) {
      since++;
      return;
    }
    refused(1);
    window = setTimeout(() => {
      if (since > 0) refused(since);
      since = 0;
      window = undefined;
    }, 10_000).unref();
  });
}
