import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ALL_ERRORS } from '../src/errors.js';

const table = readFileSync(new URL('../../../../docs/errors.md', import.meta.url), 'utf8');
const documented = new Map(
  [...table.matchAll(/^\| (\w+) \| (\d{3}) \|/gm)].map((m) => [m[1]!, Number(m[2])]),
);

describe('docs/errors.md', () => {
  it('lists every error class with its status, and nothing else', () => {
    const actual = new Map(ALL_ERRORS.map((E) => { const e = new E(); return [e.code, e.status] as const; }));
    assert.deepEqual(Object.fromEntries(documented), Object.fromEntries(actual));
  });

  it('gives client errors 400 and only service faults 5xx', () => {
    for (const E of ALL_ERRORS) {
      const e = new E();
      const fault = e.code === 'KMSInternalException' || e.code === 'KeyUnavailableException' || e.code === 'DependencyTimeoutException';
      assert.equal(e.status >= 500, fault, e.code);
      if (!fault) assert.equal(e.status, 400, e.code);
    }
  });
});
