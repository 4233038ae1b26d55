import type { RootKeyProviderName } from './keyring.js';

/**
 * How the server reaches its root keys. `provider` and the non-secret settings choose the root key
 * of a fresh store (and the target of a rotation); an existing store opens its keys from the
 * descriptors it keeps, with the secrets given here. Secrets are never stored.
 */
export interface RootKeyOptions {
  /** The provider of a fresh store's root key: `file` (the default), `passphrase`, `pkcs11`, `kms`. */
  readonly provider?: RootKeyProviderName;
  /**
   * The passphrase of `passphrase` root keys, or how to ask for it (a prompt, only when a
   * passphrase key is met; `create` when a new key is made from it, so a prompt can ask twice).
   */
  readonly passphrase?: string | ((purpose: 'create' | 'open') => Promise<string>);
  /**
   * The passphrase a rotation between two passphrases is moving away from: until it finishes the
   * store holds values under both root keys, and a start needs both (COFFER_ROOT_PREVIOUS_PASSPHRASE).
   */
  readonly previousPassphrase?: string;
  readonly pkcs11?: Pkcs11Options;
  readonly kms?: RemoteKmsOptions;
}

export interface Pkcs11Options {
  /** Path of the PKCS#11 module (e.g. /usr/lib/softhsm/libsofthsm2.so); overrides the stored one. */
  readonly library?: string;
  /** The token, by slot id or by label (the label is the steadier: slot ids may change). */
  readonly slot?: number;
  readonly tokenLabel?: string;
  /** The user PIN: a secret, never stored. */
  readonly pin?: string;
  /** The label of the root key object on the token, for a fresh store or a rotation target. */
  readonly keyLabel?: string;
}

export interface RemoteKmsOptions {
  /** Endpoint URL of the remote KMS (Coffer or AWS KMS); AWS's regional endpoint when unset. */
  readonly endpoint?: string;
  readonly region?: string;
  /** The remote key (id, ARN or alias) that wraps the root key. */
  readonly keyId?: string;
  /** A profile of the AWS shared config/credentials files; the default credential chain when unset. */
  readonly profile?: string;
  /** Explicit credentials, for embedding and tests; never stored. */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

/** What every provider is given: where the data directory is, and the options above. */
export interface ProviderContext {
  readonly dataDir: string;
  readonly options: RootKeyOptions;
  /** Where warnings go (a root key file others can read); a process warning when absent. */
  readonly warn?: (message: string) => void;
}

/**
 * The secrets' environment variables, for tools that open a store without a server config
 * (`coffer store check`, `coffer audit verify`).
 */
export function rootKeyOptionsFromEnv(env: NodeJS.ProcessEnv = process.env): RootKeyOptions {
  return {
    ...(env.COFFER_ROOT_PASSPHRASE !== undefined ? { passphrase: env.COFFER_ROOT_PASSPHRASE } : {}),
    ...(env.COFFER_ROOT_PREVIOUS_PASSPHRASE ? { previousPassphrase: env.COFFER_ROOT_PREVIOUS_PASSPHRASE } : {}),
    ...(env.COFFER_PKCS11_PIN !== undefined ? { pkcs11: { pin: env.COFFER_PKCS11_PIN } } : {}),
  };
}
