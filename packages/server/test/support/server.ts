import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KMSClient } from '@aws-sdk/client-kms';
import { startServer, type RunningServer, type StartOptions } from '../../src/index.js';

export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** Reads the [coffer] profile from a shared-credentials file the server wrote. */
export function readCredentials(path: string): Credentials {
  // The [coffer] profile's, as the AWS tools read it (other profiles may come first).
  const text = readFileSync(path, 'utf8').split(/^\s*\[\s*coffer\s*\]\s*(?:[;#].*)?$/m)[1]?.split(/^\s*\[/m)[0] ?? '';
  const accessKeyId = /aws_access_key_id\s*=\s*(\S+)/i.exec(text)?.[1];
  const secretAccessKey = /aws_secret_access_key\s*=\s*(\S+)/i.exec(text)?.[1];
  if (!accessKeyId || !secretAccessKey) throw new Error(`no credentials in ${path}`);
  return { accessKeyId, secretAccessKey };
}

/**
 * The same secret with its last character changed: always a different secret (a fixed replacement
 * letter would be a no-op whenever the secret already ends with it, one time in 64).
 */
export function wrongSecret(credentials: Credentials): Credentials {
  const secret = credentials.secretAccessKey;
  return { ...credentials, secretAccessKey: `${secret.slice(0, -1)}${secret.endsWith('X') ? 'Y' : 'X'}` };
}

/** Every directory tempDataDir made in this process, removed when the process (the test file) ends. */
const madeDirs: string[] = [];
export function removeAtExit(dir: string): string {
  if (madeDirs.length === 0) {
    process.once('exit', () => {
      // Child servers were SIGKILLed by their own exit handlers; a file one was still writing is no reason to fail.
      for (const made of madeDirs) {
        try {
          rmSync(made, { recursive: true, force: true, maxRetries: 2 });
        } catch {
          // Left in the temporary directory.
        }
      }
    });
  }
  madeDirs.push(dir);
  return dir;
}

export function tempDataDir(): string {
  return removeAtExit(mkdtempSync(join(tmpdir(), 'coffer-test-')));
}

export interface TestServer {
  readonly server: RunningServer;
  readonly dataDir: string;
  readonly credentials: Credentials;
  /** A client of the official AWS SDK pointed at the server, signed with the admin's key. */
  readonly kms: KMSClient;
  /** Stops the server; the data directory stays for a restart. */
  stop(): Promise<void>;
  /** Starts a new server process-object on the same data directory. */
  restart(): Promise<TestServer>;
  /** Stops the server and removes the data directory. */
  dispose(): Promise<void>;
}

export function kmsClient(endpoint: string, credentials: Credentials, region = 'us-east-1'): KMSClient {
  // No retries: a test must see the first answer, not a retried one.
  return new KMSClient({ endpoint, region, credentials, maxAttempts: 1 });
}

/** Starts a real server on a free loopback port with a fresh (or given) data directory. */
export async function startTestServer(options: StartOptions & { dataDir?: string } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDataDir();
  // Quotas off unless a test sets them: suites create keys far faster than AWS's 5 CreateKey per second.
  const server = await startServer({ port: 0, logger: () => {}, quotas: false, ...options, dataDir });
  const credentials = readCredentials(server.credentialsFile);
  const kms = kmsClient(server.endpoint, credentials, server.config.region);
  const stop = async () => {
    kms.destroy();
    await server.close();
  };
  return {
    server, dataDir, credentials, kms, stop,
    restart: async () => {
      await stop();
      return startTestServer({ ...options, dataDir });
    },
    dispose: async () => {
      await stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly body: Record<string, unknown>;
  readonly text: string;
}

/**
 * Sends one KMS request signed with SigV4 (by the SDK's own signer) and returns the raw HTTP
 * answer, for checks the SDK hides: the exact `__type`, an absent `message`, headers.
 */
export async function rawRequest(
  endpoint: string, credentials: Credentials, operation: string, body: unknown,
  opts: { region?: string; headers?: Record<string, string>; rawBody?: string | Uint8Array } = {},
): Promise<RawResponse> {
  const { SignatureV4 } = await import('@smithy/signature-v4');
  const { Hash } = await import('@smithy/hash-node');
  const { HttpRequest } = await import('@smithy/protocol-http');
  const url = new URL(endpoint);
  const payload = opts.rawBody ?? JSON.stringify(body);
  const signer = new SignatureV4({
    credentials, region: opts.region ?? 'us-east-1', service: 'kms', sha256: Hash.bind(null, 'sha256'),
  });
  const signed = await signer.sign(new HttpRequest({
    method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/',
    headers: {
      host: url.host,
      'content-type': 'application/x-amz-json-1.1',
      'x-amz-target': `TrentService.${operation}`,
      ...opts.headers,
    },
    body: payload,
  }));
  const response = await fetch(endpoint, { method: 'POST', headers: signed.headers, body: payload });
  const text = await response.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // left empty: the test looks at `text`
  }
  return { status: response.status, headers: response.headers, body: parsed, text };
}

/** Runs `fn` and returns the error it throws, failing if it does not. */
export async function errorOf(fn: () => Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number } }> {
  try {
    await fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error('expected an error, got success');
}
