import { isUtf8 } from 'node:buffer';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessKeys } from '../auth/access-keys.js';
import { verifySigV4 } from '../auth/sigv4.js';
import type { Principal, Service } from '../context.js';
import {
  DependencyTimeoutException, excerpt, KeyUnavailableException, KMSInternalException, KmsError, SerializationException, UnknownOperationException,
} from '../errors.js';
import type { Logger } from '../log.js';
import type { RequestObserver } from '../observe/request-observer.js';
import { RequestAudit } from '../audit/request-audit.js';
import type { Operation } from '../operations/operation.js';
import { KMS_OPERATIONS, TARGETS } from '../routes.js';
import { RootKeyUnavailableError } from '../root/root-key.js';
import { createConsoleHandler, isConsoleRequest } from './console.js';
import { allowCrossOrigin, answerPreflight, isPreflight } from './cors.js';
import { behindRefusedBody, closeIfBodyUnread, readBody, RequestAbortedError } from './read-body.js';
import { appendFailureRecord, storeFault } from './store-faults.js';
import { joinRequestBatch } from './request-batch.js';
import { isProbeRequest } from './probes.js';
import { createStsHandler, isStsRequest } from './sts.js';

const JSON_CONTENT_TYPES = new Set(['application/x-amz-json-1.1', 'application/x-amz-json-1.0', 'application/json']);

export interface AppDependencies {
  readonly service: Service;
  readonly accessKeys: AccessKeys;
  readonly log: Logger;
  /** Request quotas, metrics and the request history (observe/request-observer.ts). */
  readonly observer?: RequestObserver;
  /** GET /metrics, /healthz, /readyz (probes.ts). */
  readonly probes?: (req: IncomingMessage, res: ServerResponse) => Promise<void>;
}

/**
 * The request pipeline of DESIGN.md: read the body, find the operation, authenticate, parse,
 * run the operation, render the answer. Every failure becomes an AWS-shaped JSON error; anything
 * that is not a KmsError is rendered as an opaque KMSInternalException and logged.
 */
export function createRequestHandler(deps: AppDependencies) {
  const { service, log } = deps;
  const sts = createStsHandler(deps);
  const consoleFiles = createConsoleHandler();
  const answer = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    // Pipelined behind a body refused part-way: the connection closes once that is answered, and
    // this is neither run nor answered (read-body.ts).
    if (behindRefusedBody(req)) return;
    // A client talking through a forward proxy may send the absolute form (`POST http://host/`),
    // which a server must accept (RFC 9112, 3.2.2); everything below reads the origin form.
    if (req.url !== undefined && !req.url.startsWith('/')) req.url = originForm(req.url);
    // The web console's static files (console.ts): pages, not API calls. Probes next: both are
    // GETs of their own paths, whatever headers come with them.
    if (isConsoleRequest(req)) return consoleFiles(req, res);
    if (deps.probes && isProbeRequest(req)) return deps.probes(req, res);
    // STS GetCallerIdentity, the "who am I" of AWS tooling, speaks its own protocol (sts.ts).
    if (isStsRequest(req)) return sts(req, res);
    // Browser apps on other origins (cors.ts): their preflight, and the answers they may read.
    if (isPreflight(req)) return answerPreflight(req, res);
    allowCrossOrigin(req, res);
    const requestId = randomUUID();
    const started = process.hrtime.bigint();
    const sourceIp = clientAddress(req);
    const audit = new RequestAudit({
      time: Date.now(), requestId, sourceIp,
      ...(typeof req.headers['user-agent'] === 'string' ? { userAgent: req.headers['user-agent'].slice(0, 512) } : {}),
    });
    // Named before the body is read, so that a body refused for its size is counted under its
    // operation; one Coffer does not have is refused once the body is in (findOperation below).
    const known = knownOperation(req);
    let operation: string | undefined = known?.name;
    if (operation !== undefined) audit.setOperation(operation);
    let outcome: { status: number; error?: string };
    try {
      const body = await readBody(req);
      // The requests that arrived in this turn go on together (request-batch.ts).
      await joinRequestBatch();
      const target = known ?? findOperation(req);
      operation = target.name;
      audit.setOperation(target.name);
      checkContentType(req);
      const accessKey = await verifySigV4(
        { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headersDistinct, body },
        { region: service.realm.region, service: 'kms', now: Date.now() },
        deps.accessKeys,
      );
      audit.setCaller(accessKey.principalArn, accessKey.accessKeyId);
      const principal: Principal = {
        arn: accessKey.principalArn,
        accountId: service.realm.accountId,
        kind: principalKind(accessKey.principalArn),
        accessKeyId: accessKey.accessKeyId,
        accessKeyCreatedAt: accessKey.createdAt,
      };
      const input = parseJson(body, req.headers['content-encoding']);
      audit.setParameters(input);
      deps.observer?.charge(principal.accountId, target.name, input);
      const result = await target.handler(service, input, { requestId, principal, sourceIp, secureTransport: 'encrypted' in req.socket, audit });
      // A 200 means the request's audit record is durable, with its change or on its own.
      if (!audit.recorded) await service.store.appendAudit(audit.success());
      send(res, requestId, 200, result);
      outcome = { status: 200 };
    } catch (error) {
      if (error instanceof RequestAbortedError) {
        // Not answered, and not authenticated: no audit record (docs/audit.md), no error log line.
        log('info', 'request', { requestId, operation, error: 'RequestAborted' });
        res.destroy();
        return;
      }
      closeIfBodyUnread(req, res);
      const kmsError = asKmsError(error, requestId, log, operation);
      if (!audit.recorded) {
        await appendFailureRecord(service.store, audit.failure(kmsError.code, kmsError.message), error, (auditError) => {
          log('error', 'audit append failed', { requestId, error: auditError instanceof Error ? auditError.message : String(auditError) });
        });
      }
      outcome = renderError(res, requestId, kmsError);
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    deps.observer?.answered(operation ?? 'unknown', outcome.error ?? 'success', ms / 1000);
    log('info', 'request', {
      requestId,
      operation,
      status: outcome.status,
      ...(outcome.error ? { error: outcome.error } : {}),
      ms,
    });
  };
  // node:http ignores the promise a request listener returns: a rejection would be unhandled, and
  // end the process. The KMS and STS paths render their own errors; this catches what escapes the
  // others (the console's files read while the process had no file descriptor left did).
  return (req: IncomingMessage, res: ServerResponse): Promise<void> => answer(req, res).catch((error: unknown) => {
    const requestId = randomUUID();
    renderError(res, requestId, asKmsError(error, requestId, log, undefined));
  });
}

/**
 * `http://host:port/path?query` -> `/path?query`, the path and query as sent (no normalization:
 * SigV4 signs them as the client wrote them). Any other target (`*`) is left for the router to refuse.
 */
export function originForm(target: string): string {
  const authority = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/.exec(target);
  if (!authority) return target;
  const rest = target.slice(authority[0].length);
  return rest.startsWith('/') ? rest : `/${rest}`;
}

/** The caller's address without the IPv4-mapped prefix Node reports on dual-stack sockets. */
export function clientAddress(req: IncomingMessage): string {
  const address = req.socket.remoteAddress ?? '';
  return address.startsWith('::ffff:') ? address.slice('::ffff:'.length) : address;
}

/** Who an access key belongs to, from its principal's ARN. */
export function principalKind(arn: string): Principal['kind'] {
  const resource = arn.split(':').slice(5).join(':');
  if (resource === 'root') return 'root';
  return resource.startsWith('role/') ? 'role' : 'user';
}

/** The operation the request names, when it is one Coffer has; nothing is thrown (findOperation decides). */
function knownOperation(req: IncomingMessage): { name: string; handler: Operation } | undefined {
  try {
    return findOperation(req);
  } catch {
    return undefined;
  }
}

/** The operation an `X-Amz-Target` names: `TrentService.<Op>` for KMS, `CofferAdmin.<Op>` for administration. */
function findOperation(req: IncomingMessage): { name: string; handler: Operation } {
  const path = (req.url ?? '/').split('?')[0]!;
  if (req.method !== 'POST' || path !== '/') {
    // The path only: a query string may carry a token, and the message goes into the audit record.
    throw new UnknownOperationException(`Coffer answers the AWS KMS protocol at POST /, not ${excerpt(`${req.method} ${path}`)}.`);
  }
  // node:http joins a header sent twice with ", ": which operation was meant is not the server's to pick.
  if ((req.headersDistinct['x-amz-target']?.length ?? 0) > 1) {
    throw new UnknownOperationException('The request has more than one X-Amz-Target header: send one, naming one operation.');
  }
  const target = req.headers['x-amz-target'];
  const dot = typeof target === 'string' ? target.indexOf('.') : -1;
  const operations = dot > 0 ? TARGETS.get((target as string).slice(0, dot)) : undefined;
  if (!operations) {
    throw new UnknownOperationException("The X-Amz-Target header must name a TrentService operation, e.g. 'TrentService.Encrypt'.");
  }
  const name = (target as string).slice(dot + 1);
  const handler = operations.get(name);
  if (!handler) throw new UnknownOperationException(`Unknown operation ${excerpt(name)}.`);
  return { name: operations === KMS_OPERATIONS ? name : (target as string), handler };
}

function checkContentType(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!JSON_CONTENT_TYPES.has(type)) {
    throw new UnknownOperationException(`Content-Type '${excerpt(type)}' is not supported; send application/x-amz-json-1.1.`);
  }
}

/**
 * The body as JSON (RFC 8259), read as AWS reads it: a leading byte order mark is skipped (8.1
 * lets a parser ignore one), and bytes that are not UTF-8 are refused. Decoded, they would become
 * U+FFFD, and two different requests would read alike (encryption contexts among them, as
 * encryption-context.ts refuses lone surrogates for).
 */
export function parseJson(body: Buffer, contentEncoding: string | undefined): unknown {
  if (body.length === 0) return {};
  // AWS KMS takes no compressed bodies: a client that sent one learns why its body did not read.
  const encoded = contentEncoding !== undefined && contentEncoding !== '' && contentEncoding.toLowerCase() !== 'identity'
    ? ` (it was sent with Content-Encoding '${excerpt(contentEncoding, 32)}': send it uncompressed)` : '';
  if (!isUtf8(body)) throw new SerializationException(`The request body is not valid UTF-8${encoded}.`);
  const start = body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf ? 3 : 0;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8', start));
  } catch {
    throw new SerializationException(`The request body is not valid JSON${encoded}.`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SerializationException('The request body must be a JSON object.');
  }
  return parsed;
}

function send(res: ServerResponse, requestId: string, status: number, body: object, errorType?: string): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.1',
    'Content-Length': Buffer.byteLength(payload),
    'x-amzn-RequestId': requestId,
    ...(errorType ? { 'x-amzn-ErrorType': errorType } : {}),
  });
  res.end(payload);
}

/**
 * The operations whose errors AWS's KMS API reference lists KeyUnavailableException ("the
 * specified KMS key was not available. You can retry the request.", a 500 server fault); the others
 * say KMSInternalException when the root key fails.
 */
const KEY_UNAVAILABLE_OPERATIONS: ReadonlySet<string> = new Set([
  'Decapsulate', 'Decrypt', 'DeriveSharedSecret', 'Encapsulate', 'Encrypt', 'GenerateDataKey', 'GenerateDataKeyPair',
  'GenerateDataKeyPairWithoutPlaintext', 'GenerateDataKeyWithoutPlaintext', 'GenerateMac', 'GetPublicKey', 'ReEncrypt', 'Sign',
  'Verify', 'VerifyMac',
]);

/** A KmsError as it is; anything else logged and made an opaque KMSInternalException. */
function asKmsError(error: unknown, requestId: string, log: Logger, operation: string | undefined): KmsError {
  if (error instanceof KmsError) return error;
  if (error instanceof RootKeyUnavailableError) {
    // The server's own key source failed (an HSM that did not answer): a server fault, never the
    // caller's ciphertext. The detail (which token, which CKR_ code) stays in the log.
    log('error', 'root key unavailable', { requestId, operation, error: error.message });
    const message = `The key material is not available: the server's root key could not be used; retry the request. Request id: ${requestId}`;
    return operation !== undefined && KEY_UNAVAILABLE_OPERATIONS.has(operation) ? new KeyUnavailableException(message) : new KMSInternalException(message);
  }
  const store = storeFault(error, requestId);
  if (store !== undefined) {
    // A 503 is retried by the SDKs; a full store or one that must restart is a fault of the service.
    log('error', store.line, { requestId, operation, error: (error as Error).message });
    return store.status === 503 ? new DependencyTimeoutException(store.message) : new KMSInternalException(store.message);
  }
  // The detail stays in the log; the client learns only the request id to report.
  log('error', 'internal error', {
    requestId, operation,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return new KMSInternalException(`An internal error occurred. Request id: ${requestId}`);
}

function renderError(res: ServerResponse, requestId: string, kmsError: KmsError) {
  if (!res.headersSent) {
    send(res, requestId, kmsError.status, {
      __type: kmsError.code,
      ...(kmsError.message ? { message: kmsError.message } : {}),
    }, kmsError.code);
  } else {
    res.destroy();
  }
  return { status: kmsError.status, error: kmsError.code };
}
