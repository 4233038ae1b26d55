import { randomBytes, scrypt } from 'node:crypto';
import type { RootKeyOptions } from '../options.js';
import { StartupError } from '../root-key.js';
import { memorySealer } from '../sealer.js';
import type { RootKeyProvider } from './provider.js';

/** scrypt at N = 2^15, r = 8, p = 1 (32 MiB, ~0.1 s): RFC 7914's interactive-use parameters, at least. */
const DEFAULTS = { N: 2 ** 15, r: 8, p: 1 } as const;
const SALT_BYTES = 16;

function derive(passphrase: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  // maxmem must exceed 128 * N * r, which the default (32 MiB) does not leave room for at N = 2^15.
  const maxmem = 256 * N * r + 1024 * 1024;
  return new Promise((done, fail) => scrypt(passphrase.normalize('NFC'), salt, 32, { N, r, p, maxmem }, (error, key) => (error ? fail(error) : done(key))));
}

async function passphraseOf(options: RootKeyOptions, purpose: 'create' | 'open'): Promise<string> {
  const passphrase = typeof options.passphrase === 'function' ? await options.passphrase(purpose) : options.passphrase;
  if (passphrase === undefined || passphrase === '') {
    throw new StartupError('The root key is a passphrase root key, but no passphrase was given: set COFFER_ROOT_PASSPHRASE, pass --root-passphrase-file, or start on a terminal to be prompted.');
  }
  return passphrase;
}

/**
 * `passphrase`: the root key is derived with scrypt from a passphrase that is never stored; the
 * descriptor keeps the scrypt parameters and a random salt, and the keyring's check value tells a
 * wrong passphrase at start.
 */
export const passphraseProvider: RootKeyProvider = {
  async create(_id, context) {
    const passphrase = await passphraseOf(context.options, 'create');
    if (passphrase.length < 8) throw new StartupError('The root-key passphrase is shorter than 8 characters: choose a longer one.');
    // Each start must give it again: a control character could not be typed at the prompt (they
    // edit the line there) or, NUL, set in the environment, and would lock the store to one way in.
    if (/[\u0000-\u0008\u000a-\u001f\u007f]/.test(passphrase)) {
      throw new StartupError('The root-key passphrase holds a control character (only tab is taken): choose one of printable characters.');
    }
    const salt = randomBytes(SALT_BYTES);
    const key = await derive(passphrase, salt, DEFAULTS.N, DEFAULTS.r, DEFAULTS.p);
    return { settings: { kdf: 'scrypt', N: DEFAULTS.N, r: DEFAULTS.r, p: DEFAULTS.p, salt: salt.toString('base64') }, sealer: memorySealer(key) };
  },

  async open(descriptor, context) {
    const passphrase = await passphraseOf(context.options, 'open');
    const { N, r, p, salt } = descriptor.settings;
    if (descriptor.settings.kdf !== 'scrypt' || typeof N !== 'number' || typeof r !== 'number' || typeof p !== 'number' || typeof salt !== 'string') {
      throw new StartupError(`The passphrase root key ${descriptor.id} has damaged settings in the keyring: restore the store from backup.`);
    }
    return memorySealer(await derive(passphrase, Buffer.from(salt, 'base64'), N, r, p));
  },

  mismatchHint: () => 'The root-key passphrase is wrong: give the passphrase the store was created with; nothing was changed. '
    + 'While a rotation from one passphrase to another is under way (or was cut short), give the new one and the previous one in COFFER_ROOT_PREVIOUS_PASSPHRASE.',
};
