import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import pkcs11js from 'pkcs11js';
import type { RootKeyDescriptor } from '../keyring.js';
import type { Pkcs11Options, ProviderContext } from '../options.js';
import { RootKeyUnavailableError, StartupError } from '../root-key.js';
import type { RootSealer } from '../sealer.js';
import type { RootKeyProvider } from './provider.js';

const IV_BYTES = 12;
const TAG_BITS = 128;

/**
 * One loaded PKCS#11 module per library path, initialised once for the process (C_Initialize may
 * be called only once per module) and finalised when its last sealer closes. `generation` counts
 * re-initialisations (reinitialise): a session or handle of an earlier generation is gone, and its
 * number may have been given to another session or object since.
 */
interface LoadedModule { readonly module: pkcs11js.PKCS11; users: number; generation: number }
const modules = new Map<string, LoadedModule>();

/**
 * The PINs a token refused while its module is loaded: never tried again until the server is
 * restarted (the module finalised), since a token counts wrong PINs and locks its user PIN.
 * Hashed, per token.
 */
const refusedPins = new Map<string, Set<string>>();
const pinKey = (settings: TokenSettings, pin: string) =>
  createHash('sha256').update(`${settings.tokenLabel ?? ''}\0${settings.slot ?? ''}\0${pin}`).digest('hex');
const pinRefused = (settings: TokenSettings, pin: string) => refusedPins.get(settings.library)?.has(pinKey(settings, pin)) ?? false;

function loadModule(library: string): LoadedModule {
  const loaded = modules.get(library);
  if (loaded) {
    loaded.users++;
    return loaded;
  }
  if (!existsSync(library)) {
    throw new StartupError(`The PKCS#11 library ${library} does not exist: install the HSM's PKCS#11 module or correct --pkcs11-library.`);
  }
  const module = new pkcs11js.PKCS11();
  try {
    module.load(library);
    module.C_Initialize();
  } catch (error) {
    // The loader's whole reason (a Cryptoki code, or the dynamic linker's "invalid ELF header",
    // "undefined symbol: C_GetFunctionList"): a path and a linker message, no secret.
    const reason = error instanceof Error ? error.message.replace(/\s+/g, ' ').slice(0, 300) : String(error);
    throw new StartupError(`The PKCS#11 library ${library} could not be loaded or initialised (${reason}): is it a PKCS#11 module, and is its configuration (e.g. SOFTHSM2_CONF) right?`);
  }
  const fresh = { module, users: 1, generation: 0 };
  modules.set(library, fresh);
  return fresh;
}

/**
 * Finalises and initialises a loaded module again. A token that went away and came back is not
 * seen again by a module that lost it (SoftHSM2 answers CKR_GENERAL_ERROR until then); every
 * session on the module ends, and the sealers that held one reopen (their generation is past).
 */
function reinitialise(library: string): void {
  const loaded = modules.get(library);
  if (!loaded) return;
  loaded.generation++;
  try {
    loaded.module.C_Finalize();
  } catch {
    // A module that lost its token may refuse to finalise; initialising is what matters.
  }
  loaded.module.C_Initialize();
}

function releaseModule(library: string): void {
  const loaded = modules.get(library);
  if (!loaded || --loaded.users > 0) return;
  modules.delete(library);
  refusedPins.delete(library);
  try {
    loaded.module.C_Finalize();
  } catch {
    // Finalising is tidying up; a module that refuses has nothing of ours left to lose.
  }
}

/** A Cryptoki error's name (CKR_PIN_INCORRECT ...): never a PIN, never key bytes. */
function codeOf(error: unknown): string {
  return error instanceof Error ? error.message.split(/[\s:]/)[0] || error.name : String(error);
}

/**
 * What C_Decrypt answers for a value that does not open under the key: a failed GCM tag is
 * CKR_ENCRYPTED_DATA_INVALID (CKR_AEAD_DECRYPT_FAILED in PKCS#11 3.0), and SoftHSM2 reports it as
 * CKR_GENERAL_ERROR. Any other failure, and any failure of an Init, is the token's.
 */
const VALUE_REFUSED = new Set(['CKR_ENCRYPTED_DATA_INVALID', 'CKR_ENCRYPTED_DATA_LEN_RANGE', 'CKR_AEAD_DECRYPT_FAILED', 'CKR_GENERAL_ERROR']);

const asNumber = (handle: Buffer): number => Number(handle.length >= 8 ? handle.readBigUInt64LE(0) : handle.readUInt32LE(0));

interface TokenSettings { readonly library: string; readonly slot?: number; readonly tokenLabel?: string; readonly keyLabel: string }

function settingsOf(options: Pkcs11Options | undefined, descriptor?: RootKeyDescriptor): TokenSettings {
  const stored = descriptor?.settings ?? {};
  const library = options?.library ?? (typeof stored.library === 'string' ? stored.library : undefined);
  const tokenLabel = descriptor ? (typeof stored.tokenLabel === 'string' ? stored.tokenLabel : undefined) : options?.tokenLabel;
  const slot = descriptor ? (typeof stored.slot === 'number' ? stored.slot : undefined) : options?.slot;
  const keyLabel = descriptor ? stored.keyLabel : options?.keyLabel;
  if (!library) throw new StartupError('The pkcs11 root key needs the PKCS#11 library: pass --pkcs11-library (e.g. /usr/lib/softhsm/libsofthsm2.so).');
  if (slot === undefined && tokenLabel === undefined) throw new StartupError('The pkcs11 root key needs its token: pass --pkcs11-token-label (or --pkcs11-slot).');
  if (typeof keyLabel !== 'string' || keyLabel === '') throw new StartupError('The pkcs11 root key needs the label of its key on the token: pass --pkcs11-key-label.');
  return { library, keyLabel, ...(slot !== undefined ? { slot } : {}), ...(tokenLabel !== undefined ? { tokenLabel } : {}) };
}

/**
 * Where a stored key's token is looked for when it is not where the store says: the token
 * (`--pkcs11-token-label` or `--pkcs11-slot`) this server is configured with, if that is another
 * place. Slot numbers move (an HSM renumbers them when partitions or tokens are added), and a
 * token label can be changed; the store's record would otherwise hold a server, and its backups,
 * away from a key that is intact on its token. Opening there is safe: the key found must be the
 * one the store was written with (couldBeRootKey here, the check value in the keyring).
 */
function configuredLocation(options: Pkcs11Options | undefined, stored: TokenSettings): TokenSettings | undefined {
  if (options?.tokenLabel === undefined && options?.slot === undefined) return undefined;
  const { slot: _slot, tokenLabel: _label, ...rest } = stored;
  const moved: TokenSettings = { ...rest, ...(options.tokenLabel !== undefined ? { tokenLabel: options.tokenLabel } : { slot: options.slot! }) };
  return moved.tokenLabel === stored.tokenLabel && moved.slot === stored.slot ? undefined : moved;
}

/** The slot holding the token `settings` name, if one is present. */
function findSlot(module: pkcs11js.PKCS11, settings: TokenSettings): Buffer | undefined {
  return module.C_GetSlotList(true).find((s) => settings.tokenLabel !== undefined
    ? labelOf(module, s) === settings.tokenLabel
    : asNumber(s) === settings.slot);
}

/** A slot's token label; undefined for a token not initialised, which may answer CKR_TOKEN_NOT_RECOGNIZED. Other failures are thrown. */
function labelOf(module: pkcs11js.PKCS11, slot: Buffer): string | undefined {
  return tokenInfoOf(module, slot)?.label.trimEnd();
}

/** Whether the slot's token has been initialised (CKF_TOKEN_INITIALIZED): a free slot's has not, and opens no session. */
function isInitialised(module: pkcs11js.PKCS11, slot: Buffer): boolean {
  const info = tokenInfoOf(module, slot);
  return info !== undefined && (info.flags & pkcs11js.CKF_TOKEN_INITIALIZED) !== 0;
}

/** The token's information, or undefined where the token is not one the module recognises (not initialised). */
function tokenInfoOf(module: pkcs11js.PKCS11, slot: Buffer): pkcs11js.TokenInfo | undefined {
  try {
    return module.C_GetTokenInfo(slot);
  } catch (error) {
    if (codeOf(error) === 'CKR_TOKEN_NOT_RECOGNIZED') return undefined;
    throw error;
  }
}

/** `stored`, unless its token is absent and `moved` names a token that is present. */
function presentLocation(stored: TokenSettings, moved: TokenSettings | undefined): TokenSettings {
  if (moved === undefined) return stored;
  const { module } = loadModule(stored.library);
  try {
    return findSlot(module, stored) === undefined && findSlot(module, moved) !== undefined ? moved : stored;
  } finally {
    releaseModule(stored.library);
  }
}

/** How a token is named in messages. */
const tokenName = (settings: TokenSettings): string => (settings.tokenLabel !== undefined ? `labelled '${settings.tokenLabel}'` : `in slot ${settings.slot}`);

/** Opens a logged-in read-write session on the token, or throws a StartupError naming what is wrong. */
function openSession(module: pkcs11js.PKCS11, settings: TokenSettings, pin: string | undefined): Buffer {
  const slot = findSlot(module, settings);
  const which = tokenName(settings);
  if (!slot) throw new StartupError(`No PKCS#11 token ${which} is present (library ${settings.library}): insert or initialise the token, or correct --pkcs11-token-label / --pkcs11-slot.`);
  if (!isInitialised(module, slot)) {
    throw new StartupError(`The PKCS#11 token ${which} is not initialised (library ${settings.library}): initialise it (for SoftHSM2, softhsm2-util --init-token), or correct --pkcs11-token-label / --pkcs11-slot.`);
  }
  if (pin === undefined || pin === '') throw new StartupError(`The PKCS#11 token ${which} needs its user PIN: set COFFER_PKCS11_PIN or pass --pkcs11-pin-file.`);
  const refused = `The PKCS#11 PIN is wrong for the token ${which}: give the token's user PIN (COFFER_PKCS11_PIN or --pkcs11-pin-file); nothing was changed.`;
  if (pinRefused(settings, pin)) throw new StartupError(`${refused} (The token refused this PIN before; it is not tried again until a restart.)`);
  const session = module.C_OpenSession(slot, pkcs11js.CKF_RW_SESSION | pkcs11js.CKF_SERIAL_SESSION);
  try {
    module.C_Login(session, pkcs11js.CKU_USER, pin);
  } catch (error) {
    const code = codeOf(error);
    if (code !== 'CKR_USER_ALREADY_LOGGED_IN') {
      module.C_CloseSession(session);
      if (code === 'CKR_PIN_INCORRECT' || code === 'CKR_PIN_LOCKED') {
        refusedPins.set(settings.library, (refusedPins.get(settings.library) ?? new Set()).add(pinKey(settings, pin)));
      }
      if (code === 'CKR_PIN_INCORRECT') throw new StartupError(refused);
      if (code === 'CKR_PIN_LOCKED') throw new StartupError(`The PKCS#11 token ${which} has locked its user PIN after too many wrong tries: unlock it with the SO PIN.`);
      throw new StartupError(`Logging in to the PKCS#11 token ${which} failed (${code}).`);
    }
  }
  return session;
}

/** Up to two objects labelled `label`: secret keys only, or objects of any class (public and private keys, certificates, data). */
function findObjects(module: pkcs11js.PKCS11, session: Buffer, label: string, secretKeysOnly: boolean): Buffer[] {
  module.C_FindObjectsInit(session, [
    ...(secretKeysOnly ? [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY }] : []),
    { type: pkcs11js.CKA_LABEL, value: label },
  ]);
  try {
    return module.C_FindObjects(session, 2);
  } finally {
    module.C_FindObjectsFinal(session);
  }
}

/**
 * Whether a secret key could be a root key Coffer made: an AES key able to encrypt and decrypt.
 * Any other key under the label (DES3, a generic secret, an AES key that may not decrypt) is
 * another key, said so, rather than a token failing at the first unwrap. (An AES key of another
 * length, or another AES key, is found by the check value, as before.)
 */
function couldBeRootKey(module: pkcs11js.PKCS11, session: Buffer, key: Buffer): boolean {
  try {
    const attributes = module.C_GetAttributeValue(session, key, [
      { type: pkcs11js.CKA_KEY_TYPE }, { type: pkcs11js.CKA_ENCRYPT }, { type: pkcs11js.CKA_DECRYPT },
    ]);
    const [keyType, encrypt, decrypt] = attributes.map((attribute) => attribute.value as Buffer | undefined);
    // CKA_KEY_TYPE is a CK_ULONG (4 or 8 bytes, little-endian here); the others CK_BBOOLs.
    return keyType !== undefined && keyType.length >= 4 && asNumber(keyType) === pkcs11js.CKK_AES && encrypt?.[0] === 1 && decrypt?.[0] === 1;
  } catch {
    // A token that will not say: the check value's unwrap decides.
    return true;
  }
}

/**
 * Every wrap and unwrap is C_Encrypt / C_Decrypt with CKM_AES_GCM on the token: the key never
 * leaves it. The calls are synchronous and each Init+call pair runs without an await between, so
 * the one session is never used by two operations at once.
 */
function tokenSealer(loaded: LoadedModule, settings: TokenSettings, session: Buffer, key: Buffer): RootSealer {
  const { module, generation } = loaded;
  const mechanism = (iv: Buffer, aad: Uint8Array) => ({
    mechanism: pkcs11js.CKM_AES_GCM,
    parameter: { type: pkcs11js.CK_PARAMS_AES_GCM, iv, aad: Buffer.from(aad), ivBits: IV_BYTES * 8, tagBits: TAG_BITS },
  });
  const failed = (error: unknown, what: string) =>
    new RootKeyUnavailableError(`the PKCS#11 token failed to ${what} with the key labelled '${settings.keyLabel}' (${codeOf(error)}; library ${settings.library})`);
  const library = settings.library;
  // After a re-initialisation this session's and key's handle numbers may name another session or
  // key (another root key's): they are never used again, or a value could be wrapped by the wrong key.
  const current = () => {
    if (loaded.generation !== generation) {
      throw new RootKeyUnavailableError(`the PKCS#11 session for the key labelled '${settings.keyLabel}' ended when the module was re-initialised (library ${settings.library})`);
    }
  };
  let closed = false;
  return {
    async seal(plaintext, aad) {
      current();
      const iv = randomBytes(IV_BYTES);
      try {
        module.C_EncryptInit(session, mechanism(iv, aad), key);
        const sealed = module.C_Encrypt(session, Buffer.from(plaintext), Buffer.alloc(plaintext.length + TAG_BITS / 8));
        return Buffer.concat([iv, sealed]);
      } catch (error) {
        throw failed(error, 'wrap');
      }
    },
    async open(sealed, aad) {
      if (sealed.length < IV_BYTES + TAG_BITS / 8) return undefined;
      current();
      try {
        module.C_DecryptInit(session, mechanism(Buffer.from(sealed.subarray(0, IV_BYTES)), aad), key);
      } catch (error) {
        throw failed(error, 'unwrap');
      }
      try {
        return Buffer.from(module.C_Decrypt(session, Buffer.from(sealed.subarray(IV_BYTES)), Buffer.alloc(sealed.length)));
      } catch (error) {
        // A failed tag check ends the operation on the token; a token that fails is not a value that does not open.
        if (VALUE_REFUSED.has(codeOf(error))) return undefined;
        throw failed(error, 'unwrap');
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        if (loaded.generation === generation) module.C_CloseSession(session);
      } catch {
        // A session the token already lost (it went away) has nothing left to close.
      } finally {
        releaseModule(library);
      }
    },
  };
}

function withSession<T>(settings: TokenSettings, pin: string | undefined, use: (loaded: LoadedModule, session: Buffer) => T): T {
  const loaded = loadModule(settings.library);
  const { module } = loaded;
  let session: Buffer | undefined;
  try {
    session = openSession(module, settings, pin);
    return use(loaded, session);
  } catch (error) {
    try {
      if (session) module.C_CloseSession(session);
    } catch {
      // A token that failed may have ended the session itself.
    }
    releaseModule(settings.library);
    throw error;
  }
}

/**
 * `pkcs11`: an AES-256 key generated on a PKCS#11 token as sensitive and non-extractable
 * (docs/root-keys.md). The descriptor keeps the library path, the token and the key label; the
 * PIN comes from the server's configuration only.
 */
export const pkcs11Provider: RootKeyProvider = {
  async create(_id, context: ProviderContext) {
    const settings = settingsOf(context.options.pkcs11);
    return withSession(settings, context.options.pkcs11?.pin, (loaded, session) => {
      const { module } = loaded;
      // Any object under the label, not only a secret key: two objects of one label make the key ambiguous to find.
      if (findObjects(module, session, settings.keyLabel, false).length > 0) {
        throw new StartupError(`The PKCS#11 token already holds a key labelled '${settings.keyLabel}' (or another object of that label): choose another --pkcs11-key-label (Coffer makes a new root key and will not adopt one it did not make).`);
      }
      const key = module.C_GenerateKey(session, { mechanism: pkcs11js.CKM_AES_KEY_GEN }, [
        { type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_SECRET_KEY },
        { type: pkcs11js.CKA_KEY_TYPE, value: pkcs11js.CKK_AES },
        { type: pkcs11js.CKA_VALUE_LEN, value: 32 },
        { type: pkcs11js.CKA_TOKEN, value: true },
        { type: pkcs11js.CKA_PRIVATE, value: true },
        { type: pkcs11js.CKA_SENSITIVE, value: true },
        { type: pkcs11js.CKA_EXTRACTABLE, value: false },
        { type: pkcs11js.CKA_ENCRYPT, value: true },
        { type: pkcs11js.CKA_DECRYPT, value: true },
        { type: pkcs11js.CKA_WRAP, value: false },
        { type: pkcs11js.CKA_LABEL, value: settings.keyLabel },
      ]);
      const stored: Record<string, string | number> = { library: settings.library, keyLabel: settings.keyLabel };
      if (settings.tokenLabel !== undefined) stored.tokenLabel = settings.tokenLabel;
      else stored.slot = settings.slot!;
      const generation = loaded.generation;
      return {
        settings: stored, sealer: tokenSealer(loaded, settings, session, key),
        // By the handle it was made with, never by label: another node may have made a key of that
        // label meanwhile. After a re-initialisation the handle may name another object: left then.
        discard: async () => {
          if (loaded.generation === generation) module.C_DestroyObject(session, key);
        },
      };
    });
  },

  async open(descriptor, context) {
    const stored = settingsOf(context.options.pkcs11, descriptor);
    const settings = presentLocation(stored, configuredLocation(context.options.pkcs11, stored));
    if (settings !== stored) {
      (context.warn ?? ((message: string) => process.emitWarning(message)))(`The PKCS#11 token of root key ${descriptor.id} is not ${tokenName(stored)}, where the store recorded it; opening it ${tokenName(settings)}, as this server is configured.`);
    }
    return withSession(settings, context.options.pkcs11?.pin, (loaded, session) => {
      const found = findObjects(loaded.module, session, settings.keyLabel, true);
      if (found.length === 0) {
        const others = findObjects(loaded.module, session, settings.keyLabel, false).length > 0
          ? ' (it holds an object of that label that is not a secret key)' : '';
        throw new StartupError(`The PKCS#11 token holds no key labelled '${settings.keyLabel}'${others} (root key ${descriptor.id}): is this the right token, and was the key deleted? Correct the token or restore the key; nothing was changed.`);
      }
      if (found.length > 1) throw new StartupError(`The PKCS#11 token holds more than one key labelled '${settings.keyLabel}': remove the one Coffer did not make.`);
      if (!couldBeRootKey(loaded.module, session, found[0]!)) throw new StartupError(pkcs11Provider.mismatchHint(descriptor));
      return tokenSealer(loaded, settings, session, found[0]!);
    });
  },

  /**
   * A new session and key handle after the token failed while serving. A module that lost its
   * token may not see it again until it is initialised afresh, and one whose configuration changed
   * finds another token there: when opening fails or opens a key that does not prove itself, the
   * module is re-initialised once (ending every session on it, re-reading its configuration) and
   * opening tried again. A PIN the token refused is not tried again.
   */
  async reopen(descriptor, context, proves) {
    const settings = settingsOf(context.options.pkcs11, descriptor);
    const attempt = async () => {
      const sealer = await pkcs11Provider.open(descriptor, context);
      try {
        if (await proves(sealer)) return sealer;
      } catch (error) {
        await sealer.close();
        throw error;
      }
      await sealer.close();
      throw new RootKeyUnavailableError(pkcs11Provider.mismatchHint(descriptor));
    };
    try {
      return await attempt();
    } catch (error) {
      const pin = context.options.pkcs11?.pin;
      if (pin !== undefined && pinRefused(settings, pin)) throw error;
    }
    reinitialise(settings.library);
    return attempt();
  },

  mismatchHint: (descriptor) => `The key labelled '${String(descriptor.settings.keyLabel)}' on the PKCS#11 token is not the root key the store was written with: is this the right token? Nothing was changed.`,
};
