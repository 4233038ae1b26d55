import type { IncomingMessage } from 'node:http';
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
 * milliseconds, but node:http waits up to its request timeout (5 minutes) for one sent slowly, and
 * no signature can be checked before the body is in: without this bound, clients holding many
 * connections with large unfinished bodies could make the server hold 256 KiB for each.
 */
export const MAX_RECEIVING_BYTES = 64 * 1024 * 1024;

/** The bodies being received, in the order they started; each can be refused to make room. */
const receiving = new Set<{ size: number; refuse: () => void }>();
let receivingBytes = 0;

/**
 * Reads the whole body, refusing early (by Content-Length or as bytes arrive) past the limit.
 * When the bodies being received together pass `budget`, those that started first are refused
 * (ThrottlingException, which the SDKs retry) until this one fits: a body sent at once is never
 * kept out by bodies that are not arriving.
 */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES, budget = MAX_RECEIVING_BYTES): Promise<Buffer> {
  const tooLarge = () => new ValidationException(`The request body is larger than the limit of ${limit} bytes.`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  // Stream events rather than `for await`: the async iterator costs a promise and a microtask
  // turn per chunk, on every request.
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Refused: the rest is read and dropped (a `data` listener stays) until the pipeline has
    // answered and drops the connection, so the client can read the answer.
    const refuse = (error: Error) => {
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
      size += chunk.length;
      if (size > limit) return refuse(tooLarge());
      entry.size = size;
      receivingBytes += chunk.length;
      for (const other of receiving) {
        if (receivingBytes <= budget) break;
        if (other !== entry) other.refuse();
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
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
