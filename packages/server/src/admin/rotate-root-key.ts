import { randomBytes } from 'node:crypto';
import { KMSInternalException, KMSInvalidStateException, ValidationException } from '../errors.js';
import type { Operation } from '../operations/operation.js';
import { KeyringConflictError } from '../root/keyring-root-key.js';
import { ROOT_KEY_PROVIDERS } from '../root/keyring.js';
import type { RootKeyOptions } from '../root/options.js';
import { kmsEndpointProblem } from '../root/providers/kms.js';
import { StartupError } from '../root/root-key.js';
import { enumeration, integer, parseShape, string } from '../validate/shape.js';
import { keyringView } from './root-key-view.js';

const shape = {
  Provider: enumeration(ROOT_KEY_PROVIDERS),
  // A passphrase typed at `coffer root rotate`'s prompt: the audit trail never keeps it (audit/sanitize.ts).
  Passphrase: string({ min: 8, max: 1024, sensitive: true }),
  Pkcs11Library: string({ min: 1, max: 4096 }),
  // A slot id is a CK_ULONG: 32 bits at least, and every token in use numbers its slots within them.
  Pkcs11Slot: integer({ min: 0, max: 0xffff_ffff }),
  Pkcs11TokenLabel: string({ min: 1, max: 32 }),
  Pkcs11KeyLabel: string({ min: 1, max: 128 }),
  KmsEndpoint: string({ min: 1, max: 2048 }),
  KmsRegion: string({ min: 1, max: 64 }),
  KmsKeyId: string({ min: 1, max: 2048 }),
};

/** Which provider each request setting is for. */
const SETTING_PROVIDER: Readonly<Record<string, string>> = {
  Passphrase: 'passphrase',
  Pkcs11Library: 'pkcs11', Pkcs11Slot: 'pkcs11', Pkcs11TokenLabel: 'pkcs11', Pkcs11KeyLabel: 'pkcs11',
  KmsEndpoint: 'kms', KmsRegion: 'kms', KmsKeyId: 'kms',
};

/**
 * A setting for another kind of root key than the one being made is refused, not ignored: it was
 * meant for something (a passphrase given with Provider file would otherwise rotate to a file key
 * and answer 200, the passphrase quietly unused).
 */
function refuseSettingsOfOtherProviders(input: Readonly<Record<string, unknown>>, provider: string): void {
  const stray = Object.keys(SETTING_PROVIDER).filter((name) => input[name] !== undefined && SETTING_PROVIDER[name] !== provider);
  if (stray.length > 0) {
    throw new ValidationException(`${stray.join(', ')} ${stray.length === 1 ? 'is' : 'are'} not used by a ${provider} root key; leave ${stray.length === 1 ? 'it' : 'them'} out, or give the Provider ${stray.length === 1 ? 'it is' : 'they are'} for.`);
  }
}

/**
 * RotateRootKey (Coffer admin API): makes a new root key current at once, of the same provider
 * as the current one or of `Provider` (a migration), and re-wraps every root-wrapped value under
 * it in the background; the old root keys retire when that is done (docs/root-keys.md). Settings
 * not given come from the server's own root-key configuration, and secrets (the PIN, remote
 * credentials) only from there, except a passphrase, which may come in the signed request.
 */
export const rotateRootKey: Operation = async (service, body, request) => {
  const input = parseShape(body, shape);
  await service.access.authorizeAccount(request, 'coffer:RotateRootKey');
  if (input.KmsEndpoint !== undefined) checkKmsEndpoint(input.KmsEndpoint);
  const root = service.rootKeys;
  if (!root) throw new KMSInternalException('This server has no root keyring.');
  const current = root.key.currentDescriptor;
  const provider = input.Provider ?? current.provider;
  refuseSettingsOfOtherProviders(input, provider);
  // A new key of the current provider lives where the current one does, unless told otherwise.
  const inherited = provider === current.provider ? current.settings : {};
  const text = (name: string): string | undefined => (typeof inherited[name] === 'string' ? inherited[name] as string : undefined);
  const configured = root.options;
  const usedLabels = new Set(root.key.keyring.keys.map((k) => k.settings.keyLabel));
  const configuredLabel = configured.pkcs11?.keyLabel;
  const options: RootKeyOptions = {
    provider,
    // Never the server's prompt: a rotation must not wait on the server's terminal.
    ...(input.Passphrase ?? (typeof configured.passphrase === 'string' ? configured.passphrase : undefined)) !== undefined
      ? { passphrase: input.Passphrase ?? (configured.passphrase as string) } : {},
    pkcs11: {
      ...(text('library') !== undefined ? { library: text('library') } : {}),
      ...(text('tokenLabel') !== undefined ? { tokenLabel: text('tokenLabel') } : {}),
      ...(typeof inherited.slot === 'number' ? { slot: inherited.slot } : {}),
      ...configured.pkcs11,
      ...(input.Pkcs11Library !== undefined ? { library: input.Pkcs11Library } : {}),
      ...(input.Pkcs11Slot !== undefined ? { slot: input.Pkcs11Slot } : {}),
      ...(input.Pkcs11TokenLabel !== undefined ? { tokenLabel: input.Pkcs11TokenLabel } : {}),
      // A slot given alone names the token: an inherited or configured label must not win over it.
      ...(input.Pkcs11Slot !== undefined && input.Pkcs11TokenLabel === undefined ? { tokenLabel: undefined } : {}),
      keyLabel: input.Pkcs11KeyLabel ?? (configuredLabel !== undefined && !usedLabels.has(configuredLabel) ? configuredLabel : `coffer-root-${randomBytes(4).toString('hex')}`),
    },
    kms: {
      ...(text('endpoint') !== undefined ? { endpoint: text('endpoint') } : {}),
      ...(text('region') !== undefined ? { region: text('region') } : {}),
      ...(text('keyId') !== undefined ? { keyId: text('keyId') } : {}),
      ...configured.kms,
      ...(input.KmsEndpoint !== undefined ? { endpoint: input.KmsEndpoint } : {}),
      ...(input.KmsRegion !== undefined ? { region: input.KmsRegion } : {}),
      ...(input.KmsKeyId !== undefined ? { keyId: input.KmsKeyId } : {}),
    },
  };
  // What only the request can supply, asked for in the request's terms (the providers' own
  // messages name `coffer serve`'s flags).
  if (provider === 'passphrase' && options.passphrase === undefined) {
    throw new ValidationException('A passphrase root key needs a Passphrase (coffer root rotate --passphrase-file or --prompt-passphrase), as the server has none configured.');
  }
  if (provider === 'kms' && options.kms?.keyId === undefined) {
    throw new ValidationException('A kms root key needs the remote key that wraps it: give KmsKeyId (coffer root rotate --kms-key-id).');
  }
  try {
    const descriptor = await root.rotation.begin(provider, options, root.dataDir, service.now());
    return { RootKeyId: descriptor.id, Provider: descriptor.provider, ...keyringView(root.key.keyring) };
  } catch (error) {
    if (error instanceof KeyringConflictError) throw new KMSInvalidStateException(`A root-key rotation cannot begin: ${error.message}. Wait for it to finish (coffer root status).`);
    // The provider's own message names the problem (a wrong PIN, a missing token): never a secret.
    if (error instanceof StartupError) throw new ValidationException(error.message);
    throw error;
  }
};

/** A remote KMS's endpoint: an http(s) URL without credentials in it (kmsEndpointProblem). */
function checkKmsEndpoint(value: string): void {
  const problem = kmsEndpointProblem('KmsEndpoint', value);
  if (problem !== undefined) throw new ValidationException(problem);
}
