import type { KeyringRecord, RootKeyDescriptor } from '../root/keyring.js';

/** A root key as the admin API shows it: its non-secret settings, without the remote-encrypted blob. */
export function rootKeyView(descriptor: RootKeyDescriptor, current: string): Record<string, unknown> {
  const { blob: _blob, ...settings } = descriptor.settings;
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
