import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/**
 * The requests one connection may have in flight at once. No AWS client pipelines (each sends its
 * next request when an answer has come); the bound is for one that sends thousands without reading
 * the answers.
 */
export const MAX_IN_FLIGHT_PER_CONNECTION = 32;

const inFlight = new WeakMap<Socket, number>();

/**
 * An answer given before the pipeline, which reads no operation: its log line, and its count among
 * the answers (coffer_requests_total, GetRequestMetrics) under the operation "unknown".
 */
export type AnsweredAside = (fields: { readonly requestId: string; readonly status: number; readonly error: string; readonly reason?: string }) => void;

/**
 * Counts the request against its connection, or refuses it at once when the connection already has
 * MAX_IN_FLIGHT_PER_CONNECTION requests in flight: ThrottlingException (the SDKs retry it), and the
 * connection is closed once the requests before it are answered.
 *
 * Why at once: node:http reads a connection on while its requests are in flight, and stops only
 * once the answers it holds unsent pass the socket's high-water mark. A request still in flight has
 * no answer yet, so a client that pipelines without reading had every request it sent taken in
 * (12,000 on each connection, some 90 MB), until the first answers came. A refusal is an answer, so
 * node:http stops reading after a few of them.
 *
 * Not audited, as node:http's own refusals are not (docs/audit.md): nothing of the request was
 * read. Its log line carries the request id it is answered with.
 */
export function admitRequest(req: IncomingMessage, res: ServerResponse, answered: AnsweredAside): boolean {
  const socket = req.socket;
  const count = inFlight.get(socket) ?? 0;
  // Counted admitted or not, until its answer closes (requestClosed): a refusal is in flight too.
  inFlight.set(socket, count + 1);
  if (count < MAX_IN_FLIGHT_PER_CONNECTION) return true;
  refuse(res, answered);
  return false;
}

/**
 * A request counted by admitRequest is answered (its response closed). Called from the 'close'
 * listener the server puts on every response already, rather than from one more of our own.
 * Returns the requests still in flight on the connection: at 0 it is idle (idle-connections.ts).
 */
export function requestClosed(socket: Socket | null | undefined): number {
  const count = socket ? inFlight.get(socket) : undefined;
  if (count === undefined) return 0;
  inFlight.set(socket!, count - 1);
  return count - 1;
}

function refuse(res: ServerResponse, answered: AnsweredAside): void {
  const requestId = randomUUID();
  const code = 'ThrottlingException';
  const body = JSON.stringify({
    __type: code,
    message: `This connection has ${MAX_IN_FLIGHT_PER_CONNECTION} requests in flight; send the next when an answer has come.`,
  });
  answered({ requestId, status: 400, error: code });
  res.writeHead(400, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(body),
    'x-amzn-RequestId': requestId,
    'x-amzn-ErrorType': code,
    Connection: 'close',
  });
  res.end(body);
}
