/**
 * The AWS KMS client seam. The SDK never imports `@aws-sdk/client-kms` at load time: callers
 * may hand in any object with the v3 client's `send(command)` shape (a `KMSClient` from
 * `@aws-sdk/client-kms`, pointed at Coffer or AWS KMS), and the command classes are imported
 * lazily the first time a KMS keyring calls out. The package is an optional peer dependency.
 */
import { KeyringError } from '../../errors.js';

/** The part of `KMSClient` the keyrings use. */
export interface KmsClientLike {
  // `any`: the v3 client's send is overloaded per command; this is the shape all of them share.
  send(command: any): Promise<any>;
}

/**
 * Returns the client for a region (undefined when the key identifier names no region: a bare
 * key id or alias). May return a promise. Use it for per-region clients, custom endpoints
 * (Coffer) and credentials.
 */
export type KmsClientSupplier = (region: string | undefined) => KmsClientLike | Promise<KmsClientLike>;

interface Command {
  readonly input: object;
}
type CommandClass = new (input: object) => Command;
interface KmsModule {
  readonly KMSClient: new (config: { region?: string }) => KmsClientLike;
  readonly GenerateDataKeyCommand: CommandClass;
  readonly EncryptCommand: CommandClass;
  readonly DecryptCommand: CommandClass;
}

let kmsModule: Promise<KmsModule> | undefined;

/** `@aws-sdk/client-kms`, imported on first use. */
export function loadKms(): Promise<KmsModule> {
  kmsModule ??= import('@aws-sdk/client-kms').then(
    (m) => m as unknown as KmsModule,
    (cause: unknown) => {
      kmsModule = undefined;
      throw new TypeError('AWS KMS keyrings need the optional peer dependency @aws-sdk/client-kms', { cause });
    },
  );
  return kmsModule;
}

/** The default supplier: one `KMSClient` per region, with the SDK's default credential chain. */
export function defaultClientSupplier(): KmsClientSupplier {
  const clients = new Map<string, Promise<KmsClientLike>>();
  return (region) => {
    const k = region ?? '';
    let c = clients.get(k);
    if (c === undefined) {
      c = loadKms().then((m) => new m.KMSClient(region === undefined ? {} : { region }));
      clients.set(k, c);
    }
    return c;
  };
}

export function resolveClientSupplier(options: { client?: KmsClientLike; clientSupplier?: KmsClientSupplier }): KmsClientSupplier {
  if (options.client !== undefined && options.clientSupplier !== undefined) {
    throw new TypeError('pass either client or clientSupplier, not both');
  }
  if (options.client !== undefined) {
    if (typeof options.client?.send !== 'function') throw new TypeError('client must have a send(command) method');
    const client = options.client;
    return () => client;
  }
  if (options.clientSupplier !== undefined) {
    if (typeof options.clientSupplier !== 'function') throw new TypeError('clientSupplier must be a function');
    const supplier = options.clientSupplier;
    // The caller's code runs here: what it throws, or a client it does not give, is the keyring
    // failing (a KeyringError, the cause kept), so callers meet only the SDK's own error classes.
    return async (region) => {
      const where = region === undefined ? 'the default region' : `region ${region}`;
      let client: KmsClientLike;
      try {
        client = await supplier(region);
      } catch (cause) {
        throw new KeyringError(`the clientSupplier failed for ${where}`, { cause });
      }
      if (typeof client?.send !== 'function') throw new KeyringError(`the clientSupplier gave no KMS client for ${where}`);
      return client;
    };
  }
  return defaultClientSupplier();
}

export function resolveGrantTokens(tokens: unknown): readonly string[] {
  if (tokens === undefined) return Object.freeze([]);
  if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string' || t === '')) {
    throw new TypeError('grantTokens must be an array of non-empty strings');
  }
  return Object.freeze([...tokens]);
}

/** The request fields every call shares: grant tokens only when there are any. */
export function grantTokensField(tokens: readonly string[]): { GrantTokens?: string[] } {
  return tokens.length === 0 ? {} : { GrantTokens: [...tokens] };
}
