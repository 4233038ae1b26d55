import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GlobBuilder } from '../src/policy/glob.js';
import { arnGlob, globOf } from '../src/policy/wildcard.js';
import { compilePolicy } from '../src/policy/compile.js';
import { statementMatches } from '../src/policy/evaluate.js';
import { seededRandom } from './support/crash-load.js';

/** The definition a Glob stands in for: the same pattern as an anchored RegExp over code points. */
function definition(tokens: readonly string[], ignoreCase: boolean): RegExp {
  const source = tokens.map((t) => (t === '*' ? '.*' : t === '?' ? '.' : t === '[^:]*' || t === '[^:]' ? t : t.replace(/[\\^$.|+()[\]{}*?]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'isu' : 'su');
}

function build(tokens: readonly string[], ignoreCase: boolean) {
  const builder = new GlobBuilder();
  for (const t of tokens) {
    if (t === '*') builder.star();
    else if (t === '?') builder.one();
    else if (t === '[^:]*') builder.star(false);
    else if (t === '[^:]') builder.one(false);
    else builder.literal(t);
  }
  return builder.build(ignoreCase);
}

describe('policy wildcards (Glob)', () => {
  it('agrees with the equivalent regular expression on 20000 random patterns and texts', () => {
    const random = seededRandom(5);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const atoms = ['*', '?', '[^:]*', '[^:]', 'a', 'b', ':', '/', 'A', '\u{1F600}'];
    for (let i = 0; i < 20000; i++) {
      const tokens = Array.from({ length: Math.floor(random() * 7) }, () => pick(atoms));
      const text = Array.from({ length: Math.floor(random() * 9) }, () => pick(['a', 'b', 'A', ':', '/', '\u{1F600}'])).join('');
      const ignoreCase = random() < 0.3;
      assert.equal(build(tokens, ignoreCase).test(text), definition(tokens, ignoreCase).test(text), `${JSON.stringify(tokens)} ${ignoreCase ? 'i' : ''} on ${JSON.stringify(text)}`);
    }
  });

  it('`?` takes one character, also outside the Basic Multilingual Plane', () => {
    assert.equal(globOf('a?c').test('a\u{1F600}c'), true);
    assert.equal(globOf('a??c').test('a\u{1F600}c'), false);
  });

  it('ARN patterns keep a wildcard inside its segment before the resource part', () => {
    const glob = arnGlob([{ text: 'arn:aws:kms:*:111122223333:key/*', literal: false }], 'condition');
    assert.equal(glob.test('arn:aws:kms:us-east-1:111122223333:key/abc'), true);
    assert.equal(glob.test('arn:aws:kms:us-east-1:444455556666:x:111122223333:key/abc'), false);
  });

  it('patterns that make a backtracking matcher run for hours answer at once on 8 KiB of text', () => {
    const text = '/'.repeat(8192);
    // As a RegExp, `^.*\/.*\/.*\/.*\/.*\/forbidden$` on this text takes about n^5 steps.
    assert.equal(globOf('*/*/*/*/*/forbidden').test(text), false);
    assert.equal(globOf('*/*/*/*/*/forbidden').test(`${text}forbidden`), true);
    assert.equal(globOf('*a*a*a*a*a*a*b').test('a'.repeat(8192)), false);

    const policy = compilePolicy(JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Action: 'kms:*', Resource: '*', Condition: { StringLike: { 'kms:EncryptionContext:path': '*/*/*/*/forbidden' } } }],
    }), 'identity');
    const request = (path: string) => ({
      action: 'kms:Encrypt', resource: 'arn:aws:kms:us-east-1:111122223333:key/k', context: { 'kms:encryptioncontext:path': path },
    });
    assert.equal(statementMatches(policy.statements[0]!, request(text)), false);
    assert.equal(statementMatches(policy.statements[0]!, request('a/b/c/d/forbidden')), true);
  });
});
