import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { readRootKeyFile, writeRootKeyFile } from '../file-root-key.js';
import type { RootKeyDescriptor } from '../keyring.js';
import type { ProviderContext } from '../options.js';
import { StartupError } from '../root-key.js';
import { memorySealer } from '../sealer.js';
import type { RootKeyProvider } from './provider.js';

const KEY_LENGTH = 32;

const pathOf = (descriptor: RootKeyDescriptor, context: ProviderContext): string => {
  const path = String(descriptor.settings.path);
  return isAbsolute(path) ? path : join(context.dataDir, path);
};

/**
 * `file`: a 256-bit key in a file of its own, mode 0600. The legacy root.key is opened by
 * file-root-key.ts (format 0x01); keys made by the keyring live in `root-<id>.key` beside it.
 */
export const fileProvider: RootKeyProvider = {
  async create(id, context) {
    const name = `root-${id}.key`;
    const key = randomBytes(KEY_LENGTH);
    const path = join(context.dataDir, name);
    writeRootKeyFile(path, key);
    // The id is new, so the file is the one just written.
    return { settings: { path: name }, sealer: memorySealer(key), discard: async () => rmSync(path, { force: true }) };
  },

  async open(descriptor, context) {
    const path = pathOf(descriptor, context);
    if (!existsSync(path)) {
      throw new StartupError(`The root key file ${path} (root key ${descriptor.id}) is missing. Restore it from backup; Coffer will not create a new root key over existing data.`);
    }
    return memorySealer(readRootKeyFile(path, context.warn));
  },

  mismatchHint: (descriptor) => `The root key file ${String(descriptor.settings.path)} is not the one the store was written with: restore the original file; nothing was changed.`,
};
