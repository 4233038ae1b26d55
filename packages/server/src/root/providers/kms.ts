import { randomBytes } from 'node:crypto';
import { DecryptCommand, EncryptCommand, KMSClient } from '@aws-sdk/client-kms';
import type { RootKeyDescriptor } from '../keyring.js';
import type { RemoteKmsOptions } from '../options.js';
import { StartupError } from '../root-key.js';
import { memorySealer } from '../sealer.js';
import type { RootKeyProvider } from './provider.js';

interface RemoteSettings { readonly endpoint?: string; readonly region: string; readonly keyId: string }

/** The encryption context the remote KMS binds the root key to: it names Coffer's root key and its id. */
const contextOf = (id: string): Record<string, string> => ({ 'coffer:purpose': 'root-key', 'coffer:root-key-id': id });

function clientOf(remote: RemoteSettings, options: RemoteKmsOptions | undefined, warn: ((message: string) => void) | undefined): KMSClient {
  // The SDK's own warnings (its credential chain's "Multiple credential sources detected") go where
  // the server's go: its console.warn default would put plain text among the JSON log lines.
  const warning = warn ?? ((message: string) => process.emitWarning(message));
  return new KMSClient({
    region: remote.region,
    // Its errors (a failed call, logged by the SDK with the request) reach us as the call's rejection.
    logger: { debug: () => {}, info: () => {}, warn: (...parts: unknown[]) => warning(parts.map(String).join(' ')), error: () => {} },
    ...(remote.endpoint !== undefined ? { endpoint: remote.endpoint } : {}),
    ...(options?.credentials ? { credentials: options.credentials } : {}),
    ...(options?.profile !== undefined ? { profile: options.profile } : {}),
    // A start should fail in seconds when the remote is down, not retry for a minute.
    maxAttempts: 2,
  });
}

function remoteOf(options: RemoteKmsOptions | undefined, descriptor?: RootKeyDescriptor): RemoteSettings {
  if (options?.endpoint !== undefined) {
    const problem = kmsEndpointProblem('--root-kms-endpoint', options.endpoint);
    if (problem !== undefined) throw new StartupError(problem);
  }
  const stored = descriptor?.settings ?? {};
  const endpoint = options?.endpoint ?? (typeof stored.endpoint === 'string' ? stored.endpoint : undefined);
  const region = options?.region ?? (typeof stored.region === 'string' ? stored.region : undefined) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION;
  const keyId = descriptor ? stored.keyId : options?.keyId;
  if (typeof keyId !== 'string' || keyId === '') throw new StartupError('The kms root key needs the remote key that wraps it: pass --root-kms-key-id.');
  if (!region) throw new StartupError('The kms root key needs the remote region: pass --root-kms-region or set AWS_REGION.');
  return { region, keyId, ...(endpoint !== undefined ? { endpoint } : {}) };
}

/**
 * What is wrong with a remote KMS's endpoint, named as `name` (the flag or the admin API's member),
 * or undefined: it must be an http(s) URL without credentials in it. The server signs its calls
 * with its own AWS credentials, and the endpoint is kept in the keyring: a `user:password@` there
 * would be stored in the clear.
 */
export function kmsEndpointProblem(name: string, value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `${name} must be an http or https URL, such as https://kms.us-east-1.amazonaws.com.`;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `${name} must be an http or https URL, such as https://kms.us-east-1.amazonaws.com.`;
  if (url.username !== '' || url.password !== '') {
    return `${name} must not carry credentials (user:password@): calls to the remote KMS are signed with the server's own AWS credentials.`;
  }
  return undefined;
}

/**
 * The endpoint as messages and GetRootKeyStatus name it: its scheme, host and port only. Its path,
 * parameters, query and fragment could carry a token, and the message reaches the caller of
 * RotateRootKey and its audit record.
 */
export function shownEndpoint(endpoint: string): string {
  try {
    return new URL(endpoint).origin;
  } catch {
    return 'the configured endpoint';
  }
}

/** What the remote said, by name: an error name and its message are the remote's, never a secret of ours. */
function refused(remote: RemoteSettings, action: string, error: unknown): StartupError {
  const where = remote.endpoint !== undefined ? shownEndpoint(remote.endpoint) : `AWS KMS in ${remote.region}`;
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  const network = /ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|socket hang up|TimeoutError/.test(`${name} ${message}`);
  return new StartupError(network
    ? `The remote KMS at ${where} could not be reached to ${action} the root key (${name}: ${message}): check --root-kms-endpoint and the network; nothing was changed.`
    : `The remote KMS at ${where} refused to ${action} the root key with ${remote.keyId} (${name}: ${message}): check the key id, its state and policy, and the credentials; nothing was changed.`);
}

/**
 * `kms`: a random 256-bit root key encrypted by another KMS (Coffer or AWS KMS), as auto-unseal.
 * The descriptor keeps the endpoint, region, key id and the encrypted root key; at each start the
 * remote decrypts it, with the credentials of the AWS default chain (or a profile).
 */
export const kmsProvider: RootKeyProvider = {
  async create(id, context) {
    const remote = remoteOf(context.options.kms);
    const client = clientOf(remote, context.options.kms, context.warn);
    const key = randomBytes(32);
    let blob: Uint8Array | undefined;
    try {
      blob = (await client.send(new EncryptCommand({ KeyId: remote.keyId, Plaintext: key, EncryptionContext: contextOf(id) }))).CiphertextBlob;
    } catch (error) {
      throw refused(remote, 'encrypt', error);
    } finally {
      client.destroy();
    }
    if (!blob) throw new StartupError('The remote KMS returned no ciphertext for the root key.');
    const settings: Record<string, string | number> = { region: remote.region, keyId: remote.keyId, blob: Buffer.from(blob).toString('base64') };
    if (remote.endpoint !== undefined) settings.endpoint = remote.endpoint;
    return { settings, sealer: memorySealer(key) };
  },

  async open(descriptor, context) {
    const remote = remoteOf(context.options.kms, descriptor);
    const blob = descriptor.settings.blob;
    if (typeof blob !== 'string') throw new StartupError(`The kms root key ${descriptor.id} has no encrypted root key in the keyring: restore the store from backup.`);
    const client = clientOf(remote, context.options.kms, context.warn);
    try {
      const answer = await client.send(new DecryptCommand({ KeyId: remote.keyId, CiphertextBlob: Buffer.from(blob, 'base64'), EncryptionContext: contextOf(descriptor.id) }));
      if (answer.Plaintext?.length !== 32) throw new StartupError('The remote KMS returned a root key of the wrong length.');
      return memorySealer(Buffer.from(answer.Plaintext));
    } catch (error) {
      if (error instanceof StartupError) throw error;
      throw refused(remote, 'decrypt', error);
    } finally {
      client.destroy();
    }
  },

  mismatchHint: (descriptor) => `The remote KMS key ${String(descriptor.settings.keyId)} returned a root key that is not the one the store was written with: nothing was changed.`,
};
