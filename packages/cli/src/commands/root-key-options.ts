import type { RootKeyOptions, RootKeyProviderName } from '@coffer/server';
import { promptSecret, readSecretFile, secretFromEnv } from '../secret-input.js';
import { UsageError } from '../usage.js';

export const PROVIDERS: readonly RootKeyProviderName[] = ['file', 'passphrase', 'pkcs11', 'kms'];

/** The serve options of the root key (flag, then environment, then config file, as every serve option). */
export const ROOT_KEY_OPTIONS = {
  'root-key': { type: 'string', env: 'COFFER_ROOT_KEY' },
  'root-passphrase-file': { type: 'string', env: 'COFFER_ROOT_PASSPHRASE_FILE' },
  'pkcs11-library': { type: 'string', env: 'COFFER_PKCS11_LIBRARY' },
  'pkcs11-slot': { type: 'string', env: 'COFFER_PKCS11_SLOT' },
  'pkcs11-token-label': { type: 'string', env: 'COFFER_PKCS11_TOKEN_LABEL' },
  'pkcs11-pin-file': { type: 'string', env: 'COFFER_PKCS11_PIN_FILE' },
  'pkcs11-key-label': { type: 'string', env: 'COFFER_PKCS11_KEY_LABEL' },
  'root-kms-endpoint': { type: 'string', env: 'COFFER_ROOT_KMS_ENDPOINT' },
  'root-kms-region': { type: 'string', env: 'COFFER_ROOT_KMS_REGION' },
  'root-kms-key-id': { type: 'string', env: 'COFFER_ROOT_KMS_KEY_ID' },
  'root-kms-profile': { type: 'string', env: 'COFFER_ROOT_KMS_PROFILE' },
} as const;

/** What a shell completes after each root-key option that takes a path or one of a few words. */
export const ROOT_KEY_COMPLETIONS: Readonly<Partial<Record<keyof typeof ROOT_KEY_OPTIONS, 'file' | readonly string[]>>> = {
  'root-key': PROVIDERS,
  'root-passphrase-file': 'file',
  'pkcs11-library': 'file',
  'pkcs11-pin-file': 'file',
};

export const ROOT_KEY_HELP = `  --root-key PROVIDER    a fresh store's root key  COFFER_ROOT_KEY    (file (default), passphrase, pkcs11, kms)
  --root-passphrase-file FILE  the passphrase       COFFER_ROOT_PASSPHRASE_FILE (or COFFER_ROOT_PASSPHRASE; prompted on a terminal)
                         during a rotation between passphrases, the previous one too: COFFER_ROOT_PREVIOUS_PASSPHRASE
  --pkcs11-library PATH  PKCS#11 module            COFFER_PKCS11_LIBRARY (e.g. /usr/lib/softhsm/libsofthsm2.so)
  --pkcs11-token-label L the token, by label       COFFER_PKCS11_TOKEN_LABEL (or --pkcs11-slot N, COFFER_PKCS11_SLOT)
  --pkcs11-pin-file FILE the user PIN              COFFER_PKCS11_PIN_FILE (or COFFER_PKCS11_PIN)
  --pkcs11-key-label L   the root key's label      COFFER_PKCS11_KEY_LABEL
  --root-kms-endpoint URL  remote KMS (auto-unseal) COFFER_ROOT_KMS_ENDPOINT (default: AWS KMS)
  --root-kms-region R    its region                COFFER_ROOT_KMS_REGION
  --root-kms-key-id KEY  the remote key            COFFER_ROOT_KMS_KEY_ID
  --root-kms-profile P   AWS profile for it        COFFER_ROOT_KMS_PROFILE (default: the AWS credential chain)
`;

let prompted: Promise<string> | undefined;

/**
 * Asks on the terminal, once: twice in a row when a new root key is made from it (a typo would
 * lock the store). Later calls (a node opening a key another node made) get the same answer and
 * never wait on the terminal while serving.
 */
function promptPassphrase(purpose: 'create' | 'open'): Promise<string> {
  return (prompted ??= (async () => {
    const typed = await promptSecret(purpose === 'create' ? 'New root-key passphrase: ' : 'Root-key passphrase: ')!;
    if (purpose === 'create' && typed !== await promptSecret('Again: ')!) {
      throw new UsageError('the passphrases differ', 'start again and type the same passphrase twice');
    }
    return typed;
  })());
}

/**
 * The server's RootKeyOptions from the serve settings. Secrets come from a file, an environment
 * variable or (the passphrase) a prompt on the terminal, asked only if the store has a passphrase
 * root key; they are never taken as flag values, which other users could read from `ps`.
 */
export function rootKeyOptionsOf(setting: (name: keyof typeof ROOT_KEY_OPTIONS) => string | undefined): RootKeyOptions {
  const provider = setting('root-key');
  if (provider !== undefined && !(PROVIDERS as readonly string[]).includes(provider)) {
    throw new UsageError(`--root-key must be one of ${PROVIDERS.join(', ')}, not '${provider}'`, 'e.g. --root-key passphrase (docs/root-keys.md)');
  }
  const passphraseFile = setting('root-passphrase-file');
  const passphrase: RootKeyOptions['passphrase'] = passphraseFile !== undefined
    ? readSecretFile(passphraseFile, 'root-key passphrase')
    : secretFromEnv('COFFER_ROOT_PASSPHRASE', 'root-key passphrase') ?? (process.stdin.isTTY ? promptPassphrase : undefined);
  const previousPassphrase = secretFromEnv('COFFER_ROOT_PREVIOUS_PASSPHRASE', 'previous root-key passphrase');
  const pinFile = setting('pkcs11-pin-file');
  const pin = pinFile !== undefined ? readSecretFile(pinFile, 'PKCS#11 PIN') : secretFromEnv('COFFER_PKCS11_PIN', 'PKCS#11 PIN');
  const slotText = setting('pkcs11-slot');
  const slot = slotText === undefined ? undefined : Number(slotText);
  if (slot !== undefined && !Number.isInteger(slot)) throw new UsageError(`--pkcs11-slot must be a slot number, not '${slotText}'`, 'or name the token with --pkcs11-token-label');
  // Two ways of naming the token could name two tokens; the server would silently take the label's.
  if (slot !== undefined && setting('pkcs11-token-label') !== undefined) {
    throw new UsageError('--pkcs11-slot and --pkcs11-token-label both name the token', 'give one: the label (--pkcs11-token-label) survives slots being renumbered');
  }
  const some = <T extends object>(o: T): T | undefined => (Object.values(o).some((v) => v !== undefined) ? o : undefined);
  const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  const pkcs11 = some(defined({ library: setting('pkcs11-library'), slot, tokenLabel: setting('pkcs11-token-label'), pin, keyLabel: setting('pkcs11-key-label') }));
  const kms = some(defined({ endpoint: setting('root-kms-endpoint'), region: setting('root-kms-region'), keyId: setting('root-kms-key-id'), profile: setting('root-kms-profile') }));
  return {
    ...(provider !== undefined ? { provider: provider as RootKeyProviderName } : {}),
    ...(passphrase !== undefined ? { passphrase } : {}),
    // Only while a rotation from one passphrase to another is under way (docs/root-keys.md).
    ...(previousPassphrase !== undefined ? { previousPassphrase } : {}),
    ...(pkcs11 ? { pkcs11 } : {}),
    ...(kms ? { kms } : {}),
  };
}
