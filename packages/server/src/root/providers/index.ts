import type { RootKeyProviderName } from '../keyring.js';
import { fileProvider } from './file.js';
import { kmsProvider } from './kms.js';
import { passphraseProvider } from './passphrase.js';
import { pkcs11Provider } from './pkcs11.js';
import type { RootKeyProvider } from './provider.js';

/** The one table of root-key providers. */
export const ROOT_KEY_PROVIDER_TABLE: Readonly<Record<RootKeyProviderName, RootKeyProvider>> = Object.freeze({
  file: fileProvider,
  passphrase: passphraseProvider,
  pkcs11: pkcs11Provider,
  kms: kmsProvider,
});
