import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { timeline } from '../src/metrics.js';
import { checkPolicyText, lineAndColumn, withLineAndColumn } from '../src/policy.js';

/** The dashboard's arithmetic and the policy editor's first check, without a browser. */
describe('dashboard timeline', () => {
  const now = 1_800_000_005; // 5 s into a ten-second bucket
  const end = 1_800_000_000;

  it('spans the last hour in ten-second steps, ending with the current bucket, zeros where buckets are missing', () => {
    const view = timeline({ IntervalSeconds: 10, Buckets: [] }, now);
    assert.equal(view.times.length, 360);
    assert.equal(view.times.at(-1), end);
    assert.equal(view.times[0], end - 3590);
    assert.deepEqual(view.perSecond, []);
    assert.ok(view.errorRate[0]!.values.every((v) => v === 0));
    assert.deepEqual(view.totals, { requests: 0, errors: 0, throttled: 0 });
  });

  it('puts each bucket at its start, as requests per second, and the error rate as a percentage', () => {
    const view = timeline({
      IntervalSeconds: 10,
      Buckets: [
        { Start: end - 20, Operations: { Encrypt: { Requests: 40, Errors: 10, Throttled: 5 } } },
        { Start: end, Operations: { Encrypt: { Requests: 5, Errors: 0, Throttled: 0 }, Decrypt: { Requests: 15, Errors: 5, Throttled: 0 } } },
      ],
    }, now);
    const encrypt = view.perSecond.find((s) => s.name === 'Encrypt')!;
    assert.deepEqual(encrypt.values.slice(-3), [4, 0, 0.5]);
    assert.deepEqual(view.perSecond.find((s) => s.name === 'Decrypt')!.values.slice(-3), [0, 0, 1.5]);
    assert.deepEqual(view.errorRate[0]!.values.slice(-3), [25, 0, 25]);
    assert.deepEqual(view.totals, { requests: 60, errors: 15, throttled: 5 });
    assert.deepEqual(view.perSecond.map((s) => s.name), ['Encrypt', 'Decrypt']);
  });

  it('ends at the newest bucket of the server when the clock of the browser lags', () => {
    const view = timeline({ IntervalSeconds: 10, Buckets: [{ Start: end + 30, Operations: { Sign: { Requests: 10, Errors: 0, Throttled: 0 } } }] }, now);
    assert.equal(view.times.at(-1), end + 30);
    assert.equal(view.perSecond[0]!.values.at(-1), 1);
  });

  it('charts the five busiest operations by name and sums the rest as "other"', () => {
    const operations: Record<string, { Requests: number; Errors: number; Throttled: number }> = {};
    ['A', 'B', 'C', 'D', 'E', 'F', 'G'].forEach((name, i) => { operations[name] = { Requests: 70 - i * 10, Errors: 0, Throttled: 0 }; });
    const view = timeline({ IntervalSeconds: 10, Buckets: [{ Start: end, Operations: operations }] }, now);
    assert.deepEqual(view.perSecond.map((s) => s.name), ['A', 'B', 'C', 'D', 'E', 'other']);
    assert.equal(view.perSecond.at(-1)!.values.at(-1), (20 + 10) / 10);
  });
});

describe('policy editor check', () => {
  it('accepts a JSON object with a Statement', () => {
    assert.equal(checkPolicyText('{"Version": "2012-10-17", "Statement": []}'), undefined);
  });

  it('reports a syntax error, with the line and column where the engine gives only an offset', () => {
    const text = '{\n  "Version": "2012-10-17",\n  "Statement" []\n}';
    assert.match(checkPolicyText(text) ?? '', /^Not valid JSON: ./);
    assert.deepEqual(lineAndColumn(text, text.indexOf('[')), { line: 3, column: 15 });
    assert.equal(withLineAndColumn("Expected ':' after property name in JSON at position 43", text),
      "Expected ':' after property name in JSON at position 43 (line 3 column 15)");
    const chromium = "Expected ':' after property name in JSON at position 43 (line 3 column 15)";
    assert.equal(withLineAndColumn(chromium, text), chromium);
    assert.equal(withLineAndColumn('JSON Parse error: Expected ":"', text), 'JSON Parse error: Expected ":"');
  });

  it('refuses JSON that is not an object, or has no Statement', () => {
    assert.equal(checkPolicyText('[]'), 'A policy must be a JSON object.');
    assert.equal(checkPolicyText('"policy"'), 'A policy must be a JSON object.');
    assert.equal(checkPolicyText('{"Version": "2012-10-17"}'), 'A policy needs a "Statement" member.');
  });
});
