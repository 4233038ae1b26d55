import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Credentials } from '../test/support/server.js';

export { readCredentials, type Credentials } from '../test/support/server.js';

export interface SignedRequest {
  readonly headers: Record<string, string>;
  readonly body: string;
  /** Epoch ms of signing: the server accepts the signature for 5 minutes from then. */
  readonly signedAt: number;
}

/**
 * A KMS request signed with SigV4 by the AWS SDK's own signer, as test/support/server.ts
 * rawRequest signs it, ready to be sent as it is any number of times.
 */
export async function signKmsRequest(endpoint: string, credentials: Credentials, operation: string, input: unknown, region = 'us-east-1'): Promise<SignedRequest> {
  const url = new URL(endpoint);
  const body = JSON.stringify(input);
  const signer = new SignatureV4({ credentials, region, service: 'kms', sha256: Hash.bind(null, 'sha256') });
  const signedAt = Date.now();
  const signed = await signer.sign(new HttpRequest({
    method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/',
    headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}` },
    body,
  }), { signingDate: new Date(signedAt) });
  return { headers: signed.headers, body, signedAt };
}

/** Sends a signed request once and returns the parsed JSON answer, failing on any non-2xx. */
export async function send(endpoint: string, request: SignedRequest): Promise<Record<string, unknown>> {
  const response = await fetch(endpoint, { method: 'POST', headers: request.headers, body: request.body });
  const text = await response.text();
  if (!response.ok) throw new Error(`HTTP ${response.status}: ${text}`);
  return JSON.parse(text) as Record<string, unknown>;
}
