/**
 * Child-process workloads for the bench's peak-RSS measurements: each runs one job in a fresh
 * process and prints its own peak resident set size (VmHWM), so the
 * numbers are not polluted by the parent's buffers.
 */
import { createReadStream, createWriteStream, openSync, closeSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { randomBytes, randomFillSync } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { AlgorithmSuiteId, decrypt, decryptStream, encrypt, encryptStream, RawAesKeyring } from '../src/index.js';

const MiB = 1024 * 1024;
const keyring = new RawAesKeyring({ keyNamespace: 'bench', keyName: 'aes-256', wrappingKey: randomBytes(32) });

/** VmHWM: this process's own peak RSS (getrusage's maxRSS survives exec and would report the parent's). */
function peakRssMiB(): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  return m === null ? process.resourceUsage().maxRSS / 1024 : Number(m[1]) / 1024;
}

/**
 * Starts a new peak (VmHWM := current RSS, Linux's clear_refs 5), after a full collection, so each
 * streaming direction is measured on its own and not with the setup's buffers.
 */
function resetPeakRss(): void {
  globalThis.gc?.();
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    // Not Linux, or not allowed: the peak then covers the whole process.
  }
}

/** The plaintext file, written in 1 MiB pieces (never the whole GiB in memory). */
function writePlaintextFile(path: string, sizeMiB: number): void {
  const fd = openSync(path, 'w');
  const piece = Buffer.allocUnsafe(MiB);
  for (let i = 0; i < sizeMiB; i++) writeSync(fd, randomFillSync(piece));
  closeSync(fd);
}

async function main(): Promise<void> {
  const [job, arg] = process.argv.slice(2);
  if (job === 'buffer-encrypt' || job === 'buffer-decrypt') {
    const size = Number(arg) * MiB;
    // Default suite 0x0578 (signed: hashing on the second core) or 0x0478 (unsigned: the result written on the second core).
    const suiteId = process.argv[4] === '0478' ? AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY : AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384;
    if (job === 'buffer-encrypt') {
      const plaintext = randomFillSync(Buffer.allocUnsafe(size));
      const { ciphertext } = await encrypt(keyring, plaintext, { suiteId });
      if (ciphertext.length <= size) throw new Error('bad ciphertext');
    } else {
      // Encrypt in slices-free form: build the message, drop the plaintext, then decrypt.
      let ciphertext: Buffer | undefined = (await encrypt(keyring, randomFillSync(Buffer.allocUnsafe(size)), { suiteId })).ciphertext;
      globalThis.gc?.();
      const base = peakRssMiB();
      const { plaintext } = await decrypt(keyring, ciphertext);
      ciphertext = undefined;
      if (plaintext.length !== size) throw new Error('bad plaintext');
      console.log(JSON.stringify({ job, inputMiB: size / MiB, peakRssMiB: peakRssMiB(), peakBeforeDecryptMiB: base }));
      return;
    }
    console.log(JSON.stringify({ job, inputMiB: size / MiB, peakRssMiB: peakRssMiB() }));
    return;
  }
  if (job === 'stream') {
    const [plainPath, cipherPath, sizeMiB] = [process.argv[3]!, process.argv[4]!, Number(process.argv[5])];
    writePlaintextFile(plainPath, sizeMiB);
    const suiteId = AlgorithmSuiteId.AES_256_GCM_HKDF_SHA512_COMMIT_KEY;
    resetPeakRss();
    let t = process.hrtime.bigint();
    await pipeline(createReadStream(plainPath, { highWaterMark: MiB }), encryptStream(keyring, { suiteId }), createWriteStream(cipherPath));
    const encryptMs = Number(process.hrtime.bigint() - t) / 1e6;
    const encryptPeakRssMiB = peakRssMiB();
    resetPeakRss();
    let bytes = 0;
    t = process.hrtime.bigint();
    await pipeline(
      createReadStream(cipherPath, { highWaterMark: MiB }),
      decryptStream(keyring, { unsignedStreaming: true }),
      new Writable({ write(chunk: Buffer, _e, cb) { bytes += chunk.length; cb(); } }),
    );
    const decryptMs = Number(process.hrtime.bigint() - t) / 1e6;
    if (bytes !== sizeMiB * MiB) throw new Error('stream lost bytes');
    const decryptPeakRssMiB = peakRssMiB();
    console.log(JSON.stringify({ job, inputMiB: sizeMiB, peakRssMiB: Math.max(encryptPeakRssMiB, decryptPeakRssMiB), encryptPeakRssMiB, decryptPeakRssMiB, encryptMs, decryptMs }));
    return;
  }
  throw new Error(`unknown job ${job}`);
}

await main();
