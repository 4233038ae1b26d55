import type { IncomingMessage, ServerResponse } from 'node:http';
import { ThrottlingException, ValidationException } from '../errors.js';

/**
 * The client went away (closed the connection, or node:http timed it out) before its body ended:
 * nothing to answer, and nothing wrong with the server.
 */
export class RequestAbortedError extends Error {
  constructor() {
    super('the client closed the connection before the request body ended');
  }
}

/** The largest request body accepted: well above any KMS request (a 32 KB policy, a 4 KB plaintext). */
export const MAX_BODY_BYTES = 256 * 1024;

/**
 * The bytes that the bodies still arriving may hold together. A KMS body is small and arrives in
 * milliseconds, but node:http waits up to its request timeout (60 s, http/connection-limits.ts)
 * for one sent slowly, and no signature can be checked before the body is in: without this bound,
 * clients holding many connections with large unfinished bodies could make the server hold 256 KiB
 * for each.
 */
export const MAX_RECEIVING_BYTES = 64 * 1024 * 1024;

/**
 * The connections of bodies refused before they ended. Each is closed once the refusal is answered
 * (app.ts, sts.ts), and what its client pipelined behind the refused body is not run: node:http
 * parses the requests that follow the dropped rest of the body and hands them on, but a server
 * that answers 'close' "MUST NOT process any further requests received on that connection" (RFC
 * 9112, 9.6). Their clients never get an answer, so must not find them done.
 */
const closing = new WeakSet<object>();

/** Whether the request came on a connection that closes after a refused body: it is not to be run. */
export const behindRefusedBody = (req: IncomingMessage): boolean => closing.has(req.socket);

/** Marks the request's connection as closing after its refused body. (A request of node:http always has its socket; one made up in a test may not.) */
const closeAfterRefusal = (req: IncomingMessage) => req.socket && closing.add(req.socket);

/**
 * For a failure answered before the request's body was read to its end (refused part-way, or
 * refused by its length): the answer says `Connection: close`, and the connection is dropped once it
 * is sent, rather than the rest read. Called before anything is awaited: meanwhile the rest of a
 * refused body may arrive and be dropped, and the request then looks complete.
 */
export function closeIfBodyUnread(req: IncomingMessage, res: ServerResponse): void {
  if (req.complete && !behindRefusedBody(req)) return;
  res.setHeader('Connection', 'close');
  res.on('finish', () => req.destroy());
}

/** The bodies being received, in the order they started; each can be refused to make room. */
const receiving = new Set<{ size: number; refuse: () => void }>();
let receivingBytes = 0;

/**
 * Reads the whole body, refusing early (by Content-Length or as bytes arrive) past the limit.
 * When the bodies being received together pass `budget`, those that started first are refused
 * (ThrottlingException, which the SDKs retry) until this one fits: a body sent at once is never
 * kept out by bodies that are not arriving.
 *
 * The body is held in one buffer, never as the list of chunks node:http delivers: a chunked body
 * may come as one-byte chunks, each a Buffer object of its own (some 200 bytes of heap), so a list
 * would hold about 200 times the bytes the budget counts. The buffer is what the budget counts.
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES, budget = MAX_RECEIVING_BYTES): Promise<Buffer> {
  const tooLarge = () => new ValidationException(`The request body is larger than the limit of ${limit} bytes.`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) {
    closeAfterRefusal(req);
    throw tooLarge();
  }
  // Stream events rather than `for await`: the async iterator costs a promise and a microtask
  // turn per chunk, on every request.
  return new Promise((done, fail) => {
    // The body while it is one chunk, as most are: kept as it came, without a copy.
    let first: Buffer | undefined;
    // From the second chunk on: one buffer of the declared length, or one that doubles as it fills.
    let joined: Buffer | undefined;
    let size = 0;
    // Refused: the rest is read and dropped (a `data` listener stays) until the pipeline has
    // answered and drops the connection, so the client can read the answer.
    const refuse = (error: Error) => {
      closeAfterRefusal(req);
      cleanup();
      req.on('data', () => {});
      fail(error);
    };
    const entry = {
      size: 0,
      refuse: () => refuse(new ThrottlingException('The server is receiving too many request bodies at once. Retry the request.')),
    };
    receiving.add(entry);
    const onData = (chunk: Buffer) => {
      const total = size + chunk.length;
      if (total > limit) return refuse(tooLarge());
      if (first === undefined && joined === undefined) {
        first = chunk;
      } else {
        if (joined === undefined || joined.length < total) {
          const capacity = Math.min(limit, Math.max(total, declared, 2 * (joined?.length ?? size), 4096));
          const grown = Buffer.alloc(capacity);
          (joined ?? first!).copy(grown, 0, 0, size);
          joined = grown;
          first = undefined;
        }
        chunk.copy(joined, size);
      }
      size = total;
      const held = joined?.length ?? size;
      receivingBytes += held - entry.size;
      entry.size = held;
      for (const other of receiving) {
        if (receivingBytes <= budget) break;
        if (other !== entry) other.refuse();
      }
    };
    const onEnd = () => {
      cleanup();
      done(joined?.subarray(0, size) ?? first ?? Buffer.alloc(0));
    };
    // node:http reports a client's disconnect mid-body as an 'aborted' error, or only a close.
    const onError = () => {
      cleanup();
      fail(new RequestAbortedError());
    };
    const onClose = () => {
      if (!req.complete) onError();
    };
    const cleanup = () => {
      receiving.delete(entry);
      receivingBytes -= entry.size;
      entry.size = 0;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
