import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Connection } from './connection.js';
import { networkErrorOf } from './kms-client.js';
import { cliVersion } from './version.js';

/** An error the server answered with: its AWS error name, and its message. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status: number) {
    super(message || code);
    this.code = code;
    this.status = status;
  }
}

/**
 * Calls Coffer's administration API (`X-Amz-Target: CofferAdmin.<Operation>`), signed with SigV4
 * for the `kms` service like every other request to the server.
 */
export async function callAdmin(connection: Connection, operation: string, input: object): Promise<Record<string, unknown>> {
  const answer = await callJson(connection, { service: 'kms', target: `CofferAdmin.${operation}`, contentType: 'application/x-amz-json-1.1' }, input);
  requireMembers(answer, ADMIN_ANSWERS[operation] ?? [], operation);
  return answer;
}

/**
 * What each admin answer the CLI reads always holds (docs/admin-api.md). An endpoint that is not
 * Coffer (another service, a proxy) may answer 200 with `{}`: that is a malformed answer, never a
 * success printed as `undefined` or a crash in the command that reads it.
 */
const ADMIN_ANSWERS: Readonly<Record<string, readonly string[]>> = {
  CreateUser: ['User'], CreateRole: ['Role'], CreateAccessKey: ['AccessKey'], ListAccessKeys: ['AccessKeyMetadata'],
  GetPrincipalPolicy: ['PolicyDocument'], ListPrincipalPolicies: ['PolicyNames'],
  GetRootKeyStatus: ['CurrentRootKeyId', 'RootKeys'], RotateRootKey: ['RootKeyId', 'Provider', 'RootKeys'],
};

/**
 * An error answer that names no error (an empty 404 or 503: a proxy, a load balancer, another
 * service on that port), for KMS and admin commands alike: its status, and where it came from.
 */
export function noErrorNamed(endpoint: string | undefined, status: number): ApiError {
  return new ApiError('MalformedResponse', `the server at ${endpoint ?? 'the endpoint'} answered HTTP ${status || '(status unknown)'} naming no error: is it a Coffer server?`, status);
}

/** Throws MalformedResponse unless `answer` holds each of `members` (any value but undefined and null). */
export function requireMembers(answer: unknown, members: readonly string[], operation: string): void {
  const record = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>) : {};
  const missing = members.filter((member) => record[member] === undefined || record[member] === null);
  if (missing.length > 0) {
    throw new ApiError('MalformedResponse', `the server's ${operation} answer has no ${missing.join(', ')}: is the endpoint a Coffer server?`, 0);
  }
}

/** STS GetCallerIdentity on the same endpoint: who the connection's credentials are (`Account`, `Arn`). */
export function callerIdentity(connection: Connection): Promise<Record<string, unknown>> {
  return callJson(connection, { service: 'sts', target: 'AWSSecurityTokenServiceV20110615.GetCallerIdentity', contentType: 'application/x-amz-json-1.0' }, {});
}

/**
 * Who is calling, in the audit record's `userAgent`, as the AWS SDK names itself on the CLI's KMS
 * calls: without it an operator's admin calls were recorded with none, like an unknown client's.
 */
const USER_AGENT = `coffer-cli/${cliVersion()} node/${process.versions.node} os/${process.platform}`;

async function callJson(
  connection: Connection, protocol: { service: string; target: string; contentType: string }, input: object,
): Promise<Record<string, unknown>> {
  const url = new URL(connection.endpoint);
  const body = JSON.stringify(input);
  const signer = new SignatureV4({
    credentials: connection.credentials, region: connection.region, service: protocol.service, sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign(new HttpRequest({
    method: 'POST', protocol: url.protocol, hostname: url.hostname, ...(url.port ? { port: Number(url.port) } : {}), path: '/',
    headers: { host: url.host, 'content-type': protocol.contentType, 'x-amz-target': protocol.target, 'user-agent': USER_AGENT },
    body,
  }));
  let response: { status: number; text: string };
  try {
    response = await post(new URL('/', url), signed.headers, body, connection);
  } catch (error) {
    throw networkErrorOf(error as Error, connection.endpoint) ?? new ApiError('ConnectionError', `cannot reach ${connection.endpoint} (${(error as Error).message})`, 0);
  }
  let parsed: Record<string, unknown> = {};
  try {
    parsed = response.text ? (JSON.parse(response.text) as Record<string, unknown>) : {};
  } catch {
    throw new ApiError('MalformedResponse', `the server at ${connection.endpoint} did not answer with JSON`, response.status);
  }
  if (response.status < 200 || response.status > 299) {
    // No error named: its message if it has one (a proxy's {"message": "Forbidden"}), as the KMS
    // commands say it, else its status.
    if (parsed.__type === undefined) {
      const message = typeof parsed.message === 'string' && parsed.message !== '' ? parsed.message : typeof parsed.Message === 'string' && parsed.Message !== '' ? parsed.Message : undefined;
      throw message === undefined ? noErrorNamed(connection.endpoint, response.status) : new ApiError('Unknown', message, response.status);
    }
    const code = String(parsed.__type).split('#').pop()!;
    throw new ApiError(code, String(parsed.message ?? ''), response.status);
  }
  return parsed;
}

/**
 * One POST and its whole answer; over https with the connection's certificates to trust, when
 * given (fetch takes none). Fails with a TimeoutError, as the SDK's handler does, when the
 * connection takes longer than its connect timeout or the answer stops coming for its read timeout.
 */
function post(url: URL, headers: Record<string, string>, body: string, connection: Connection): Promise<{ status: number; text: string }> {
  const { ca, readTimeoutMs, connectTimeoutMs } = connection;
  return new Promise((resolve, reject) => {
    const answered = (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    };
    const options = { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } };
    const req = url.protocol === 'https:' ? httpsRequest(url, { ...options, ...(ca ? { ca } : {}) }, answered) : httpRequest(url, options, answered);
    req.on('error', reject);
    const timedOut = (what: string, ms: number) => {
      req.destroy(Object.assign(new Error(`${what} for ${ms / 1000} s`), { name: 'TimeoutError' }));
    };
    req.on('socket', (socket) => {
      if (connectTimeoutMs > 0 && socket.connecting) {
        const connecting = setTimeout(() => timedOut('no connection', connectTimeoutMs), connectTimeoutMs);
        socket.once('connect', () => clearTimeout(connecting));
        socket.once('close', () => clearTimeout(connecting));
      }
    });
    if (readTimeoutMs > 0) req.setTimeout(readTimeoutMs, () => timedOut('nothing came', readTimeoutMs));
    req.end(body);
  });
}

/**
 * The markers of one paged listing: each new one is passed on; one the server gives a second time
 * would loop for ever, and stops the listing as a malformed answer (the AWS CLI refuses "the same
 * next token ... twice" too).
 */
export function pageMarkers(operation: string): (marker: string | undefined) => string | undefined {
  const seen = new Set<string>();
  return (marker) => {
    if (marker === undefined) return undefined;
    if (seen.has(marker)) throw new ApiError('MalformedResponse', `the server gave the same ${operation} page marker twice; stopped rather than ask for it again`, 0);
    seen.add(marker);
    return marker;
  };
}

/** A member of an answer that must be a list; a server that is not Coffer's may answer without it. */
export function listMember(answer: unknown, member: string, operation: string): Record<string, unknown>[] {
  const value = typeof answer === 'object' && answer !== null ? (answer as Record<string, unknown>)[member] : undefined;
  if (!Array.isArray(value)) throw new ApiError('MalformedResponse', `the server's ${operation} answer has no ${member} list: is the endpoint a Coffer server?`, 0);
  return value as Record<string, unknown>[];
}
