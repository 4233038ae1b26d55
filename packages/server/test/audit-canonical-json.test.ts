import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, canonicalJsonByDefinition } from '../src/audit/chain.js';
import { seededRandom } from './support/crash-load.js';

/**
 * The audit chain hashes a record's canonical JSON, and a verification recomputes it: the fast
 * path of `canonicalJson` must give exactly the definition's text for every value, or records
 * written before would no longer verify.
 */
describe('canonicalJson', () => {
  const cases: [string, unknown][] = [
    ['an audit record', {
      time: 1764385200000, requestId: '6f1c2b9e-4f0a-4b7e-9d1c-2a3b4c5d6e7f', principalArn: 'arn:aws:iam::111122223333:root',
      operation: 'Encrypt', keyArns: ['arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
      requestParameters: { KeyId: 'alias/x', EncryptionContext: { b: '1', a: '2', é: '3', Z: '4' } }, outcome: 'success',
      errorMessage: undefined, seq: 7, prevHash: '0'.repeat(64),
    }],
    ['integer-like keys, which objects list first', { b: 1, 10: 'ten', 9: 'nine', '01': 'zero-one', '-1': 'minus' }],
    ['a __proto__ key from JSON', JSON.parse('{"z":1,"__proto__":{"y":2,"x":[3]}}')],
    ['undefined members and array elements', { a: undefined, b: [1, undefined, 2], c: [undefined] }],
    ['an array with a hole', [1, , 3]],
    ['toJSON', { when: new Date(0), raw: Buffer.from('hi'), notAFunction: { toJSON: 'x' } }],
    ['lone surrogates and separators', { '\ud800': '\udfff', 'line\u2028sep': 'tab\t"quote"\\' }],
    ['numbers', [0, -0, 1e21, 1.5e-7, Number.MAX_SAFE_INTEGER, Number.NaN, Number.POSITIVE_INFINITY]],
    ['scalars', null], ['a string', 'x'], ['true', true], ['empty object', {}], ['empty array', []],
    ['nested', { a: { b: { c: { d: [[{}], { e: null }] } } } }],
    ['a Map', { m: new Map([['a', 1]]) }],
  ];
  for (const [name, value] of cases) {
    it(`gives the definition's text: ${name}`, () => {
      assert.equal(canonicalJson(value), canonicalJsonByDefinition(value));
    });
  }

  it('sorts keys at every level and drops undefined members', () => {
    assert.equal(canonicalJson({ b: { d: 1, c: [{ f: 1, e: 2 }] }, a: undefined, A: 0 }), '{"A":0,"b":{"c":[{"e":2,"f":1}],"d":1}}');
  });

  it('gives the definition\'s text for 5000 random JSON values', () => {
    const random = seededRandom(97);
    const keys = ['a', 'b', 'B', '0', '1', '10', '__proto__', 'toJSON', 'é', '\ud83d\ude00', 'x y', ''];
    const value = (depth: number): unknown => {
      const dice = random();
      if (depth > 3 || dice < 0.3) return [null, true, 1.5, -3, 'str', '\u2028', undefined][Math.floor(random() * 7)];
      if (dice < 0.6) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
      const object: Record<string, unknown> = {};
      for (let i = Math.floor(random() * 5); i > 0; i--) Object.defineProperty(object, keys[Math.floor(random() * keys.length)]!, { value: value(depth + 1), enumerable: true, configurable: true, writable: true });
      return object;
    };
    for (let i = 0; i < 5000; i++) {
      const v = value(0);
      assert.equal(canonicalJson(v), canonicalJsonByDefinition(v), JSON.stringify(v));
    }
  });
});
