import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wholeDaysIn } from '../src/input.js';

/** The number fields' reading: only a whole number in range is sent; anything else is held back with a hint. */
describe('days typed into the key page', () => {
  it('takes a whole number within the range, and nothing else', () => {
    assert.equal(wholeDaysIn('7', 7, 30), 7);
    assert.equal(wholeDaysIn(' 30 ', 7, 30), 30);
    for (const text of ['', ' ', '6', '31', '7.5', '1e1', '-7', '0x10', 'seven', '99999999']) {
      assert.equal(wholeDaysIn(text, 7, 30), undefined, JSON.stringify(text));
    }
  });
});
