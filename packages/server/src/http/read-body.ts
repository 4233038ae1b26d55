import type { IncomingMessage } from 'node:http';
import { ValidationException } from '../errors.js';

/** The largest request body accepted: well above any KMS request (a 32 KB policy, a 4 KB plaintext). */
export const MAX_BODY_BYTES = 256 * 1024;

/** Reads the whole body, refusing early (by Content-Length or as bytes arrive) past the limit. */
export async function readBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const tooLarge = () => new ValidationException(`The request body is larger than the limit of ${limit} bytes.`);
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) throw tooLarge();
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}
