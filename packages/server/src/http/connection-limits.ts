import { readFileSync } from 'node:fs';
import type { Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Server as TlsServer } from 'node:tls';
import type { Logger } from '../log.js';
import { IdleConnections } from './idle-connections.js';
import { closeStalledAnswers } from './stalled-answers.js';

/**
 * Bounds on connections, so that clients holding connections open (idle, or sending a request a
 * byte at a time) cannot take every file descriptor of the process, which the store's files, TLS
 * and the log need too, nor keep one for minutes. A KMS request is a few KB sent at once: a
 * client that needs longer than these is not one the server should wait for.
 */
export interface ConnectionLimits {
  /**
   * Open connections at most. One more closes the connection idle the longest to make room
   * (idle-connections.ts), or, when every connection is busy with a request, is closed itself as it
   * arrives; either is counted in the log.
   */
  readonly maxConnections: number;
  /** From a connection's start (or its last answer) to its request's last header line. */
  readonly headersTimeoutMs: number;
  /** From a request's start to its body's end. */
  readonly requestTimeoutMs: number;
  /** How long an ended answer may wait on a client that takes none of it before its connection is closed (stalled-answers.ts). */
  readonly answerTimeoutMs: number;
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
    answerTimeoutMs: 60_000,
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
 * Sets the limits on a server, and returns what makes room for a new connection at the limit: the
 * server tells it of each connection's requests (idle-connections.ts). A connection closed or
 * refused for the limit is logged at once; more within the next 10 s are counted in one line at its
 * end, so a flood of them is a line every 10 s.
 */
export function applyConnectionLimits(server: Server, limits: ConnectionLimits, log: Logger): IdleConnections {
  // One above: the limit is kept by IdleConnections, which must see the connection past it to close
  // an idle one for it; node's own drops it unseen, and stays only as a bound should that fail.
  server.maxConnections = limits.maxConnections + 1;
  server.headersTimeout = limits.headersTimeoutMs;
  server.requestTimeout = limits.requestTimeoutMs;
  const refused = countedInBursts((count) => log('warn', 'connections refused', {
    count, maxConnections: limits.maxConnections, reason: 'the server holds as many open connections as it takes, none of them idle',
  }));
  const closedIdle = countedInBursts((count) => log('warn', 'idle connections closed', {
    count, maxConnections: limits.maxConnections, reason: 'the server held as many open connections as it takes: the one idle the longest made room for a new one',
  }));
  // An https server's connections arrive raw, and are opened when their handshake is done.
  const connections = new IdleConnections(limits.maxConnections, { closedIdle, refused }, server instanceof TlsServer);
  server.on('connection', (raw: Socket) => connections.arrived(raw));
  server.on('drop', refused);
  return connections;
}

/**
 * Closes the connections of answers in `inFlight` that their clients stopped taking
 * (stalled-answers.ts), logged as the limits' other closings are. Returns what stops it.
 */
export function watchStalledAnswers(inFlight: ReadonlySet<ServerResponse>, limits: ConnectionLimits, log: Logger): () => void {
  const closed = countedInBursts((count) => log('warn', 'stalled answers closed', {
    count, answerTimeoutMs: limits.answerTimeoutMs, reason: 'the client took none of its answer for that long',
  }));
  return closeStalledAnswers(inFlight, limits.answerTimeoutMs, limits.checkEveryMs, closed);
}

/** `report(1)` at the first event, then `report(count)` at the end of 10 s for the events in them. */
function countedInBursts(report: (count: number) => void): () => void {
  let since = 0;
  let window: NodeJS.Timeout | undefined;
  return () => {
    if (window !== undefined) {
      since++;
      return;
    }
    report(1);
    window = setTimeout(() => {
      if (since > 0) report(since);
      since = 0;
      window = undefined;
    }, 10_000).unref();
  };
}
