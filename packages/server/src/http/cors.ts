import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * CORS for the KMS protocol at POST /, as AWS KMS answers it, so that a browser app using an AWS
 * SDK (KMS is one of the JavaScript SDK's CORS services) can call Coffer from its own origin.
 *
 * Any origin is allowed: no request carries ambient authority (no cookies; every call is SigV4
 * signed with a secret the page must already hold), so a page of another origin can do nothing it
 * could not do without a browser. The console's pages, the probes (/metrics) and STS are not
 * opened to other origins: they answer only what the same origin asks.
 */

/** What a browser app may read of an answer besides the CORS-safelisted headers. */
const EXPOSED_HEADERS = 'x-amzn-RequestId, x-amzn-ErrorType, Date';
/** How long a browser may keep a preflight's answer (seconds). */
const PREFLIGHT_MAX_AGE = '86400';
/** A header list as a preflight asks for it: field names (RFC 9110 tokens) separated by commas. */
const HEADER_LIST = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*,\s*[!#$%&'*+.^_`|~0-9A-Za-z-]+)*$/;

/** A CORS preflight of POST / (an OPTIONS request with Origin and Access-Control-Request-Method). */
export function isPreflight(req: IncomingMessage): boolean {
  return req.method === 'OPTIONS' && (req.url ?? '/').split('?')[0] === '/'
    && typeof req.headers.origin === 'string' && typeof req.headers['access-control-request-method'] === 'string';
}

/** Answers a preflight: POST, with the headers it asks for. Not a KMS request: no audit record. */
export function answerPreflight(req: IncomingMessage, res: ServerResponse): void {
  const asked = req.headers['access-control-request-headers'];
  res.writeHead(204, {
    // Every answer has an id (operations.md, Logs), this one too, though it is logged nowhere.
    'x-amzn-RequestId': randomUUID(),
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Methods': 'POST',
    ...(typeof asked === 'string' && HEADER_LIST.test(asked.trim()) ? { 'Access-Control-Allow-Headers': asked.trim() } : {}),
    'Access-Control-Max-Age': PREFLIGHT_MAX_AGE,
    Vary: 'Origin, Access-Control-Request-Headers',
  });
  res.end();
}

/** Marks the answer to a cross-origin request readable by the page that sent it. */
export function allowCrossOrigin(req: IncomingMessage, res: ServerResponse): void {
  if (typeof req.headers.origin !== 'string') return;
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.setHeader('Access-Control-Expose-Headers', EXPOSED_HEADERS);
}
