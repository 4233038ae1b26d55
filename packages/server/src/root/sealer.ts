import { openAesGcm, sealAesGcm } from './aes-gcm.js';

/**
 * What a root-key provider does with its key: authenticated encryption bound to an AAD. The
 * keyring (keyring-root-key.ts) adds the header; a sealer never sees which value it wraps.
 */
export interface RootSealer {
  seal(plaintext: Uint8Array, aad: Uint8Array): Promise<Uint8Array>;
  /** Undefined when `sealed` does not open under this key with this AAD. */
  open(sealed: Uint8Array, aad: Uint8Array): Promise<Uint8Array | undefined>;
  /** Releases what the sealer holds (a token session); the sealer is not used again. */
  close(): Promise<void>;
}

/** A sealer over a 256-bit key held in process memory (the file, passphrase and kms providers). */
export function memorySealer(key: Buffer): RootSealer {
  return {
    seal: async (plaintext, aad) => sealAesGcm(key, plaintext, aad),
    open: async (sealed, aad) => openAesGcm(key, sealed, aad),
    close: async () => void key.fill(0),
  };
}
