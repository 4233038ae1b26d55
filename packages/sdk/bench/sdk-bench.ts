/**
 * `npm run bench`: throughput of the buffer API for a 256 MiB message beside a raw single-pass
 * AES-256-GCM over the same bytes and beside @aws-crypto/client-node on the same data and
 * settings, as ratios from one run (load, the `uptime` load average, is printed: the figures mean
 * little on a busy machine); then peak RSS of the buffer API and of streaming 1 GiB
 * through files, each in a fresh child process. Prints a table and writes bench-results.json.
 *
 * Each figure is the best of BENCH_TRIALS (default 3) runs, for every implementation alike.
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

async function timed<T>(fn: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  let ms = Infinity;
  let value: T | undefined;
  for (let i = 0; i < TRIALS; i++) {
    value = undefined; // let the previous result be collected before the next trial
    gc();
    const start = process.hrtime.bigint();
    value = await fn();
    ms = Math.min(ms, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return { ms, value: value! };
}

const mibps = (ms: number) => SIZE / MiB / (ms / 1000);

function rawGcm(data: Buffer): { encryptMs: number; decryptMs: number } {
  let best = { encryptMs: Infinity, decryptMs: Infinity };
  for (let i = 0; i < TRIALS; i++) {
    gc();
    const r = rawGcmOnce(data);
    best = { encryptMs: Math.min(best.encryptMs, r.encryptMs), decryptMs: Math.min(best.decryptMs, r.decryptMs) };
  }
  return best;
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
  readonly oursEncrypt: number;
  readonly oursDecrypt: number;
  readonly officialEncrypt?: number;
  readonly officialDecrypt?: number;
}

async function measure(data: Buffer, suiteId: AlgorithmSuiteId, frameLength: number, withOfficial: boolean): Promise<Row> {
  const enc = await timed(() => encrypt(ours, data, { suiteId, frameLength }));
  const dec = await timed(() => decrypt(ours, enc.value.ciphertext));
  if (!dec.value.plaintext.equals(data)) throw new Error('round trip mismatch');
  const row: Row = { suite: `0x${suiteId.toString(16).padStart(4, '0')}`, frameLength, oursEncrypt: mibps(enc.ms), oursDecrypt: mibps(dec.ms) };
  if (!withOfficial) return row;
  const theirEnc = await timed(() => theirClient.encrypt(theirs, data, { suiteId: suiteId as number, frameLength }));
  const theirDec = await timed(() => theirClient.decrypt(theirs, theirEnc.value.result));
  if (!theirDec.value.plaintext.equals(data)) throw new Error('official round trip mismatch');
  return { ...row, officialEncrypt: mibps(theirEnc.ms), officialDecrypt: mibps(theirDec.ms) };
}

function child(args: string[]): Record<string, number> {
  const script = fileURLToPath(new URL('./workloads.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', script, ...args], { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, number>;
}

const f = (n: number | undefined, digits = 0) => (n === undefined ? '-' : n.toFixed(digits));

async function main(): Promise<void> {
  console.log(`Coffer SDK bench: ${SIZE / MiB} MiB message, Node ${process.version}, default frame length ${DEFAULT_FRAME_LENGTH}, best of ${TRIALS}, ` +
    `${availableParallelism()} CPUs, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const data = randomFillSync(Buffer.allocUnsafe(SIZE));
  // Warm up both implementations (JIT, lazy OpenSSL init) on a small message.
  await measure(data.subarray(0, 4 * MiB), AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, 65536, true);

  const raw = rawGcm(data);
  const rows: Row[] = [
    await measure(data, AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, 4096, true),
    await measure(data, AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, 65536, true),
    await measure(data, AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY, DEFAULT_FRAME_LENGTH, false),
    await measure(data, AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384, DEFAULT_FRAME_LENGTH, false),
  ];
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

  const sizeMiB = SIZE / MiB;
  const bufEnc = child(['buffer-encrypt', String(sizeMiB)]);
  const bufDec = child(['buffer-decrypt', String(sizeMiB)]);
  console.log(`\nPeak RSS, buffer API, ${sizeMiB} MiB, suite 0x0578: encrypt ${f(bufEnc.peakRssMiB)} MiB (${f(bufEnc.peakRssMiB! / sizeMiB, 2)}x input), ` +
    `decrypt ${f(bufDec.peakRssMiB)} MiB (${f(bufDec.peakRssMiB! / sizeMiB, 2)}x input)`);
  const dir = mkdtempSync(join(tmpdir(), 'coffer-bench-'));
  let stream: Record<string, number>;
  try {
    stream = child(['stream', join(dir, 'plain'), join(dir, 'cipher'), String(STREAM_MIB)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`Streaming ${STREAM_MIB} MiB file -> file -> sink (0x0478, default frame ${DEFAULT_FRAME_LENGTH}, unsignedStreaming decrypt): peak RSS ${f(stream.peakRssMiB)} MiB, ` +
    `encrypt ${f(STREAM_MIB / (stream.encryptMs! / 1000))} MiB/s, decrypt ${f(STREAM_MIB / (stream.decryptMs! / 1000))} MiB/s`);

  const results = { node: process.version, sizeMiB, defaultFrameLength: DEFAULT_FRAME_LENGTH, rows, raw: { encrypt: rawEnc, decrypt: rawDec }, rss: { bufferEncrypt: bufEnc, bufferDecrypt: bufDec, stream } };
  const out = fileURLToPath(new URL('./bench-results.json', import.meta.url));
  writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
  console.log(`\nwrote ${out}`);
}

await main();
