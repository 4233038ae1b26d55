import type { RootKeyDescriptor } from '../keyring.js';
import type { ProviderContext } from '../options.js';
import type { RootSealer } from '../sealer.js';

/** A new root key: its non-secret settings, to be stored in its descriptor, and a sealer over it. */
export interface CreatedRootKey {
  readonly settings: Record<string, string | number>;
  readonly sealer: RootSealer;
  /**
   * Removes what `create` made outside the store (the key file, the token object, by the handle
   * it was made with), for a key no keyring will name: its keyring write lost a race. Before the
   * sealer is closed. Absent when create made nothing outside the store.
   */
  readonly discard?: () => Promise<void>;
}

/**
 * One root-key provider. Both methods throw StartupError with a message that names the problem
 * and what to do; neither writes anything before every check that can fail has passed.
 */
export interface RootKeyProvider {
  /** Makes a new root key with this keyring id. */
  create(id: string, context: ProviderContext): Promise<CreatedRootKey>;
  /** Opens an existing root key from its descriptor (the keyring then proves it with the check value). */
  open(descriptor: RootKeyDescriptor, context: ProviderContext): Promise<RootSealer>;
  /**
   * Opens a key again after its sealer threw RootKeyUnavailableError while serving (a token that
   * went away and came back), returning a sealer that `proves` (the keyring's check value) or
   * throwing: only providers whose key lives outside the process have it.
   */
  reopen?(descriptor: RootKeyDescriptor, context: ProviderContext, proves: (sealer: RootSealer) => Promise<boolean>): Promise<RootSealer>;
  /** What to tell an operator whose key fails its check value. */
  mismatchHint(descriptor: RootKeyDescriptor): string;
}
