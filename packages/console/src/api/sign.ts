import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

/** An access key as typed into the sign-in form. It lives only in the running app's memory. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/**
 * Signs one POST to the console's own origin with SigV4, as the AWS SDKs sign KMS calls.
 *
 * The pure-JS SHA-256 is deliberate: WebCrypto exists only in secure contexts, and an operator may
 * well open the console over plain HTTP on a private network. The browser sets Host itself (it is
 * a forbidden header for fetch), so it is signed with the value the browser will send and then
 * dropped from the headers handed to fetch.
 */
export async function signedHeaders(
  credentials: Credentials, region: string, service: string, headers: Record<string, string>, body: string,
): Promise<Record<string, string>> {
  const origin = new URL(window.location.href);
  const signer = new SignatureV4({ credentials, region, service, sha256: Sha256 });
  const signed = await signer.sign({
    method: 'POST', protocol: origin.protocol, hostname: origin.hostname, path: '/', query: {},
    headers: { ...headers, host: origin.host },
    body,
    ...(origin.port ? { port: Number(origin.port) } : {}),
  });
  const { host: _host, ...rest } = signed.headers;
  return rest;
}
