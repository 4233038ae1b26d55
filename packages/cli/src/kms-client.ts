import { Agent } from 'node:https';
import { DescribeKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { ApiError, noErrorNamed, pageMarkers, requireMembers } from './admin-client.js';
import type { Connection } from './connection.js';
import { IoError, UsageError } from './usage.js';

/**
 * The official AWS SDK client for a connection, so every client command works the same against
 * Coffer and against AWS KMS. Retries are the SDK's (3 attempts unless AWS_MAX_ATTEMPTS or the
 * profile's max_attempts says otherwise).
 */
export function createKmsClient(connection: Connection): KMSClient {
  // The SDK's notice about its own future Node.js support is not about the user's command: it
  // would print on every run and bury the command's output and errors. AWS's variable opts in.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new KMSClient({
    endpoint: connection.endpoint, region: connection.region, credentials: connection.credentials,
    requestHandler: {
      connectionTimeout: connection.connectTimeoutMs,
      // Inactivity, as the AWS CLI's read timeout: an answer that stops coming for this long fails.
      socketTimeout: connection.readTimeoutMs,
      ...(connection.ca ? { httpsAgent: new Agent({ ca: connection.ca }) } : {}),
    },
  });
  client.middlewareStack.add((next, context) => async (args) => {
    const result = await next(args);
    const operation = String(context.commandName ?? '').replace(/Command$/, '');
    // With a Recipient (Nitro enclaves), KMS answers CiphertextForRecipient in place of Plaintext.
    const forRecipient = (args.input as { Recipient?: unknown }).Recipient !== undefined;
    requireMembers(result.output, (KMS_ANSWERS[operation] ?? []).filter((member) => !(forRecipient && member === 'Plaintext')), operation);
    return result;
  }, { step: 'initialize', name: 'cofferAnswerMembers' });
  return client;
}

/**
 * What each KMS answer the CLI reads always holds (AWS KMS's API reference). The SDK reads `{}`
 * as an answer with every member absent: from an endpoint that is not KMS (another service, a
 * proxy) that would print `undefined`, crash the command reading it, or write an empty file for
 * `coffer random`, each with a success; it is a MalformedResponse instead.
 */
const KMS_ANSWERS: Readonly<Record<string, readonly string[]>> = {
  CancelKeyDeletion: ['KeyId'], CreateGrant: ['GrantId', 'GrantToken'], CreateKey: ['KeyMetadata'], DescribeKey: ['KeyMetadata'],
  Decrypt: ['KeyId', 'Plaintext'], Encrypt: ['CiphertextBlob', 'KeyId'],
  GenerateDataKey: ['CiphertextBlob', 'KeyId', 'Plaintext'], GenerateDataKeyWithoutPlaintext: ['CiphertextBlob', 'KeyId'],
  GenerateRandom: ['Plaintext'], GetKeyPolicy: ['Policy'], GetKeyRotationStatus: ['KeyRotationEnabled'],
  ListAliases: ['Aliases'], ListGrants: ['Grants'], ListKeyRotations: ['Rotations'], ListKeys: ['Keys'],
  ListResourceTags: ['Tags'], ListRetirableGrants: ['Grants'], RotateKeyOnDemand: ['KeyId'], ScheduleKeyDeletion: ['KeyId'],
};

/** Network failures that mean "nobody answered there" (or not in the protocol the URL says: EPROTO), not "the server said no". */
const CONNECTION_FAILURES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT', 'EPIPE', 'EPROTO']);

/**
 * What the CLI shows for an error: the SDK's service errors become an {@link ApiError} of the
 * same AWS name (main.ts maps names to exit codes and hints), connection failures become
 * `ConnectionError`; the CLI's own errors pass through.
 */
export function cliErrorOf(error: unknown, endpoint?: string): unknown {
  if (error instanceof UsageError || error instanceof IoError || error instanceof ApiError || !(error instanceof Error)) return error;
  const metadata = (error as { $metadata?: { httpStatusCode?: number } }).$metadata;
  if (metadata !== undefined && (error as { $fault?: string }).$fault !== undefined) {
    const message = error.message && error.message !== error.name && error.message !== 'UnknownError' ? error.message : 'the server gave no detail';
    // No error named at all (an empty 404 or 503: a proxy, a load balancer, another service on
    // that port): its status says more than "Unknown", and so does the question where it came from.
    if ((error.name === 'Unknown' || error.name === 'UnknownError') && message === 'the server gave no detail') {
      return noErrorNamed(endpoint, metadata.httpStatusCode ?? 0);
    }
    return new ApiError(error.name, message, metadata.httpStatusCode ?? 0);
  }
  if (error.name === 'CredentialsProviderError') return new ApiError('CredentialsProviderError', error.message, 0);
  const network = networkErrorOf(error, endpoint);
  if (network) return network;
  // An answer the SDK could not read (an HTML page: another server, a proxy's error page): said as
  // the admin commands say it, with its status, rather than as the JSON parser's words. After the
  // network's errors: an answer cut off midway is one the SDK could not read either.
  const response = (error as { $response?: { statusCode?: number } }).$response;
  if (response !== undefined && /Deserialization error/.test(error.message)) {
    return new ApiError('MalformedResponse', `the server at ${endpoint ?? 'the endpoint'} did not answer with JSON (HTTP ${response.statusCode ?? 'status unknown'}): is it a Coffer server?`, response.statusCode ?? 0);
  }
  return error;
}

/**
 * Node's codes for a server certificate this process does not trust: self-signed, of an unknown
 * CA, expired, or for another name.
 */
const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
]);

/** A failure to reach the endpoint (`ConnectionError`, `Timeout`) or to trust it (`UntrustedCertificate`), or undefined for any other error. */
export function networkErrorOf(error: Error, endpoint: string | undefined): ApiError | undefined {
  // The SDK's (and admin-client's) --cli-read-timeout and --cli-connect-timeout. The SDK names
  // a connection the server closed (ECONNRESET, EPIPE) a TimeoutError too, so that it retries:
  // those carry their code, and no timeout can help them.
  if (error.name === 'TimeoutError' && (error as NodeJS.ErrnoException).code === undefined) {
    const connecting = /did not establish a connection|^no connection/.test(error.message);
    return new ApiError('Timeout', `${connecting ? 'no connection to' : 'no answer from'} ${endpoint ?? 'the server'} in time (${error.message})`, 0);
  }
  const cause = error.cause as NodeJS.ErrnoException | undefined;
  const code = (error as NodeJS.ErrnoException).code ?? cause?.code;
  if (code === undefined) return undefined;
  const detail = error instanceof AggregateError ? error.errors.map((e: Error) => e.message).join('; ') : (cause?.message ?? error.message);
  if (UNTRUSTED_CERTIFICATE.has(code)) return new ApiError('UntrustedCertificate', `cannot trust the certificate of ${endpoint ?? 'the server'} (${detail || code})`, 0);
  if (code === 'ECONNRESET' && /^aborted\b/.test(detail)) {
    // An answer begun, then cut off; the SDK adds lines of its own on deserializing it.
    return new ApiError('ConnectionError', `${endpoint ?? 'the server'} closed the connection before its answer was complete (aborted)`, 0);
  }
  if (code === 'ECONNRESET' && detail === 'socket hang up') {
    // Taken, then closed before any answer: an https:// server asked in plain HTTP does that.
    return new ApiError('ConnectionError', `${endpoint ?? 'the server'} closed the connection without answering (socket hang up)`, 0);
  }
  if (CONNECTION_FAILURES.has(code)) return new ApiError('ConnectionError', `cannot reach ${endpoint ?? 'the server'} (${detail || code})`, 0);
  return undefined;
}

const ALIAS = /^(alias\/|arn:[^:]+:kms:[^:]*:[^:]*:alias\/)/;

/**
 * The key ARN for KEY, which may be a key id, key ARN, alias name or alias ARN. Only needed for
 * operations where AWS accepts no alias: the alias is looked up with DescribeKey.
 */
export async function keyArnOf(kms: KMSClient, key: string): Promise<string> {
  if (!ALIAS.test(key)) return key;
  const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: key }));
  return KeyMetadata?.Arn ?? key;
}

interface Page {
  readonly Truncated?: boolean | undefined;
  readonly NextMarker?: string | undefined;
}

/** Every page of a `Marker`-paginated list operation. */
export async function allPages<P extends Page>(fetchPage: (marker: string | undefined) => Promise<P>): Promise<P[]> {
  const pages: P[] = [];
  const next = pageMarkers('list');
  let marker: string | undefined;
  do {
    const page = await fetchPage(marker);
    pages.push(page);
    marker = next(page.Truncated ? page.NextMarker : undefined);
  } while (marker !== undefined);
  return pages;
}

/**
 * A KMS answer as JSON: AWS field names, binary fields in base64 (as the AWS CLI prints them),
 * dates in ISO 8601, without the SDK's `$metadata`.
 */
export function jsonOf(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64');
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(jsonOf);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).filter(([k, v]) => k !== '$metadata' && v !== undefined).map(([k, v]) => [k, jsonOf(v)]));
  }
  return value;
}

/** Runs `use` with a client for the connection, and closes its sockets after. */
export async function withKms<T>(connection: Connection, use: (kms: KMSClient) => Promise<T>): Promise<T> {
  const kms = createKmsClient(connection);
  try {
    return await use(kms);
  } catch (error) {
    throw cliErrorOf(error, connection.endpoint);
  } finally {
    kms.destroy();
  }
}
