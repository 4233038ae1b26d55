/**
 * `npm run bench` (`--help` lists the knobs): throughput of the buffer API for a 256 MiB message
 * beside a raw single-pass AES-256-GCM over the same bytes and beside @aws-crypto/client-node on the same data and
 * settings, as ratios from one run (load, the `uptime` load average, is printed: the figures mean
 * little on a busy machine); then peak RSS of the buffer API and of streaming 1 GiB
 * through files, each in a fresh child process. Prints a table and writes bench-results.json.
 *
 * Each figure is the best of BENCH_TRIALS (default 3) runs, for every implementation alike; the
 * trials of the two SDKs alternate, so a change in the machine's load hits both. CPU time (all
 * threads) is printed beside wall time: Coffer uses a second thread for large messages.
 * Not a test: nothing here asserts, the numbers are for people.
 */
import { createCipheriv, createDecipheriv, randomBytes, randomFillSync } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as official from '@aws-crypto/client-node';
import { AlgorithmSuiteId, DEFAULT_FRAME_LENGTH, decrypt, encrypt, RawAesKeyring } from '../src/index.js';

const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_MIB ?? 256) * MiB;
const STREAM_MIB = Number(process.env.BENCH_STREAM_MIB ?? 1024);
/** `0x0478/65536,0x0578/4096`: only these rows (suite/frame length). */
const ONLY = process.env.BENCH_ONLY?.split(',').map((w) => w.trim().toLowerCase()).filter((w) => w !== '');
const RSS = process.env.BENCH_RSS !== '0';
const HELP = `usage: npm run bench   (or: node --expose-gc packages/sdk/dist/bench/sdk-bench.js)

Environment:
  BENCH_MIB=256          message size for the throughput rows
  BENCH_TRIALS=3         trials per figure; the best is reported for every implementation alike
  BENCH_ONLY=0x0478/65536[,...]   only these rows (suite/frame length); the raw AES-GCM baseline runs beside each
  BENCH_RSS=0            skip the peak-RSS child processes
  BENCH_STREAM_MIB=1024  file size for the streaming RSS measurement
  BENCH_SETTLE_MS=100    pause after the full collection before each trial (dead buffers are freed meanwhile)
  BENCH_JSON=FILE        where the figures are written (default: bench-results.json beside this script)`;
const wrappingKey = randomBytes(32);
const ours = new RawAesKeyring({ keyNamespace: 'bench', keyName: 'aes-256', wrappingKey });
const theirs = new official.RawAesKeyringNode({
  keyNamespace: 'bench', keyName: 'aes-256', unencryptedMasterKey: new Uint8Array(wrappingKey),
  wrappingSuite: official.RawAesWrappingSuiteIdentifier.AES256_GCM_IV12_TAG16_NO_PADDING,
});
const theirClient = official.buildClient(official.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);

/** Trials per measurement; the best is reported for every implementation alike (this VM is noisy). */
const TRIALS = Number(process.env.BENCH_TRIALS ?? 3);
const gc = (globalThis as { gc?: () => void }).gc ?? (() => {});
const SETTLE_MS = Number(process.env.BENCH_SETTLE_MS ?? 100);

/**
 * A full collection, then a pause: V8 frees dead ArrayBuffers (and glibc unmaps them) on helper
 * threads after the collection, so without the pause one trial's garbage (up to a GiB for the
 * official SDK) is freed on the CPU time of the next trial, whichever implementation it is.
 */
async function settle(): Promise<void> {
  gc();
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
}

/** One trial: wall time, and CPU time of every thread of the process. */
async function once<T>(fn: () => Promise<T>): Promise<{ ms: number; cpuMs: number; value: T }> {
  await settle();
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  const value = await fn();
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000, value };
}

/** Best (lowest) wall and CPU time seen over the trials. */
class Best {
  ms = Infinity;
  cpuMs = Infinity;
  add(t: { ms: number; cpuMs: number }): void {
    this.ms = Math.min(this.ms, t.ms);
    this.cpuMs = Math.min(this.cpuMs, t.cpuMs);
  }
}

const mibps = (ms: number) => SIZE / MiB / (ms / 1000);

/** Best raw AES-GCM times so far: a raw trial runs beside every trial of every row, so the baseline sees the same load. */
const raw = { encryptMs: Infinity, decryptMs: Infinity };

async function rawGcmTrial(data: Buffer): Promise<void> {
  await settle();
  const r = rawGcmOnce(data);
  raw.encryptMs = Math.min(raw.encryptMs, r.encryptMs);
  raw.decryptMs = Math.min(raw.decryptMs, r.decryptMs);
}

function rawGcmOnce(data: Buffer): { encryptMs: number; decryptMs: number } {
  const key = randomBytes(32);
  const iv = randomBytes(12);
  let t = process.hrtime.bigint();
  const c = createCipheriv('aes-256-gcm', key, iv);
  const ct = c.update(data);
  c.final();
  const tag = c.getAuthTag();
  const encryptMs = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  const d = createDecipheriv('aes-256-gcm', key, iv);
  d.setAuthTag(tag);
  const pt = d.update(ct);
  d.final();
  const decryptMs = Number(process.hrtime.bigint() - t) / 1e6;
  if (pt.length !== data.length) throw new Error('raw GCM mismatch');
  return { encryptMs, decryptMs };
}

interface Row {
  readonly suite: string;
  readonly frameLength: number;
  /** MiB/s. */
  readonly oursEncrypt: number;
  readonly oursDecrypt: number;
  readonly officialEncrypt?: number;
  readonly officialDecrypt?: number;
  /** CPU ms, all threads, best trial. */
  readonly cpuMs: { readonly oursEncrypt: number; readonly oursDecrypt: number; readonly officialEncrypt?: number; readonly officialDecrypt?: number };
}

async function measure(data: Buffer, suiteId: AlgorithmSuiteId, frameLength: number, withOfficial: boolean): Promise<Row> {
  const [oursEnc, oursDec, theirEnc, theirDec] = [new Best(), new Best(), new Best(), new Best()];
  // Each pair of trials returns before the next starts, so its results can be collected.
  const oursTrial = async (check: boolean) => {
    const enc = await once(() => encrypt(ours, data, { suiteId, frameLength }));
    const dec = await once(() => decrypt(ours, enc.value.ciphertext));
    if (check && !dec.value.plaintext.equals(data)) throw new Error('round trip mismatch');
    oursEnc.add(enc);
    oursDec.add(dec);
  };
  const theirTrial = async (check: boolean) => {
    const enc = await once(() => theirClient.encrypt(theirs, data, { suiteId: suiteId as number, frameLength }));
    const dec = await once(() => theirClient.decrypt(theirs, enc.value.result));
    if (check && !dec.value.plaintext.equals(data)) throw new Error('official round trip mismatch');
    theirEnc.add(enc);
    theirDec.add(dec);
  };
  // The trials alternate between the implementations, so a change in load hits both alike.
  for (let i = 0; i < TRIALS; i++) {
    await oursTrial(i === 0);
    if (withOfficial) await theirTrial(i === 0);
    if (data.length === SIZE) await rawGcmTrial(data);
  }
  const row: Row = {
    suite: `0x${suiteId.toString(16).padStart(4, '0')}`, frameLength, oursEncrypt: mibps(oursEnc.ms), oursDecrypt: mibps(oursDec.ms),
    cpuMs: { oursEncrypt: oursEnc.cpuMs, oursDecrypt: oursDec.cpuMs },
  };
  if (!withOfficial) return row;
  return {
    ...row, officialEncrypt: mibps(theirEnc.ms), officialDecrypt: mibps(theirDec.ms),
    cpuMs: { ...row.cpuMs, officialEncrypt: theirEnc.cpuMs, officialDecrypt: theirDec.cpuMs },
  };
}

function child(args: string[]): Record<string, number> {
  const script = fileURLToPath(new URL('./workloads.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', script, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
}

const f = (n: number | undefined, digits = 0) => (n === undefined ? '-' : n.toFixed(digits));

async function main(): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    console.log(HELP);
    return;
  }
  console.log(`Coffer SDK bench: ${SIZE / MiB} MiB message, Node ${process.version}, default frame length ${DEFAULT_FRAME_LENGTH}, best of ${TRIALS}, ` +
    `${availableParallelism()} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const data = randomFillSync(Buffer.allocUnsafe(SIZE));
  // Warm up both implementations (JIT, lazy OpenSSL init, and Coffer's worker threads, which
  // start with the first message of 8 MiB or more) on a 16 MiB message of each kind.
  await measure(data.subarray(0, 16 * MiB), AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, 65536, true);
  await measure(data.subarray(0, 16 * MiB), AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, 4096, true);

  const specs: [AlgorithmSuiteId, number, boolean][] = [
    [AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, 4096, true],
    [AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, 65536, true],
    [AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, DEFAULT_FRAME_LENGTH, false],
    [AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, DEFAULT_FRAME_LENGTH, false],
  ];
  const rows: Row[] = [];
  for (const [suiteId, frameLength, withOfficial] of specs) {
    if (ONLY !== undefined && !ONLY.includes(`0x${suiteId.toString(16).padStart(4, '0')}/${frameLength}`)) continue;
    rows.push(await measure(data, suiteId, frameLength, withOfficial));
  }
  const rawEnc = mibps(raw.encryptMs);
  const rawDec = mibps(raw.decryptMs);

  console.log('\nThroughput (MiB/s) and ratios, one run:');
  console.log('suite   frame   | coffer enc  official enc  x official | coffer dec  official dec  x official | enc/raw  dec/raw');
  for (const r of rows) {
    console.log(
      `${r.suite}  ${String(r.frameLength).padStart(6)}  | ${f(r.oursEncrypt).padStart(10)}  ${f(r.officialEncrypt).padStart(12)}  ${(r.officialEncrypt ? f(r.oursEncrypt / r.officialEncrypt, 2) : '-').padStart(10)} | ` +
      `${f(r.oursDecrypt).padStart(10)}  ${f(r.officialDecrypt).padStart(12)}  ${(r.officialDecrypt ? f(r.oursDecrypt / r.officialDecrypt, 2) : '-').padStart(10)} | ` +
      `${f(r.oursEncrypt / rawEnc, 2).padStart(7)}  ${f(r.oursDecrypt / rawDec, 2).padStart(7)}`,
    );
  }
  console.log(`raw single-pass AES-256-GCM (node:crypto, one update over ${SIZE / MiB} MiB): encrypt ${f(rawEnc)} MiB/s, decrypt ${f(rawDec)} MiB/s`);
  console.log('\nCPU time (ms, every thread of the process; Coffer uses a second thread for messages of 8 MiB or more):');
  console.log('suite   frame   | coffer enc  official enc | coffer dec  official dec');
  for (const r of rows) {
    console.log(`${r.suite}  ${String(r.frameLength).padStart(6)}  | ${f(r.cpuMs.oursEncrypt).padStart(10)}  ${f(r.cpuMs.officialEncrypt).padStart(12)} | ` +
      `${f(r.cpuMs.oursDecrypt).padStart(10)}  ${f(r.cpuMs.officialDecrypt).padStart(12)}`);
  }
  const results: Record<string, unknown> = { node: process.version, sizeMiB: SIZE / MiB, defaultFrameLength: DEFAULT_FRAME_LENGTH, loadavg: loadavg(), rows, raw: { encrypt: rawEnc, decrypt: rawDec } };
  if (RSS) results.rss = measureRss();
  const out = process.env.BENCH_JSON ?? fileURLToPath(new URL('./bench-results.json', import.meta.url));
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

function measureRss(): Record<string, unknown> {
  const sizeMiB = SIZE / MiB;
  const buffer: Record<string, Record<string, number>> = {};
  for (const suite of ['0578', '0478']) {
    const bufEnc = child(['buffer-encrypt', String(sizeMiB), suite]);
    const bufDec = child(['buffer-decrypt', String(sizeMiB), suite]);
    buffer[`0x${suite}`] = { encrypt: bufEnc.peakRssMiB!, decrypt: bufDec.peakRssMiB! };
    console.log(`${suite === '0578' ? '\n' : ''}Peak RSS, buffer API, ${sizeMiB} MiB, suite 0x${suite}, default frame: encrypt ${f(bufEnc.peakRssMiB)} MiB (${f(bufEnc.peakRssMiB! / sizeMiB, 2)}x input), ` +
      `decrypt ${f(bufDec.peakRssMiB)} MiB (${f(bufDec.peakRssMiB! / sizeMiB, 2)}x input)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'coffer-bench-'));
  let stream: Record<string, number>;
  try {
    stream = child(['stream', join(dir, 'plain'), join(dir, 'cipher'), String(STREAM_MIB)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`Streaming ${STREAM_MIB} MiB file -> file -> sink (0x0478, default frame ${DEFAULT_FRAME_LENGTH}, unsignedStreaming decrypt): peak RSS ${f(stream.peakRssMiB)} MiB, ` +
    `encrypt ${f(STREAM_MIB / (stream.encryptMs! / 1000))} MiB/s, decrypt ${f(STREAM_MIB / (stream.decryptMs! / 1000))} MiB/s`);

  return { buffer, stream };
}

await main();
