import type { IncomingMessage } from 'node:http';
import { ValidationException } from '../errors.js';

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

/** Reads the whole body, refusing early (by Content-Length or as bytes arrive) past the limit. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const tooLarge = () => new ValidationException(`The request body is larger than the limit of ${limit} bytes.`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  // Stream events rather than `for await`: the async iterator costs a promise and a microtask
  // turn per chunk, on every request.
  return new Promise((done, fail) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        // Refused: the rest is read and dropped (a `data` listener stays) until the pipeline has
        // answered and drops the connection, so the client can read the answer.
        cleanup();
        req.on('data', () => {});
        fail(tooLarge());
        return;
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
