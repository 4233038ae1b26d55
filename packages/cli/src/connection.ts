import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { ApiError } from './admin-client.js';
import { configuredEndpoint, sharedConfigFile } from './profile-endpoint.js';
import { IoError, UsageError } from './usage.js';

/** The connection flags every client command shares. */
export const CONNECTION_OPTIONS = {
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
  'ca-bundle': { type: 'string' },
  'cli-read-timeout': { type: 'string' },
  'cli-connect-timeout': { type: 'string' },
} as const;

export const CONNECTION_HELP = `Connection:
  --endpoint-url URL     the server     COFFER_ENDPOINT, AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL, the profile's
                         endpoint_url in the shared config file (default http://127.0.0.1:4600)
  --region REGION        its region     AWS_REGION, AWS_DEFAULT_REGION, the profile's region (default us-east-1)
  --profile NAME         credentials    AWS_PROFILE; the usual AWS variables and files apply. Without
                         either, a local server's ./.coffer/credentials is used with profile [coffer].
  --ca-bundle FILE       certificates to trust for https, as PEM    AWS_CA_BUNDLE (the certificate
                         \`coffer serve --tls-self-signed\` prints, or a private CA's)
  --cli-read-timeout S   seconds to wait for an answer that has stopped coming (default 60; 0 waits for ever)
  --cli-connect-timeout S  seconds to wait for a connection (default 60; 0 waits for ever)`;

export interface Connection {
  readonly endpoint: string;
  /** A region given, or one read from the profile's configuration when first needed. */
  readonly region: string | (() => Promise<string>);
  readonly credentials: AwsCredentialIdentityProvider;
  /** Certificates (PEM) to trust for an https endpoint, instead of the system's. */
  readonly ca?: Buffer;
  /** How long an answer may stop coming, and a connection take, before the command fails; 0: no limit. */
  readonly readTimeoutMs: number;
  readonly connectTimeoutMs: number;
}

/**
 * The AWS CLI's defaults for its --cli-read-timeout and --cli-connect-timeout: a server that takes
 * a connection and never answers fails the command, not leaves it (or a CI job) waiting for good.
 */
const DEFAULT_TIMEOUT_SECONDS = 60;

/** Node's longest timer (2^31 - 1 ms, some 24 days), in whole seconds: a longer one would fire at once. */
const MOST_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

function timeoutMs(text: string | undefined, flag: string): number {
  if (text === undefined) return DEFAULT_TIMEOUT_SECONDS * 1000;
  if (!/^\d{1,7}$/.test(text) || Number(text) > MOST_TIMEOUT_SECONDS) {
    throw new UsageError(`${flag} must be a whole number of seconds from 0 to ${MOST_TIMEOUT_SECONDS}, not '${text}'`, `for example ${flag} 120, or 0 to wait for ever`);
  }
  return Number(text) * 1000;
}

/**
 * Where to connect and as whom, from flags, then the usual AWS environment variables and
 * profiles. A local server's credentials file is the last resort, so `coffer` works right after
 * `coffer serve` in the same directory and never overrides credentials the user set up.
 */
export function resolveConnection(
  flags: { 'endpoint-url'?: string; region?: string; profile?: string; 'ca-bundle'?: string; 'cli-read-timeout'?: string; 'cli-connect-timeout'?: string },
  env = process.env,
): Connection {
  let profile = flags.profile ?? env.AWS_PROFILE;
  const localCredentials = join(resolve(env.COFFER_DATA_DIR ?? '.coffer'), 'credentials');
  const credentialsChosen = profile !== undefined || env.AWS_ACCESS_KEY_ID !== undefined || env.AWS_SHARED_CREDENTIALS_FILE !== undefined;
  const local = !credentialsChosen && existsSync(localCredentials);
  // The local server's administrator key goes to the local server: a [default] profile's
  // endpoint_url (another emulator's, say) is not where its requests are sent. An empty variable
  // is unset, as the AWS CLI takes an empty AWS_ENDPOINT_URL; configured endpoints turned off
  // leave the AWS variables unread too (COFFER_ENDPOINT is this tool's own, as a flag).
  const endpoint = flags['endpoint-url'] ?? (env.COFFER_ENDPOINT || configuredEndpoint(profile, env, !local) || 'http://127.0.0.1:4600');
  assertEndpoint(endpoint);
  const given = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  // A region is a DNS label of the endpoint and the scope of every signature: an empty or spaced
  // one is a bad command line (exit 2), not a failure the SDK reports after the fact (exit 1).
  if (given !== undefined && !/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(given)) {
    throw new UsageError(`the region '${given}' is not a region name`, 'pass one such as --region us-east-1, or set AWS_REGION');
  }
  if (local) {
    env.AWS_SHARED_CREDENTIALS_FILE = localCredentials;
    profile = 'coffer';
  }
  const provider = credentialsProvider(flags.profile, profile, env);
  let cached: Promise<AwsCredentialIdentity> | undefined;
  let profileRegion: Promise<string> | undefined;
  const region = given ?? (() => (profileRegion ??= regionOfProfile(profile)));
  // Only for https, as the AWS CLI reads it: an AWS_CA_BUNDLE left set for other tools (even one
  // that does not exist) does not stop commands to a plain-http server.
  const ca = /^https:/i.test(endpoint) ? caBundle(flags['ca-bundle'] ?? (env.AWS_CA_BUNDLE || undefined)) : undefined;
  const readTimeoutMs = timeoutMs(flags['cli-read-timeout'], '--cli-read-timeout');
  const connectTimeoutMs = timeoutMs(flags['cli-connect-timeout'], '--cli-connect-timeout');
  const named = profile;
  const credentials = () => (cached ??= provider().catch((error: unknown) => {
    // Coffer's own refusal (partial keys in the environment) is said as it is.
    if (error instanceof ApiError) throw error;
    // The SDK's "Could not load credentials from any providers": a shared file that cannot be
    // read, or a profile that is nowhere, said as such.
    throw credentialsProblem(named, env) ?? error;
  }));
  return { endpoint, region, credentials, ...(ca ? { ca } : {}), readTimeoutMs, connectTimeoutMs };
}

/**
 * The credentials, in the AWS CLI's (botocore's) order: a --profile given on the command line;
 * else keys in the environment (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, with
 * AWS_SESSION_TOKEN), which win over AWS_PROFILE; else the profile (AWS_PROFILE, [default]) and
 * the SDK's other sources. AWS_ACCESS_KEY_ID without its secret is refused, as the AWS CLI refuses
 * it: the [default] profile (an administrator's, perhaps) would have signed in its place. A secret
 * alone names no one, and is passed over, as botocore passes it over.
 */
function credentialsProvider(flagProfile: string | undefined, profile: string | undefined, env: NodeJS.ProcessEnv): AwsCredentialIdentityProvider {
  const accessKeyId = env.AWS_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY || undefined;
  if (flagProfile === undefined && accessKeyId !== undefined) {
    if (secretAccessKey === undefined) {
      const partial = new ApiError('CredentialsProviderError', 'partial credentials in the environment: AWS_ACCESS_KEY_ID is set, AWS_SECRET_ACCESS_KEY is not', 0);
      return () => Promise.reject(partial);
    }
    const sessionToken = env.AWS_SESSION_TOKEN || undefined;
    return async () => ({ accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) });
  }
  // A --profile given wins over keys in the environment, as the AWS CLI's does: the SDK's warning
  // that both are set (and that it takes the profile) says nothing the user did not ask for.
  const quiet = { debug: () => {}, info: () => {}, warn: () => {}, error: () => {} };
  return defaultProvider(profile !== undefined ? { profile, ...(flagProfile !== undefined ? { logger: quiet } : {}) } : {});
}

/** A malformed endpoint is a bad command line (exit 2), for KMS and admin commands alike. */
function assertEndpoint(endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new UsageError(`the endpoint '${endpoint}' is not a URL`, 'pass a URL such as --endpoint-url http://127.0.0.1:4600');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`the endpoint '${endpoint}' is not an http or https URL`, 'pass a URL such as --endpoint-url http://127.0.0.1:4600');
  }
}

/**
 * Why no credentials were found, when the shared files tell: one of them cannot be read (another
 * user's, mode 0600), or neither has a section for the profile named. Else undefined.
 */
function credentialsProblem(named: string | undefined, env: NodeJS.ProcessEnv): ApiError | undefined {
  const profile = named ?? 'default';
  const credentialsFile = env.AWS_SHARED_CREDENTIALS_FILE || join(homedir(), '.aws', 'credentials');
  const configFile = sharedConfigFile(env);
  const escaped = profile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const sections = [new RegExp(`^\\s*\\[\\s*${escaped}\\s*\\]`, 'm'), new RegExp(`^\\s*\\[\\s*profile\\s+${escaped}\\s*\\]`, 'm')];
  // A file that exists but cannot be read (another user's, mode 0600) is the cause to name: the
  // profile may well be in it.
  const unreadable: string[] = [];
  const has = (file: string, patterns: RegExp[]) => {
    try {
      const text = readFileSync(file, 'utf8');
      return patterns.some((p) => p.test(text));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') unreadable.push(`${file} (${code ?? (error as Error).message})`);
      return false;
    }
  };
  // Both files are read, not the second only when the first lacks the section: `aws configure`
  // puts a profile's region in the config file and its keys in the credentials file.
  const found = [has(credentialsFile, [sections[0]!]), has(configFile, sections)];
  // The profile's keys are in a file that was read, or in the environment: what is wrong there
  // (a secret missing) is the SDK's to say, not an unreadable file's.
  if (found[0] || (named === undefined && (env.AWS_ACCESS_KEY_ID || env.AWS_SECRET_ACCESS_KEY))) return undefined;
  if (unreadable.length > 0) {
    return new ApiError('CredentialsProviderError', `cannot read ${unreadable.join(' or ')}, so the profile '${profile}' could not be looked up`, 0);
  }
  if (named === undefined || found.includes(true)) return undefined;
  return new ApiError('CredentialsProviderError', `the profile '${profile}' is in neither ${credentialsFile} nor ${configFile}`, 0);
}

/** The certificates of `--ca-bundle` (or AWS_CA_BUNDLE, the AWS CLI's variable, which the server's banner suggests). */
function caBundle(path: string | undefined): Buffer | undefined {
  if (path === undefined) return undefined;
  let pem: Buffer;
  try {
    pem = readFileSync(path);
  } catch (error) {
    throw new IoError(`cannot read the CA bundle ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, 'pass --ca-bundle (or AWS_CA_BUNDLE) the PEM file of the certificates to trust');
  }
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
    throw new UsageError(`the CA bundle ${path} holds no PEM certificate`, 'pass the certificate file itself, e.g. the tls-self-signed.crt `coffer serve --tls-self-signed` prints');
  }
  return pem;
}

/**
 * The `region` of the profile's section in the shared config file, as the AWS CLI reads it, or
 * us-east-1. Read by the AWS SDK's own configuration loader (a client's region with none given).
 */
async function regionOfProfile(profile: string | undefined): Promise<string> {
  // As createKmsClient (kms-client.ts): the SDK's notice about Node.js versions is not the command's output.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const client = new KMSClient(profile !== undefined ? { profile } : {});
  try {
    return await client.config.region();
  } catch {
    return 'us-east-1'; // no region configured for the profile
  } finally {
    client.destroy();
  }
}
