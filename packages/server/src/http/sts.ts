import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { RequestAudit } from '../audit/request-audit.js';
import { verifySigV4 } from '../auth/sigv4.js';
import {
  excerpt, IncompleteSignatureException, InvalidSignatureException, KmsError, MissingAuthenticationTokenException,
  SerializationException, ThrottlingException, UnrecognizedClientException, ValidationException,
} from '../errors.js';
import { principalId } from '../principals/principal-id.js';
import { clientAddress, parseJson, principalKind, type AppDependencies } from './app.js';
import { closeIfBodyUnread, readBody, RequestAbortedError } from './read-body.js';
import { appendFailureRecord, storeFault } from './store-faults.js';

/**
 * STS GetCallerIdentity on the KMS endpoint, so the "who am I" check of AWS tooling
 * (`aws sts get-caller-identity`, the SDKs' STS clients) works against Coffer.
 *
 * The official clients send it with the AWS query protocol (STS API Reference; @aws-sdk/client-sts
 * and botocore both use `awsQuery`): `POST /`, a form-encoded body `Action=GetCallerIdentity&
 * Version=2011-06-15`, SigV4 for the service `sts`, an XML answer. The JSON protocol that AWS is
 * moving services to (`X-Amz-Target: AWSSecurityTokenServiceV20110615.GetCallerIdentity`,
 * awsJson1_0) is answered too. No permission is needed, as in AWS: even an explicit Deny of
 * sts:GetCallerIdentity does not stop it. Each request is audited as `sts:GetCallerIdentity`.
 */
export const STS_JSON_TARGET_PREFIX = 'AWSSecurityTokenServiceV20110615.';
const STS_VERSION = '2011-06-15';
const STS_NAMESPACE = 'https://sts.amazonaws.com/doc/2011-06-15/';

/** Form-encoded without a KMS or admin target, or with the STS JSON target. */
export function isStsRequest(req: IncomingMessage): boolean {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string') return target.startsWith(STS_JSON_TARGET_PREFIX);
  const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  return type === 'application/x-www-form-urlencoded';
}

/** An STS error as it goes on the wire: STS's own code, status and fault side. */
interface StsFault {
  readonly code: string;
  readonly status: number;
  readonly type: 'Sender' | 'Receiver';
  readonly message: string;
}

const fault = (code: string, status: number, message: string): StsFault => ({ code, status, type: status >= 500 ? 'Receiver' : 'Sender', message });

/** STS's names for the authentication failures the shared SigV4 check raises (STS API Reference, "Common Errors"). */
function stsFault(error: KmsError): StsFault {
  if (error instanceof MissingAuthenticationTokenException) return fault('MissingAuthenticationToken', 403, error.message);
  if (error instanceof IncompleteSignatureException) return fault('IncompleteSignature', 400, error.message);
  if (error instanceof InvalidSignatureException) return fault('SignatureDoesNotMatch', 403, error.message);
  if (error instanceof UnrecognizedClientException) return fault('InvalidClientTokenId', 403, error.message);
  if (error instanceof ValidationException) return fault('ValidationError', 400, error.message);
  if (error instanceof ThrottlingException) return fault('Throttling', 400, error.message);
  if (error instanceof SerializationException) return fault('SerializationException', 400, error.message);
  return fault('InternalFailure', 500, error.message);
}

class StsRequestError extends Error {
  constructor(readonly fault: StsFault) {
    super(fault.message);
  }
}

const escapeXml = (text: string): string =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

interface CallerIdentity {
  readonly Arn: string;
  readonly UserId: string;
  readonly Account: string;
}

export function createStsHandler(deps: AppDependencies) {
  const { service, log } = deps;
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const requestId = randomUUID();
    const started = process.hrtime.bigint();
    const json = typeof req.headers['x-amz-target'] === 'string';
    const audit = new RequestAudit({
      time: Date.now(), requestId, sourceIp: clientAddress(req),
      ...(typeof req.headers['user-agent'] === 'string' ? { userAgent: req.headers['user-agent'].slice(0, 512) } : {}),
    });
    let status = 200;
    let errorCode: string | undefined;
    /** Set once the request names an operation-shaped action; until then the request named none. */
    let operation: string | undefined;
    try {
      const body = await readBody(req);
      if (json) checkPostRoot(req);
      const action = json ? String(req.headers['x-amz-target']).slice(STS_JSON_TARGET_PREFIX.length) : actionOf(req, body);
      // The name goes into the audit record and the log: only an operation-shaped one.
      if (!/^[A-Za-z0-9]{1,64}$/.test(action)) throw new StsRequestError(fault('InvalidAction', 400, 'The action is not a valid STS operation name.'));
      operation = `sts:${action}`;
      audit.setOperation(operation);
      const accessKey = await verifySigV4(
        { method: req.method ?? 'POST', url: req.url ?? '/', headers: req.headersDistinct, body },
        { region: service.realm.region, service: 'sts', now: Date.now() },
        deps.accessKeys,
      );
      audit.setCaller(accessKey.principalArn, accessKey.accessKeyId);
      if (action !== 'GetCallerIdentity') {
        throw new StsRequestError(fault('InvalidAction', 400, `Could not find operation ${action} for version ${STS_VERSION}`));
      }
      // GetCallerIdentity takes no members, but the JSON protocol's body is a JSON object all the same, as for KMS.
      if (json) parseJson(body, req.headers['content-encoding']);
      const identity = await callerIdentity(deps, accessKey.principalArn);
      await service.store.appendAudit(audit.success());
      if (json) send(res, requestId, 200, 'application/x-amz-json-1.0', JSON.stringify(identity));
      else send(res, requestId, 200, 'text/xml', identityXml(identity, requestId));
    } catch (error) {
      if (error instanceof RequestAbortedError) {
        // Not answered, and not authenticated: no audit record, no error log line (as app.ts).
        log('info', 'request', { requestId, operation, error: 'RequestAborted' });
        res.destroy();
        return;
      }
      closeIfBodyUnread(req, res);
      const failure = error instanceof StsRequestError ? error.fault
        : error instanceof KmsError ? stsFault(error)
          : internalFault(error, requestId, deps, operation);
      status = failure.status;
      errorCode = failure.code;
      await appendFailureRecord(service.store, audit.failure(failure.code, failure.message), error, (auditError) => {
        log('error', 'audit append failed', { requestId, error: auditError instanceof Error ? auditError.message : String(auditError) });
      });
      if (json) {
        send(res, requestId, failure.status, 'application/x-amz-json-1.0', JSON.stringify({ __type: failure.code, message: failure.message }),
          { 'x-amzn-query-error': `${failure.code};${failure.type}` });
      } else {
        send(res, requestId, failure.status, 'text/xml', errorXml(failure, requestId));
      }
    }
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    // Only the one STS operation answered is its own label: an action name comes from the caller.
    const label = operation === undefined ? 'unknown' : operation === 'sts:GetCallerIdentity' ? operation : 'sts:other';
    deps.observer?.answered(label, errorCode ?? 'success', ms / 1000);
    log('info', 'request', {
      requestId, operation, status, ...(errorCode ? { error: errorCode } : {}), ms,
    });
  };
}

/** STS, in either protocol, is served at POST / only, as KMS is. */
function checkPostRoot(req: IncomingMessage): void {
  const path = (req.url ?? '/').split('?')[0]!;
  if (req.method !== 'POST' || path !== '/') {
    // The path only, as app.ts: a query string may carry a token.
    throw new StsRequestError(fault('InvalidAction', 400, `Coffer answers STS at POST /, not ${excerpt(`${req.method} ${path}`)}.`));
  }
}

/** The query protocol's Action and Version, from the form body (or the query string, as AWS also reads it). */
function actionOf(req: IncomingMessage, body: Buffer): string {
  checkPostRoot(req);
  const params = new URLSearchParams(body.toString('utf8'));
  for (const [name, value] of new URL(req.url ?? '/', 'http://coffer.invalid').searchParams) if (!params.has(name)) params.set(name, value);
  const action = params.get('Action');
  if (!action) throw new StsRequestError(fault('MissingAction', 400, 'Missing Action'));
  const version = params.get('Version');
  if (version !== null && version !== STS_VERSION) {
    throw new StsRequestError(fault('InvalidAction', 400, `Could not find operation ${excerpt(action)} for version ${excerpt(version)}`));
  }
  return action;
}

/** Who signed: the account root's UserId is the account id; a user's or role's its unique id (AIDA.../AROA...). */
async function callerIdentity(deps: AppDependencies, arn: string): Promise<CallerIdentity> {
  const Account = deps.service.realm.accountId;
  if (principalKind(arn) === 'root') return { Arn: arn, UserId: Account, Account };
  const record = await deps.service.store.getPrincipal(arn);
  // The principal was deleted after its key was checked: its keys are gone with it.
  if (!record) throw new UnrecognizedClientException('The security token included in the request is invalid.');
  return { Arn: arn, UserId: principalId(record), Account };
}

function identityXml(identity: CallerIdentity, requestId: string): string {
  return `<GetCallerIdentityResponse xmlns="${STS_NAMESPACE}">\n`
    + '  <GetCallerIdentityResult>\n'
    + `    <Arn>${escapeXml(identity.Arn)}</Arn>\n`
    + `    <UserId>${escapeXml(identity.UserId)}</UserId>\n`
    + `    <Account>${escapeXml(identity.Account)}</Account>\n`
    + '  </GetCallerIdentityResult>\n'
    + `  <ResponseMetadata>\n    <RequestId>${requestId}</RequestId>\n  </ResponseMetadata>\n`
    + '</GetCallerIdentityResponse>\n';
}

function errorXml(failure: StsFault, requestId: string): string {
  return `<ErrorResponse xmlns="${STS_NAMESPACE}">\n`
    + `  <Error>\n    <Type>${failure.type}</Type>\n    <Code>${escapeXml(failure.code)}</Code>\n`
    + `    <Message>${escapeXml(failure.message)}</Message>\n  </Error>\n`
    + `  <RequestId>${requestId}</RequestId>\n`
    + '</ErrorResponse>\n';
}

/** Anything unexpected: logged with the request id, answered opaquely; a store's own error as KMS answers it (store-faults.ts). */
function internalFault(error: unknown, requestId: string, deps: AppDependencies, operation: string | undefined): StsFault {
  const store = storeFault(error, requestId);
  if (store !== undefined) {
    deps.log('error', store.line, { requestId, operation, error: (error as Error).message });
    // STS's common errors: ServiceUnavailable (503), InternalFailure (500).
    return fault(store.status === 503 ? 'ServiceUnavailable' : 'InternalFailure', store.status, store.message);
  }
  deps.log('error', 'internal error', {
    requestId, operation,
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    stack: error instanceof Error ? error.stack : undefined,
  });
  return fault('InternalFailure', 500, `An internal error occurred. Request id: ${requestId}`);
}

function send(res: ServerResponse, requestId: string, status: number, type: string, payload: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, {
    'Content-Type': type,
    'Content-Length': Buffer.byteLength(payload),
    'x-amzn-RequestId': requestId,
    ...headers,
  });
  res.end(payload);
}
