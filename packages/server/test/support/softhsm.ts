import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import pkcs11js from 'pkcs11js';
import { removeAtExit } from './server.js';

export const SOFTHSM_LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';

export interface SoftHsmToken {
  readonly conf: string;
  readonly label: string;
  readonly pin: string;
  readonly soPin: string;
}

/**
 * A SoftHSM2 token of the test's own, in a temporary directory. SoftHSM reads SOFTHSM2_CONF when
 * the library is initialised (C_Initialize), so this sets it for the whole process: call it before
 * any server opens the token.
 */
export function initSoftHsmToken(label = 'coffer-test'): SoftHsmToken {
  const dir = removeAtExit(mkdtempSync(join(tmpdir(), 'coffer-softhsm-')));
  mkdirSync(join(dir, 'tokens'));
  const conf = join(dir, 'softhsm2.conf');
  writeFileSync(conf, `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  const token = { conf, label, pin: '246813579', soPin: '975318642' };
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--so-pin', token.soPin, '--pin', token.pin], {
    env: { ...process.env, SOFTHSM2_CONF: conf }, stdio: 'pipe',
  });
  process.env.SOFTHSM2_CONF = conf;
  return token;
}

/**
 * The token fails while the server runs, as an HSM that is pulled or whose storage goes away: its
 * directory is moved aside (SoftHSM2 then answers CKR_OBJECT_HANDLE_INVALID, CKR_GENERAL_ERROR),
 * and put back by the function returned.
 */
export function takeTokenAway(token: SoftHsmToken): () => void {
  const tokens = join(dirname(token.conf), 'tokens');
  const [dir] = readdirSync(tokens);
  // Out of the token directory: SoftHSM2 takes every directory in it for a token.
  const away = join(dirname(token.conf), 'away');
  renameSync(join(tokens, dir!), away);
  return () => renameSync(away, join(tokens, dir!));
}

/** Changes the token's user PIN from another process, as an operator would (this process's module is the server's). */
export function changeUserPin(token: SoftHsmToken, from: string, to: string): void {
  const script = `
    import pkcs11js from ${JSON.stringify(createRequire(import.meta.url).resolve('pkcs11js'))};
    const module = new pkcs11js.PKCS11();
    module.load(${JSON.stringify(SOFTHSM_LIBRARY)});
    module.C_Initialize();
    const slot = module.C_GetSlotList(true).find((s) => module.C_GetTokenInfo(s).label.trim() === ${JSON.stringify(token.label)});
    const session = module.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
    module.C_Login(session, pkcs11js.CKU_USER, ${JSON.stringify(from)});
    module.C_SetPIN(session, ${JSON.stringify(from)}, ${JSON.stringify(to)});
    module.C_Finalize();`;
  execFileSync(process.execPath, ['--input-type=module', '-e', script], { env: process.env, stdio: 'pipe' });
}

/**
 * Counts every PKCS#11 call this process makes from now on, by function name: the server's module
 * is this process's, and pkcs11js binds an instance's functions from the native prototype when the
 * module is loaded, so call this before any server opens a token. Returns a reader of the counts.
 */
export function countTokenCalls(): () => Record<string, number> {
  const counts: Record<string, number> = {};
  const native = Object.getPrototypeOf(pkcs11js.PKCS11.prototype) as Record<string, unknown>;
  for (const name of Object.getOwnPropertyNames(native)) {
    const original = native[name];
    if (!name.startsWith('C_') || typeof original !== 'function') continue;
    native[name] = function counted(this: unknown, ...args: unknown[]) {
      counts[name] = (counts[name] ?? 0) + 1;
      return original.apply(this, args);
    };
  }
  return () => ({ ...counts });
}

/** The slot SoftHSM2 shows the token in (it derives the number from the token's serial). */
export function tokenSlot(token: SoftHsmToken): number {
  const slots = execFileSync('softhsm2-util', ['--show-slots'], { env: { ...process.env, SOFTHSM2_CONF: token.conf }, encoding: 'utf8' });
  const block = slots.split(/^Slot /m).find((b) => new RegExp(`^\\s*Label:\\s+${token.label}\\s*$`, 'm').test(b));
  if (!block) throw new Error(`no slot holds the token ${token.label}`);
  return Number(/^(\d+)/.exec(block)![1]);
}

/** The slot SoftHSM2 keeps free beside its tokens: a token is present there, not initialised. */
export function uninitialisedSlot(token: SoftHsmToken): number {
  const slots = execFileSync('softhsm2-util', ['--show-slots'], { env: { ...process.env, SOFTHSM2_CONF: token.conf }, encoding: 'utf8' });
  const block = slots.split(/^Slot /m).find((b) => /^\s*Initialized:\s+no\s*$/m.test(b));
  if (!block) throw new Error('SoftHSM2 shows no uninitialised slot');
  return Number(/^(\d+)/.exec(block)![1]);
}

/**
 * The token shows up in another slot, as an HSM's may when its partitions are changed: its
 * serial, from which SoftHSM2 derives the slot number, is rewritten in its stored object (read at
 * the next C_Initialize, so with no server holding the module). Returns the new slot.
 */
export function moveTokenToAnotherSlot(token: SoftHsmToken): number {
  const tokens = join(dirname(token.conf), 'tokens');
  const file = join(tokens, readdirSync(tokens)[0]!, 'token.object');
  const bytes = readFileSync(file);
  const serial = /[0-9a-f]{16}/.exec(bytes.toString('latin1'))![0];
  const moved = `${serial.slice(0, 8)}${((parseInt(serial.slice(8), 16) ^ 0x00abcdef) >>> 0).toString(16).padStart(8, '0')}`;
  writeFileSync(file, Buffer.from(bytes.toString('latin1').replace(serial, moved), 'latin1'));
  return parseInt(moved.slice(8), 16) & 0x7fffffff;
}

/**
 * A logged-in session of this process's own on the token, and the objects on it labelled `label`,
 * for a test to look at what a server made there. The module is initialised here: call it while no
 * server of this process holds the token (one initialisation per process).
 */
export function withLabelledObjects<T>(token: SoftHsmToken, label: string, use: (module: pkcs11js.PKCS11, session: Buffer, objects: Buffer[]) => T): T {
  const module = new pkcs11js.PKCS11();
  module.load(SOFTHSM_LIBRARY);
  module.C_Initialize();
  try {
    const slot = module.C_GetSlotList(true).find((s) => module.C_GetTokenInfo(s).label.trim() === token.label)!;
    const session = module.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION);
    module.C_Login(session, pkcs11js.CKU_USER, token.pin);
    module.C_FindObjectsInit(session, [{ type: pkcs11js.CKA_LABEL, value: label }]);
    const objects = module.C_FindObjects(session, 10);
    module.C_FindObjectsFinal(session);
    return use(module, session, objects);
  } finally {
    module.C_Finalize();
  }
}
