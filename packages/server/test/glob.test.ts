import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GlobBuilder, unionGlob } from '../src/policy/glob.js';
import { arnGlob, globOf } from '../src/policy/wildcard.js';
import { compilePolicy } from '../src/policy/compile.js';
import { statementMatches } from '../src/policy/evaluate.js';
import { seededRandom } from './support/crash-load.js';

/** The definition a Glob stands in for: the same pattern as an anchored RegExp over code points. */
function definition(tokens: readonly string[], ignoreCase: boolean): RegExp {
  const source = tokens.map((t) => (t === '*' ? '.*' : t === '?' ? '.' : t === '[^:]*' || t === '[^:]' ? t : t.replace(/[\\^$.|+()[\]{}*?]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, ignoreCase ? 'isu' : 'su');
}

function builderOf(tokens: readonly string[]): GlobBuilder {
  const builder = new GlobBuilder();
  for (const t of tokens) {
    if (t === '*') builder.star();
    else if (t === '?') builder.one();
    else if (t === '[^:]*') builder.star(false);
    else if (t === '[^:]') builder.one(false);
    else builder.literal(t);
  }
  return builder;
}

const build = (tokens: readonly string[], ignoreCase: boolean) => builderOf(tokens).build(ignoreCase);

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

  it('agrees with the equivalent regular expression on patterns of more positions than one 32-bit word', () => {
    const random = seededRandom(7);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    for (let i = 0; i < 1000; i++) {
      // Mostly literals and `?`, a few stars (a RegExp backtracks on many), 30 to 80 positions.
      const tokens = Array.from({ length: 30 + Math.floor(random() * 51) }, () =>
        (random() < 0.04 ? pick(['*', '[^:]*']) : pick(['?', '[^:]', 'a', 'b', ':', '\u{1F600}', 'a', 'b'])));
      // A text the pattern matches, then perhaps one character changed, added or removed.
      let text = tokens.map((t) => (t === '*' || t === '[^:]*' ? 'ab'.slice(0, Math.floor(random() * 3)) : t === '?' ? pick(['a', ':']) : t === '[^:]' ? 'b' : t)).join('');
      const at = Math.floor(random() * (text.length + 1));
      const edit = random();
      if (edit < 0.25) text = text.slice(0, at) + pick(['a', 'b', ':']) + text.slice(at + 1);
      else if (edit < 0.4) text = text.slice(0, at) + pick(['a', ':']) + text.slice(at);
      else if (edit < 0.55) text = text.slice(0, at) + text.slice(at + 1);
      const ignoreCase = random() < 0.2;
      assert.equal(build(tokens, ignoreCase).test(text), definition(tokens, ignoreCase).test(text), `${JSON.stringify(tokens)} ${ignoreCase ? 'i' : ''} on ${JSON.stringify(text)}`);
    }
  });

  it('a union of patterns (unionGlob) matches what any one of them does, on 3000 random sets of up to 40', () => {
    const random = seededRandom(11);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    const atoms = ['*', '?', '[^:]*', '[^:]', 'a', 'b', ':', '/', 'A', '\u{1F600}'];
    for (let i = 0; i < 3000; i++) {
      const patterns = Array.from({ length: 1 + Math.floor(random() * 40) }, () => Array.from({ length: Math.floor(random() * 7) }, () => pick(atoms)));
      const ignoreCase = random() < 0.3;
      const union = unionGlob(patterns.map(builderOf), ignoreCase);
      for (let j = 0; j < 5; j++) {
        const text = Array.from({ length: Math.floor(random() * 9) }, () => pick(['a', 'b', 'A', ':', '/', '\u{1F600}'])).join('');
        const expected = patterns.some((tokens) => definition(tokens, ignoreCase).test(text));
        assert.equal(union.test(text), expected, `${JSON.stringify(patterns)} ${ignoreCase ? 'i' : ''} on ${JSON.stringify(text)}`);
      }
    }
  });

  it('patterns of literal runs and stars (searched for run by run) agree with the regular expression on 20000 random cases', () => {
    const random = seededRandom(11);
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
    for (let i = 0; i < 20000; i++) {
      // Few letters, so that runs recur in the text and a leftmost place is often not the only one.
      const tokens = Array.from({ length: 1 + Math.floor(random() * 9) }, () => pick(['*', 'a', 'b', 'ab', 'ba', 'A', '\u{1F600}']));
      const text = Array.from({ length: Math.floor(random() * 16) }, () => pick(['a', 'b', 'A', 'B', '\u{1F600}'])).join('');
      const ignoreCase = random() < 0.3;
      assert.equal(build(tokens, ignoreCase).test(text), definition(tokens, ignoreCase).test(text), `${JSON.stringify(tokens)} ${ignoreCase ? 'i' : ''} on ${JSON.stringify(text)}`);
    }
  });

  it('a StringLike value with a policy variable decides on an 8 KiB encryption context, the variable\'s text taken literally', () => {
    // 900 values each as long as the context makes them: position by position this held the
    // event loop for seconds per request (any caller of the key could send one).
    const values = Array.from({ length: 900 }, (_, i) => `*\${kms:EncryptionContext:b}*${i}`);
    const policy = compilePolicy(JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: 'kms:*', Resource: '*', Condition: { 'ForAnyValue:StringLike': { 'kms:EncryptionContext:a': values } } }],
    }), 'key');
    const request = (a: string, b: string) => ({
      action: 'kms:Encrypt', resource: 'arn:aws:kms:us-east-1:111122223333:key/k',
      context: { 'kms:encryptioncontext:a': a, 'kms:encryptioncontext:b': b },
    });
    assert.equal(statementMatches(policy.statements[0]!, request('a'.repeat(4000), 'a'.repeat(4000))), false);
    assert.equal(statementMatches(policy.statements[0]!, request(`x${'a'.repeat(3990)}x899`, 'a'.repeat(3990))), true);
    // A star in the variable's text is a character, not a wildcard.
    assert.equal(statementMatches(policy.statements[0]!, request('xyz7', '*')), false);
    assert.equal(statementMatches(policy.statements[0]!, request('x*z7', '*')), true);
  });

  it('a run of stars matches as one star, which takes a colon if any star of the run may', () => {
    const tokens = ['a', ...Array.from({ length: 5000 }, (_, i) => (i % 3 === 0 ? '*' : '[^:]*')), 'z'];
    assert.equal(build(tokens, false).test('a:b:c:z'), true);
    assert.equal(build(['a', ...Array(5000).fill('[^:]*'), 'z'], false).test('a:b:c:z'), false);
    assert.equal(build(['a', ...Array(5000).fill('[^:]*'), 'z'], false).test('abcz'), true);
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

  it('a 32 KB key policy of StringLike patterns decides on an 8 KiB encryption context value', () => {
    // 541 patterns of 55 positions each against 8000 characters: one position at a time this held
    // the event loop for about 4 s (every other request on the server waiting); 32 at a time, a
    // few hundred milliseconds even on a loaded machine. (Speed is not timed in tests; this holds
    // the answer, and the property test below holds the word-wise matcher to the definition.)
    const values: string[] = [];
    const text = (): string => JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:Decrypt', Resource: '*', Condition: { StringLike: { 'kms:EncryptionContext:k': values } } }] });
    while (text().length < 31900) values.push(`*a*b*c*d*e*f*g*h*i*j*k*l*m*n*o*p*q*r*s*t*u*v*w*x*y*z*${values.length}`);
    const policy = compilePolicy(text(), 'key');
    const request = { action: 'kms:Decrypt', resource: 'arn:aws:kms:us-east-1:111122223333:key/k', context: { 'kms:encryptioncontext:k': 'z'.repeat(8000) } };
    assert.equal(statementMatches(policy.statements[0]!, request), false);
    const matching = { ...request, context: { 'kms:encryptioncontext:k': `${'abcdefghijklmnopqrstuvwxyz'.repeat(300)}0` } };
    assert.equal(statementMatches(policy.statements[0]!, matching), true);
  });
});
