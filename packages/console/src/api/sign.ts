import { Sha256 } from '@aws-crypto/sha256-js';
import { clearCredentialCache, SignatureV4 } from '@smithy/signature-v4';

/** An access key as typed into the sign-in form. It lives only in the running app's memory. */
export interface Credentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
}

/** The one signer of a session: whatever holds it can sign as the signed-in principal until dispose(). */
export interface RequestSigner {
  /** The headers to send with one POST of `body` to the origin's `/`, signed for `service` (`kms`, `sts`). */
  sign(service: string, headers: Record<string, string>, body: string): Promise<Record<string, string>>;
  /**
   * Forgets the credentials and every signing key derived from them; a later sign() throws.
   * A derived key signs any request of its day, region and service as well as the secret does, so
   * it has to go with the session, not wait for the tab to close.
   */
  dispose(): void;
}

/**
 * Signs POSTs to `origin` with SigV4, as the AWS SDKs sign KMS calls.
 *
 * The pure-JS SHA-256 is deliberate: WebCrypto exists only in secure contexts, and an operator may
 * well open the console over plain HTTP on a private network. The browser sets Host itself (it is
 * a forbidden header for fetch), so it is signed with the value the browser will send and then
 * dropped from the headers handed to fetch.
 *
 * `@smithy/signature-v4` keeps the signing keys it derives in a cache of its module, not of the
 * signer, keyed by day, region, service and a hash of the access key: dropping the signer leaves
 * them there. So dispose() empties that cache with the library's clearCredentialCache(); a tab has
 * one session at a time, so there is no other session's key to lose.
 */
export function createSigner(credentials: Credentials, region: string, origin: URL): RequestSigner {
  let held: Credentials | undefined = credentials;
  const signer = new SignatureV4({
    // Read at each signing, so that the signer itself holds no secret once the session ends.
    credentials: async () => {
      if (!held) throw new TypeError('the session has ended: sign in again');
      return held;
    },
    region, service: 'kms', sha256: Sha256,
  });
  return {
    async sign(service, headers, body) {
      if (!held) throw new TypeError('the session has ended: sign in again');
      const signed = await signer.sign({
        method: 'POST', protocol: origin.protocol, hostname: origin.hostname, path: '/', query: {},
        headers: { ...headers, host: origin.host },
        body,
        ...(origin.port ? { port: Number(origin.port) } : {}),
      }, { signingService: service });
      // Ended while this request was signed: its derivation may have refilled the cache.
      if (!held) {
        clearCredentialCache();
        throw new TypeError('the session has ended: sign in again');
      }
      const { host: _host, ...rest } = signed.headers;
      return rest;
    },
    dispose() {
      held = undefined;
      clearCredentialCache();
    },
  };
}
