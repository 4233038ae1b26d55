import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { UsageError } from './usage.js';

/** The connection flags every client command shares. */
export const CONNECTION_OPTIONS = {
  'endpoint-url': { type: 'string' },
  region: { type: 'string' },
  profile: { type: 'string' },
} as const;

export const CONNECTION_HELP = `Connection:
  --endpoint-url URL     the server     COFFER_ENDPOINT, AWS_ENDPOINT_URL_KMS, AWS_ENDPOINT_URL (default http://127.0.0.1:4600)
  --region REGION        its region     AWS_REGION, AWS_DEFAULT_REGION (default us-east-1)
  --profile NAME         credentials    AWS_PROFILE; the usual AWS variables and files apply. Without
                         either, a local server's ./.coffer/credentials is used with profile [coffer].`;

export interface Connection {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentityProvider;
}

/**
 * Where to connect and as whom, from flags, then the usual AWS environment variables and
 * profiles. A local server's credentials file is the last resort, so `coffer` works right after
 * `coffer serve` in the same directory and never overrides credentials the user set up.
 */
export function resolveConnection(flags: { 'endpoint-url'?: string; region?: string; profile?: string }, env = process.env): Connection {
  const endpoint = flags['endpoint-url'] ?? env.COFFER_ENDPOINT ?? env.AWS_ENDPOINT_URL_KMS ?? env.AWS_ENDPOINT_URL ?? 'http://127.0.0.1:4600';
  const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  // A region is a DNS label of the endpoint and the scope of every signature: an empty or spaced
  // one is a bad command line (exit 2), not a failure the SDK reports after the fact (exit 1).
  if (!/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(region)) {
    throw new UsageError(`the region '${region}' is not a region name`, 'pass one such as --region us-east-1, or set AWS_REGION');
  }
  let profile = flags.profile ?? env.AWS_PROFILE;
  const localCredentials = join(resolve(env.COFFER_DATA_DIR ?? '.coffer'), 'credentials');
  const credentialsChosen = profile !== undefined || env.AWS_ACCESS_KEY_ID !== undefined || env.AWS_SHARED_CREDENTIALS_FILE !== undefined;
  if (!credentialsChosen && existsSync(localCredentials)) {
    env.AWS_SHARED_CREDENTIALS_FILE = localCredentials;
    profile = 'coffer';
  }
  const provider = defaultProvider(profile !== undefined ? { profile } : {});
  let cached: Promise<AwsCredentialIdentity> | undefined;
  return { endpoint, region, credentials: () => (cached ??= provider()) };
}
