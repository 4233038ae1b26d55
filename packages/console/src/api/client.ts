import { visibleText } from '../format.js';
import { createSigner, type Credentials, type RequestSigner } from './sign.js';

/** An error the server answered, by its AWS name (`__type`) and message. */
export class ApiError extends Error {
  constructor(readonly code: string, message: string, readonly status: number) {
    super(message);
    this.name = code;
  }
}

/**
 * `Name: message` for showing an error; unexpected failures (network, bugs) keep their own text.
 * Shown with visibleText: a message quotes what the caller asked (`Alias alias/‮... is not found`).
 */
export function describeError(error: unknown): string {
  return visibleText(errorText(error));
}

function errorText(error: unknown): string {
  // Its first paragraph: a signature mismatch goes on with the canonical request the server
  // expected, which helps the author of a signer, not a user of this one (a wrong secret).
  if (error instanceof ApiError) return error.message ? `${error.code}: ${error.message.split('\n\n')[0]}` : error.code;
  return error instanceof Error ? error.message : String(error);
}

/**
 * Whether a refusal says the page is out of date: what it showed was deleted, or its state
 * changed, by someone else (another tab, the CLI). The panel then reads again what it shows, so
 * the button that failed is not offered on a thing that is gone, or in a state it has left.
 */
export function isChangedElsewhere(error: unknown): boolean {
  return error instanceof ApiError && (error.code === 'NotFoundException' || error.code === 'KMSInvalidStateException');
}

/** What a client answers once its session has ended (Api.dispose). */
const signedOut = () => new ApiError('SignedOut', 'This session has ended: sign in again.', 0);

export type Json = Record<string, unknown>;

export interface Api {
  readonly region: string;
  /** A KMS operation: `X-Amz-Target: TrentService.<op>`. */
  kms<T = Json>(operation: string, input?: Json): Promise<T>;
  /** A Coffer admin operation: `X-Amz-Target: CofferAdmin.<op>`. */
  admin<T = Json>(operation: string, input?: Json): Promise<T>;
  /** STS GetCallerIdentity in its JSON form: who the credentials belong to. */
  whoAmI(): Promise<{ Arn: string; Account: string; UserId: string }>;
  /** Ends the client with its session: it forgets the credentials, and every later call fails with `SignedOut`. */
  dispose(): void;
}

/**
 * The console's one way to reach the server: AWS JSON 1.1 POSTs to its own origin, each signed
 * with SigV4 for the service `kms` (`sts` for GetCallerIdentity). The credentials are held by this
 * client's signer and nowhere else: no storage, no cookie, no URL. A reference to the client can
 * outlive the session (React keeps old props, a DevTools user can keep anything), so dispose()
 * drops the signer rather than trusting that the client becomes unreachable.
 */
export function createApi(credentials: Credentials, region: string): Api {
  let signer: RequestSigner | undefined = createSigner(credentials, region, new URL(window.location.origin));
  const call = async <T>(target: string, service: string, contentType: string, input: Json): Promise<T> => {
    const current = signer;
    if (!current) throw signedOut();
    const body = JSON.stringify(input);
    // Ended while this call was being signed: the signer refuses, and says so as the ended session.
    const headers = await current.sign(service, { 'content-type': contentType, 'x-amz-target': target }, body)
      .catch((failure: unknown) => { throw signer ? failure : signedOut(); });
    let response: Response;
    try {
      response = await fetch('/', { method: 'POST', headers, body, credentials: 'omit', cache: 'no-store' });
    } catch {
      throw new ApiError('NetworkError', 'The server could not be reached.', 0);
    }
    const text = await response.text();
    let parsed: Json = {};
    try {
      parsed = text ? (JSON.parse(text) as Json) : {};
    } catch {
      throw new ApiError('InvalidResponse', `The server answered HTTP ${response.status} with a body that is not JSON.`, response.status);
    }
    if (!response.ok) {
      const type = typeof parsed.__type === 'string' ? parsed.__type.split('#').pop()! : `HTTP${response.status}`;
      const message = typeof parsed.message === 'string' ? parsed.message : typeof parsed.Message === 'string' ? parsed.Message : '';
      throw new ApiError(type, message, response.status);
    }
    return parsed as T;
  };
  return {
    region,
    kms: (operation, input = {}) => call(`TrentService.${operation}`, 'kms', 'application/x-amz-json-1.1', input),
    admin: (operation, input = {}) => call(`CofferAdmin.${operation}`, 'kms', 'application/x-amz-json-1.1', input),
    whoAmI: () => call('AWSSecurityTokenServiceV20110615.GetCallerIdentity', 'sts', 'application/x-amz-json-1.0', {}),
    dispose: () => {
      signer?.dispose();
      signer = undefined;
    },
  };
}
