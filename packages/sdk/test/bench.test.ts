import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, it } from 'node:test';

/**
 * `npm run bench` asserts no speed, but it is how #5's figures are measured: a harness that breaks
 * quietly goes unnoticed until someone needs a figure. So it runs here on a small message (16 MiB:
 * large enough for the worker paths), and must finish with every figure it prints.
 */
const dir = mkdtempSync(join(tmpdir(), 'coffer-sdk-bench-'));
after(() => rmSync(dir, { recursive: true, force: true }));

it('npm run bench measures every row, the baseline, peak RSS and streaming', async () => {
  const json = join(dir, 'bench.json');
  await promisify(execFile)(process.execPath, ['--expose-gc', fileURLToPath(new URL('../bench/sdk-bench.js', import.meta.url))], {
    env: { ...process.env, BENCH_MIB: '16', BENCH_STREAM_MIB: '8', BENCH_TRIALS: '1', BENCH_SETTLE_MS: '0', BENCH_JSON: json },
    timeout: 180_000,
  });
  const results = JSON.parse(readFileSync(json, 'utf8')) as {
    rows: { suite: string; frameLength: number; oursEncrypt: number; oursDecrypt: number; officialEncrypt?: number; officialDecrypt?: number }[];
    raw: { encrypt: number; decrypt: number };
    rss: { buffer: Record<string, { encrypt: number; decrypt: number }>; stream: { peakRssMiB: number; encryptMs: number; decryptMs: number } };
  };
  assert.deepEqual(results.rows.map((r) => `${r.suite}/${r.frameLength}`), ['0x0578/4096', '0x0478/65536', '0x0478/1048576', '0x0578/1048576']);
  const positive = (n: number | undefined, what: string) => assert.ok(typeof n === 'number' && n > 0 && Number.isFinite(n), `${what}: ${n}`);
  for (const r of results.rows) {
    positive(r.oursEncrypt, `${r.suite}/${r.frameLength} encrypt`);
    positive(r.oursDecrypt, `${r.suite}/${r.frameLength} decrypt`);
  }
  for (const r of results.rows.slice(0, 2)) {
    positive(r.officialEncrypt, `${r.suite}/${r.frameLength} official encrypt`);
    positive(r.officialDecrypt, `${r.suite}/${r.frameLength} official decrypt`);
  }
  positive(results.raw.encrypt, 'raw encrypt');
  positive(results.raw.decrypt, 'raw decrypt');
  for (const suite of ['0x0578', '0x0478']) {
    positive(results.rss.buffer[suite]?.encrypt, `${suite} buffer encrypt RSS`);
    positive(results.rss.buffer[suite]?.decrypt, `${suite} buffer decrypt RSS`);
  }
  positive(results.rss.stream.peakRssMiB, 'streaming RSS');
  positive(results.rss.stream.encryptMs, 'streaming encrypt time');
});
