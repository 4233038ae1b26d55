/**
 * Root-key providers and rotation, measured: (1) wraps and unwraps per second of each provider's
 * sealer, the AES-GCM of a file key in memory as the baseline; (2) how long a rotation takes to
 * re-wrap a store of N keys while serving, file to file and file to pkcs11 (SoftHSM2).
 *
 *   npm run build && node packages/server/dist/bench/root-keys.js [keys=1000]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { startServer } from '../src/index.js';
import { openRootKey } from '../src/root/open-root-key.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { readCredentials } from '../test/support/server.js';

const LIBRARY = '/usr/lib/softhsm/libsofthsm2.so';
const KEYS = Number(process.argv[2] ?? 1000);
const RESULTS = join(resolve(dirname(fileURLToPath(import.meta.url)), '../../../..'), 'bench-results');
const results: Record<string, number> = {};

function softHsm(): { pin: string; label: string } {
  const dir = mkdtempSync(join(tmpdir(), 'coffer-bench-hsm-'));
  mkdirSync(join(dir, 'tokens'));
  writeFileSync(join(dir, 'softhsm2.conf'), `directories.tokendir = ${join(dir, 'tokens')}\nobjectstore.backend = file\nlog.level = ERROR\n`);
  process.env.SOFTHSM2_CONF = join(dir, 'softhsm2.conf');
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', 'bench', '--so-pin', '12345678', '--pin', '87654321'], { stdio: 'pipe' });
  return { pin: '87654321', label: 'bench' };
}

async function wrapRate(name: string, options: Parameters<typeof openRootKey>[2]): Promise<number> {
  const dataDir = mkdtempSync(join(tmpdir(), 'coffer-bench-root-'));
  const store = new SqliteStore(join(dataDir, 'coffer.db'));
  const root = await openRootKey(dataDir, store, options);
  const material = Buffer.alloc(32, 7);
  const aad = Buffer.from('coffer:backing-key:v1:bench:1');
  const n = 5000;
  const started = performance.now();
  for (let i = 0; i < n; i++) await root.unwrap(await root.wrap(material, aad), aad);
  const perSecond = n / ((performance.now() - started) / 1000);
  process.stdout.write(`${name.padEnd(12)} ${perSecond.toFixed(0).padStart(8)} wrap+unwrap/s\n`);
  results[`${name}WrapUnwrapPerSecond`] = Math.round(perSecond);
  await root.close();
  await store.close();
  return perSecond;
}

async function rotation(name: string, rotateBody: Record<string, unknown>, rootKey: Parameters<typeof openRootKey>[2]): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'coffer-bench-rotate-'));
  const server = await startServer({ port: 0, dataDir, logger: () => {}, quotas: false, ...(rootKey ? { rootKey } : {}), rootKeyWork: { refreshMs: 1000, settleMs: 0 } });
  const credentials = readCredentials(server.credentialsFile);
  const kms = new KMSClient({ endpoint: server.endpoint, region: 'us-east-1', credentials });
  for (let i = 0; i < KEYS; i += 50) await Promise.all(Array.from({ length: Math.min(50, KEYS - i) }, () => kms.send(new CreateKeyCommand({}))));
  const { adminRequest } = await import('../test/support/principals.js');
  const fake = { server, credentials } as unknown as Parameters<typeof adminRequest>[0];
  const started = performance.now();
  const begun = await adminRequest(fake, 'RotateRootKey', rotateBody);
  if (begun.status !== 200) throw new Error(begun.text);
  for (;;) {
    const status = await adminRequest(fake, 'GetRootKeyStatus', {});
    if (status.body.RotationState === 'NONE') break;
    await new Promise((done) => setTimeout(done, 20));
  }
  const seconds = (performance.now() - started) / 1000;
  process.stdout.write(`rotation ${name.padEnd(18)} ${KEYS} keys (+1 access key, audit key) in ${seconds.toFixed(2)} s: ${(KEYS / seconds).toFixed(0)} keys/s\n`);
  results[`rotation ${name} keysPerSecond`] = Math.round(KEYS / seconds);
  kms.destroy();
  await server.close();
}

const token = softHsm();
const baseline = await wrapRate('file', {});
await wrapRate('passphrase', { provider: 'passphrase', passphrase: 'benchmark passphrase' });
const hsm = await wrapRate('pkcs11', { provider: 'pkcs11', pkcs11: { library: LIBRARY, tokenLabel: token.label, pin: token.pin, keyLabel: 'bench-rate' } });
process.stdout.write(`pkcs11 / file: ${(hsm / baseline).toFixed(3)} (the sealer alone; backing keys are cached after the first unwrap)\n`);
await rotation('file -> file', {}, undefined);
await rotation('file -> pkcs11', { Provider: 'pkcs11', Pkcs11Library: LIBRARY, Pkcs11TokenLabel: token.label, Pkcs11KeyLabel: 'bench-rotation' }, { pkcs11: { pin: token.pin } });
results.pkcs11OverFile = Number((hsm / baseline).toFixed(3));
mkdirSync(RESULTS, { recursive: true });
writeFileSync(join(RESULTS, 'root-keys.json'), `${JSON.stringify({ keys: KEYS, ...results }, null, 2)}\n`);
process.stdout.write(`wrote ${join(RESULTS, 'root-keys.json')}\n`);
