import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, describe, it } from 'node:test';

/**
 * The benches (`npm run bench:server`, `npm run bench:pipeline`) are not tests: nothing in them
 * asserts a speed. But they are how #9's figures are measured, and a harness that breaks quietly
 * (the pipeline bench's stand-in response once lacked a member the server started reading) goes
 * unnoticed until someone needs a figure. So each runs here, briefly, and must finish with a figure
 * for every workload asked for and no failed request.
 */
const run = promisify(execFile);
const bench = (name: string) => fileURLToPath(new URL(`../bench/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'coffer-benches-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const WORKLOADS = ['encrypt', 'decrypt', 'generate-data-key', 'generate-random', 'sign'];

describe('the server benches run', () => {
  it('bench:pipeline gives a CPU figure for every workload', async () => {
    const { stdout } = await run(process.execPath, [bench('pipeline-bench.js'), '--workloads', WORKLOADS.join(','), '--requests', '300'], { timeout: 120_000 });
    for (const workload of WORKLOADS) {
      assert.match(stdout, new RegExp(`^${workload} +[0-9.]+ µs CPU/req`, 'm'), `no figure for ${workload}:\n${stdout}`);
    }
  });

  it('bench:server measures the ceiling and each workload with every request answered and audited', async () => {
    const json = join(dir, 'server-bench.json');
    await run(process.execPath, [
      bench('server-bench.js'), '--stores', 'sqlite', '--workloads', 'encrypt,sign', '--connections', '4',
      '--duration', '1', '--warmup', '0', '--workers', '1', '--json', json,
    ], { timeout: 120_000 });
    const rows = (JSON.parse(readFileSync(json, 'utf8')) as { rows: Record<string, number | string>[] }).rows;
    assert.deepEqual(rows.map((r) => `${r.server}/${r.workload}`), ['ceiling/bare', 'sqlite/encrypt', 'sqlite/sign']);
    for (const row of rows) {
      assert.ok((row.requests as number) > 0, `${row.workload}: no request answered`);
      assert.equal(row.non2xx, 0, `${row.workload}: non-2xx answers`);
      assert.equal(row.errors, 0, `${row.workload}: errors`);
      assert.ok((row.cpuPerRequestUs as number) > 0, `${row.workload}: no CPU figure`);
      if (row.server !== 'ceiling') assert.ok((row.auditRecords as number) >= (row.requests as number), `${row.workload}: fewer audit records than answers`);
    }
  });
});
