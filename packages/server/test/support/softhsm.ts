import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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
  const dir = mkdtempSync(join(tmpdir(), 'coffer-softhsm-'));
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
