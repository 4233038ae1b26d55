import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { visibleText } from '../src/format.js';

/**
 * What a caller chose, shown so that two different texts never look the same: an invisible
 * character inside a value (`pro\u200Bd`) passed for the value without it (`prod`).
 */
describe('visibleText', () => {
  it('shows invisible format characters as <U+...>, as it shows bidirectional controls', () => {
    assert.equal(visibleText('pro\u200bd'), 'pro<U+200B>d');
    assert.notEqual(visibleText('pro\u200bd'), visibleText('prod'));
    const invisible: [string, string][] = [
      ['\u200b', '200B'], ['\u200c', '200C'], ['\u200d', '200D'], ['\u2060', '2060'], ['\ufeff', 'FEFF'], ['\u00ad', '00AD'],
      ['\u2062', '2062'], ['\u180e', '180E'], ['\u034f', '034F'], ['\ufe0f', 'FE0F'], ['\u3164', '3164'], ['\u115f', '115F'],
      ['\u{e0041}', 'E0041'], ['\u{e0100}', 'E0100'], ['\u{1d173}', '1D173'],
      // Control characters other than tab and line breaks: a box at best, and one box looks like another.
      ['\u0001', '0001'], ['\u001b', '001B'], ['\u007f', '007F'], ['\u0085', '0085'], ['\u009b', '009B'],
      // The bidirectional controls, as before.
      ['\u061c', '061C'], ['\u200e', '200E'], ['\u200f', '200F'], ['\u202a', '202A'], ['\u202e', '202E'], ['\u2066', '2066'], ['\u2069', '2069'],
    ];
    for (const [c, hex] of invisible) assert.equal(visibleText(`a${c}b`), `a<U+${hex}>b`, hex);
  });

  it('leaves visible text, spaces and line breaks as they are', () => {
    for (const text of ['prod', 'Payment card tokens', 'שלום עולם', 'ключ', '鍵', 'naïve café', 'a\tb\nc', 'x=1, "y"', '👍', '<U+202E>']) {
      assert.equal(visibleText(text), text);
    }
  });

  it('shows nothing for an absent value', () => {
    assert.equal(visibleText(undefined), '');
    assert.equal(visibleText(null), '');
  });
});
