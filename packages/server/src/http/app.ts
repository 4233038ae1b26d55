import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AccessKeys } from '../auth/access-keys.js';
import { verifySigV4 } from '../auth/sigv4.js';
import type { Principal, Service } from '../context.js';
import {
  KMSInternalException, KmsError, SerializationException, UnknownOperationException,
} from '../errors.js';
import type { Logger } from '../log.js';
import { OPERATIONS } from '../routes.js';
import { readBody } from './read-body.js';

const TARGET_PREFIX = 'TrentService.';
const JSON_CONTENT_TYPES = new Set(['application/x-amz-json-1.1', 'application/x-amz-json-1.0', 'application/json']);

export interface AppDependencies {
  readonly service: Service;
  readonly accessKeys: AccessKeys;
  readonly log: Logger;
}

/**
 * The request pipeline of DESIGN.md: read the body, find the operation, authenticate, parse,
 * run the operation, render the answer. Every failure becomes an AWS-shaped JSON error; anything
 * that is not a KmsError is rendered as an opaque KMSInternalException and logged.
 */
export function createRequestHandler(deps: AppDependencies) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const started = process.hrtime.bigint();
    let operation: string | undefined;
    let outcome: { status: number; error?: string };
    try {
      const body = await readBody(req);
      operation = findOperationName(req);
      const handler = OPERATIONS.get(operation)!;
      checkContentType(req);
      const accessKey = await verifySigV4(
        { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headers, body },
        { region: deps.service.realm.region, service: 'kms', now: Date.now() },
        deps.accessKeys,
      );
      const principal: Principal = {
        arn: accessKey.principalArn,
        accountId: deps.service.realm.accountId,
        accessKeyId: accessKey.accessKeyId,
      };
      const result = await handler(deps.service, parseJson(body), { requestId, principal });
      send(res, requestId, 200, result);
      outcome = { status: 200 };
    } catch (error) {
      if (!req.complete) {
        // The body was refused part-way: answer, then drop the connection rather than read the rest.
        res.setHeader('Connection', 'close');
        res.on('finish', () => req.destroy());
      }
      outcome = renderError(res, requestId, error, deps.log, operation);
    }
    deps.log('info', 'request', {
      requestId,
      operation,
      status: outcome.status,
      ...(outcome.error ? { error: outcome.error } : {}),
      ms: Number(process.hrtime.bigint() - started) / 1e6,
    });
  };
}

function findOperationName(req: IncomingMessage): string {
  if (req.method !== 'POST' || (req.url ?? '/').split('?')[0] !== '/') {
    throw new UnknownOperationException(`Coffer answers the AWS KMS protocol at POST /, not ${req.method} ${req.url}.`);
  }
  const target = req.headers['x-amz-target'];
  if (typeof target !== 'string' || !target.startsWith(TARGET_PREFIX)) {
    throw new UnknownOperationException(`The X-Amz-Target header must name a TrentService operation, e.g. '${TARGET_PREFIX}Encrypt'.`);
  }
  const name = target.slice(TARGET_PREFIX.length);
  if (!OPERATIONS.has(name)) throw new UnknownOperationException(`Unknown operation ${name}.`);
  return name;
}

function checkContentType(req: IncomingMessage): void {
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (!JSON_CONTENT_TYPES.has(type)) {
    throw new UnknownOperationException(`Content-Type '${type}' is not supported; send application/x-amz-json-1.1.`);
  }
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new SerializationException('The request body is not valid JSON.');
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

function renderError(res: ServerResponse, requestId: string, error: unknown, log: Logger, operation: string | undefined) {
  let kmsError: KmsError;
  if (error instanceof KmsError) {
    kmsError = error;
  } else {
    // The detail stays in the log; the client learns only the request id to report.
    log('error', 'internal error', {
      requestId, operation,
      error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
      stack: error instanceof Error ? error.stack : undefined,
    });
    kmsError = new KMSInternalException(`An internal error occurred. Request id: ${requestId}`);
  }
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
