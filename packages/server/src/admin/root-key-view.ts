import { shownEndpoint } from '../root/providers/kms.js';
import type { KeyringRecord, RootKeyDescriptor } from '../root/keyring.js';

/**
 * A root key as the admin API shows it: its non-secret settings, without the remote-encrypted
 * blob, and a remote KMS's endpoint by its scheme, host and port (shownEndpoint: its path or query
 * could carry a token, and a keyring made before serve refused credentials in it may hold them).
 */
export function rootKeyView(descriptor: RootKeyDescriptor, current: string): Record<string, unknown> {
  const { blob: _blob, ...stored } = descriptor.settings;
  const settings = typeof stored.endpoint === 'string' ? { ...stored, endpoint: shownEndpoint(stored.endpoint) } : stored;
  return {
    RootKeyId: descriptor.id,
    Provider: descriptor.provider,
    Settings: settings,
    ...(descriptor.createdAt > 0 ? { CreationDate: descriptor.createdAt / 1000 } : {}),
    Current: descriptor.id === current,
  };
}

export function keyringView(keyring: KeyringRecord): Record<string, unknown> {
  return {
    CurrentRootKeyId: keyring.current,
    RootKeys: keyring.keys.map((k) => rootKeyView(k, keyring.current)),
    RotationState: keyring.rotation ? 'IN_PROGRESS' : 'NONE',
    ...(keyring.rotation ? { Rotation: { Phase: keyring.rotation.phase, Rewrapped: keyring.rotation.rewrapped, StartDate: keyring.rotation.startedAt / 1000 } } : {}),
  };
}
