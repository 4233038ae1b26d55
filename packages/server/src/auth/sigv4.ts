import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { createScope, getCanonicalHeaders, getSigningKey, SignatureV4Base } from '@smithy/signature-v4';
import {
  excerpt, IncompleteSignatureException, InvalidSignatureException, MissingAuthenticationTokenException,
  UnrecognizedClientException,
} from '../errors.js';
import type { AccessKey, AccessKeys } from './access-keys.js';

/** How far a request's X-Amz-Date may be from the server's clock, as AWS allows. */
export const MAX_CLOCK_SKEW_MS = 5 * 60_000;

export interface SignedRequest {
  readonly method: string;
  /** The request target as received: path and query string. */
  readonly url: string;
  /** Lower-case names; each value as received, or all of them when sent several times (`headersDistinct`). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly body: Buffer;
}

interface AuthorizationHeader {
  readonly accessKeyId: string;
  readonly date: string;
  readonly region: string;
  readonly service: string;
  readonly signedHeaders: string[];
  readonly signature: string;
}

const sha256 = Hash.bind(null, 'sha256');
/**
 * A header's value; one sent several times is its values joined by commas, as SigV4 canonicalizes
 * them (node:http's `headers` joins with ", " and keeps only the first of some, hence
 * `headersDistinct`). Own members only: a signed header named `constructor` is just missing.
 */
const header = (request: SignedRequest, name: string): string | undefined => {
  if (!Object.hasOwn(request.headers, name)) return undefined;
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(',') : value;
};

/** The scheme, then its parameters after spaces or tabs; or the scheme alone, whose missing parameters the checks name. */
const SCHEME = /^AWS4-HMAC-SHA256(?:[ \t]+|$)/;

function parseAuthorization(value: string): AuthorizationHeader {
  const scheme = SCHEME.exec(value);
  if (!scheme) {
    // The scheme the client used, when there is one: a value without one may be a bare token, and
    // the message goes into the audit record.
    const used = /^([A-Za-z][\w.-]{0,31})[ \t]/.exec(value)?.[1];
    throw new IncompleteSignatureException(`Authorization header must use the ${ALGORITHM} algorithm${used ? `: ${used}` : '.'}`);
  }
  const fields = new Map<string, string>();
  for (const part of value.slice(scheme[0].length).split(',')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    // Two of one parameter (or two Authorization headers, joined): which one was meant is not
    // for the server to pick.
    if (fields.has(name)) throw new IncompleteSignatureException(`Authorization header has the '${excerpt(name, 32)}' parameter more than once.`);
    fields.set(name, part.slice(eq + 1).trim());
  }
  for (const name of ['Credential', 'SignedHeaders', 'Signature']) {
    if (!fields.get(name)) throw new IncompleteSignatureException(`Authorization header requires '${name}' parameter.`);
  }
  const scope = fields.get('Credential')!.split('/');
  if (scope.length !== 5 || scope[4] !== 'aws4_request' || !/^\d{8}$/.test(scope[1]!)) {
    throw new IncompleteSignatureException("Credential must have the form '<access key id>/<yyyymmdd>/<region>/<service>/aws4_request'.");
  }
  const [accessKeyId, date, region, service] = scope as [string, string, string, string];
  return {
    accessKeyId, date, region, service,
    signedHeaders: fields.get('SignedHeaders')!.split(';'),
    signature: fields.get('Signature')!,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * A `Date` header -> Date, or undefined when malformed or naming no real instant: the basic
 * format, or an HTTP date as RFC 9110 (`Sun, 06 Nov 1994 08:49:37 GMT`) and RFC 5322 write it
 * (`... -0000`, as botocore sends it).
 */
function parseHttpDate(value: string): Date | undefined {
  const basic = parseAmzDate(value);
  if (basic) return basic;
  const m = /^(?:(Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) (GMT|UTC|[+-]\d{4})$/.exec(value);
  const month = m ? MONTHS.indexOf(m[3]!) : -1;
  if (!m || month < 0) return undefined;
  const utc = Date.UTC(+m[4]!, month, +m[2]!, +m[5]!, +m[6]!, +m[7]!);
  const named = new Date(utc);
  // No 30 February, no 25:00, and the weekday, when given, is that day's.
  if (named.getUTCDate() !== +m[2]! || named.getUTCHours() !== +m[5]! || named.getUTCMinutes() !== +m[6]! || named.getUTCSeconds() !== +m[7]!) return undefined;
  if (m[1] !== undefined && !named.toUTCString().startsWith(m[1])) return undefined;
  const zone = m[8]!;
  const offsetMinutes = /^[+-]/.test(zone) ? (zone[0] === '-' ? -1 : 1) * (+zone.slice(1, 3) * 60 + +zone.slice(3)) : 0;
  return new Date(utc - offsetMinutes * 60_000);
}

/** `20240101T000000Z` -> Date, or undefined when malformed or naming no real instant (month 13, 25:00, 30 February). */
function parseAmzDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const date = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
  // Date.UTC carries overflowing fields into the next (month 13 is January): only a date that
  // writes back the same is the one named.
  return !Number.isNaN(date.getTime()) && amzDate(date.getTime()) === value ? date : undefined;
}

const amzDate = (ms: number): string => new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');

const ALGORITHM = 'AWS4-HMAC-SHA256';

/** The last X-Amz-Date found to name a real instant: requests of the same second skip the check. */
let lastRealDate = '';

/**
 * The canonical request is @smithy/signature-v4's, from one instance made once (its credentials
 * and region are not used for it), and so is the signing key's derivation. The string to sign
 * (four lines: algorithm, date, scope, the canonical request's SHA-256) and the final HMAC are
 * taken here, with node:crypto directly and a signing key derived once per caller, day, region and
 * service rather than on every request: the library's Hash wrapper costs a promise and two copies.
 */
class Canonicalizer extends SignatureV4Base {
  static make(): Canonicalizer {
    return new Canonicalizer({ credentials: { accessKeyId: '', secretAccessKey: '' }, region: '', service: '', sha256, applyChecksum: false });
  }

  canonicalRequest(request: HttpRequest, canonicalHeaders: Record<string, string>, payloadHash: string): string {
    return this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
  }
}
const canonicalizer = Canonicalizer.make();

/**
 * Derived signing keys (HMAC chain over date, region, service), per secret object: an access key
 * that is looked up afresh (the AccessKeys cache refreshes it) gets a fresh entry, and one deleted
 * and re-created under the same id with another secret can never meet the old derived key.
 */
const signingKeys = new WeakMap<object, Map<string, Uint8Array>>();

function cachedSigningKey(accessKey: AccessKey, scope: string): Uint8Array | undefined {
  return signingKeys.get(accessKey.secret)?.get(scope);
}

async function deriveSigningKey(accessKey: AccessKey, scope: string, shortDate: string, region: string, service: string): Promise<Uint8Array> {
  const key = await getSigningKey(sha256, { accessKeyId: accessKey.accessKeyId, secretAccessKey: accessKey.secret.revealSecret() }, shortDate, region, service);
  let perScope = signingKeys.get(accessKey.secret);
  if (!perScope) signingKeys.set(accessKey.secret, (perScope = new Map()));
  // A day or two of scopes at most: requests are refused when their date is 5 minutes off.
  if (perScope.size >= 4) perScope.clear();
  perScope.set(scope, key);
  return key;
}

/**
 * Verifies an AWS Signature Version 4 header signature and returns the caller's access key.
 *
 * The expected signature is computed with @smithy/signature-v4 over exactly the headers the
 * client says it signed, with the secret the server holds, and compared in constant time. The
 * payload hash is always computed from the body received; a client's x-amz-content-sha256 must
 * agree with it, so a signed header cannot vouch for a body it does not describe.
 */
export async function verifySigV4(
  request: SignedRequest,
  expected: { region: string; service: string; now: number },
  accessKeys: AccessKeys,
): Promise<AccessKey> {
  const authorization = header(request, 'authorization');
  if (!authorization) {
    // A presigned request (its signature in the query string) is not read: say so, where the bare
    // "missing" would leave its sender looking for the signature they did send.
    if (/[?&]X-Amz-(?:Signature|Credential|Algorithm)=/i.test(request.url)) {
      throw new MissingAuthenticationTokenException('Request is missing Authentication Token: Coffer reads the signature from the Authorization header only; query-string (presigned) signing is not supported.');
    }
    throw new MissingAuthenticationTokenException('Request is missing Authentication Token');
  }
  // Which one was meant is not for the server to pick (joined, they read as one with every parameter twice).
  const authorizations = request.headers.authorization;
  if (Array.isArray(authorizations) && authorizations.length > 1) throw new IncompleteSignatureException('The request has more than one Authorization header.');
  const auth = parseAuthorization(authorization);

  // X-Amz-Date first, else Date, as AWS reads them (General Reference, "Handling dates in
  // Signature Version 4"); botocore signs with Date when the request carries one.
  // An empty X-Amz-Date is none: the Date header then gives the date.
  const amzDateHeader = header(request, 'x-amz-date') || undefined;
  const httpDateHeader = amzDateHeader ? undefined : header(request, 'date');
  if (!amzDateHeader && !httpDateHeader) {
    throw new IncompleteSignatureException("Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.");
  }
  const signingDate = amzDateHeader ? parseAmzDate(amzDateHeader) : parseHttpDate(httpDateHeader!);
  if (!signingDate) {
    throw new IncompleteSignatureException(amzDateHeader
      ? `X-Amz-Date must be in the ISO 8601 basic format yyyyMMddTHHmmssZ: ${excerpt(amzDateHeader, 32)}`
      : `Date must be an HTTP date (Sun, 06 Nov 1994 08:49:37 GMT) or in the ISO 8601 basic format yyyyMMddTHHmmssZ: ${excerpt(httpDateHeader!, 40)}`);
  }
  // The string to sign carries the date in the basic format, whichever header gave it.
  const dateHeader = amzDateHeader ?? amzDate(signingDate.getTime());
  // The canonical request names headers in lower case; listed otherwise, no header would be found
  // by its name, and the message would say Host was not signed.
  if (auth.signedHeaders.some((name) => name !== name.toLowerCase())) {
    throw new InvalidSignatureException(`SignedHeaders must name the signed headers in lower case: '${excerpt(auth.signedHeaders.join(';'), 200)}'.`);
  }
  if (!auth.signedHeaders.includes('host')) throw new InvalidSignatureException("'Host' must be a 'SignedHeader' in the AWS Authorization.");
  // X-Amz-Target names the operation: unsigned, a request signed for DescribeKey could be replayed
  // as ScheduleKeyDeletion, or as CofferAdmin.CreateAccessKey. SigV4 has every x-amz-* header a
  // request carries signed; every AWS SDK signs it.
  if (header(request, 'x-amz-target') !== undefined && !auth.signedHeaders.includes('x-amz-target')) {
    throw new InvalidSignatureException("'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
  }
  // RFC 9112 §3.2: a request with more than one Host line is refused; a proxy before the server could route on either.
  const hosts = request.headers.host;
  if (Array.isArray(hosts) && hosts.length > 1) throw new IncompleteSignatureException('The request has more than one Host header.');
  if (auth.date !== dateHeader.slice(0, 8)) {
    throw new InvalidSignatureException(`Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${auth.date}' != '${dateHeader.slice(0, 8)}', from '${dateHeader}'.`);
  }
  if (auth.service !== expected.service) {
    throw new InvalidSignatureException(`Credential should be scoped to correct service: '${expected.service}'. `);
  }
  if (auth.region !== expected.region) {
    throw new InvalidSignatureException(`Credential should be scoped to a valid region, not '${excerpt(auth.region, 32)}'. This server serves '${expected.region}'.`);
  }
  const skew = signingDate.getTime() - expected.now;
  if (skew < -MAX_CLOCK_SKEW_MS) {
    throw new InvalidSignatureException(`Signature expired: ${dateHeader} is now earlier than ${amzDate(expected.now - MAX_CLOCK_SKEW_MS)} (${amzDate(expected.now)} - 5 min.)`);
  }
  if (skew > MAX_CLOCK_SKEW_MS) {
    throw new InvalidSignatureException(`Signature not yet current: ${dateHeader} is still later than ${amzDate(expected.now + MAX_CLOCK_SKEW_MS)} (${amzDate(expected.now)} + 5 min.)`);
  }
  // Coffer issues no session tokens, so a request carrying one was not made with a Coffer key.
  if (header(request, 'x-amz-security-token') !== undefined) {
    throw new UnrecognizedClientException('The security token included in the request is invalid.');
  }
  const accessKey = await accessKeys.findActive(auth.accessKeyId);
  if (!accessKey) throw new UnrecognizedClientException('The security token included in the request is invalid.');

  const bodyHash = createHash('sha256').update(request.body).digest('hex');
  const claimedHash = header(request, 'x-amz-content-sha256');
  if (claimedHash !== undefined && claimedHash !== bodyHash) {
    throw new InvalidSignatureException('The x-amz-content-sha256 header does not match the SHA-256 of the request body.');
  }

  const signed = new Set(auth.signedHeaders);
  const headers: Record<string, string> = Object.create(null);
  for (const name of signed) {
    const value = header(request, name);
    if (value === undefined) throw new InvalidSignatureException(`Signed header '${excerpt(name, 64)}' is missing from the request.`);
    headers[name] = value;
  }
  headers['x-amz-content-sha256'] = bodyHash;
  // The date signed is the header's own text; one that names no real instant (a 30 February)
  // matches no signature, as it never did.
  if (dateHeader !== lastRealDate) {
    if (amzDate(signingDate.getTime()) !== dateHeader) throw signatureMismatch(undefined);
    lastRealDate = dateHeader;
  }
  const canonicalRequest = canonicalizer.canonicalRequest(
    canonicalForm(request, headers),
    getCanonicalHeaders({ headers } as HttpRequest, new Set([...Object.keys(headers)].filter((h) => !signed.has(h))), signed),
    bodyHash,
  );
  const scope = createScope(auth.date, auth.region, auth.service);
  const stringToSign = `${ALGORITHM}\n${dateHeader}\n${scope}\n${createHash('sha256').update(canonicalRequest, 'utf8').digest('hex')}`;
  const signingKey = cachedSigningKey(accessKey, scope) ?? (await deriveSigningKey(accessKey, scope, auth.date, auth.region, auth.service));
  const computed = createHmac('sha256', signingKey).update(stringToSign, 'utf8').digest('hex');
  const given = Buffer.from(auth.signature, 'utf8');
  if (given.length !== computed.length || !timingSafeEqual(given, Buffer.from(computed, 'utf8'))) throw signatureMismatch({ canonicalRequest, stringToSign });
  return accessKey;
}

/**
 * AWS's answer to a signature that does not match, with the canonical request and string to sign
 * the server computed, as AWS's JSON services give them: a client's author compares them with its
 * own (IAM User Guide, "Troubleshoot Signature Version 4 errors"). Neither holds a secret: the
 * signing key is derived from the secret and never shown.
 */
function signatureMismatch(computed: { canonicalRequest: string; stringToSign: string } | undefined): Error {
  const mismatch = 'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.';
  if (computed === undefined) return new InvalidSignatureException(mismatch);
  return new InvalidSignatureException(`${mismatch}\n\nThe Canonical String for this request should have been\n'${computed.canonicalRequest}'\n\n`
    + `The String-to-Sign should have been\n'${computed.stringToSign}'\n`);
}

/** Method, path and query as the canonical request reads them; a KMS request's target is `/`. */
function canonicalForm(request: SignedRequest, headers: Record<string, string>): HttpRequest {
  if (request.url === '/') return { method: request.method, path: '/', query: {}, headers } as unknown as HttpRequest;
  const url = new URL(request.url, 'http://coffer.invalid');
  const query: Record<string, string | string[]> = {};
  for (const [k, v] of url.searchParams) {
    const prior = query[k];
    query[k] = prior === undefined ? v : [...(Array.isArray(prior) ? prior : [prior]), v];
  }
  return new HttpRequest({ method: request.method, protocol: 'http:', hostname: 'coffer.invalid', path: url.pathname, query, headers });
}
