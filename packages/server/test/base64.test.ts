import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isBase64 } from '../src/validate/base64.js';
import { seededRandom } from './support/crash-load.js';

/** What isBase64 stands in for on the hot path: it must accept exactly the strings this does. */
const DEFINITION = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

describe('isBase64', () => {
  it('accepts padded standard base64 and the empty string', () => {
    for (const text of ['', 'QQ==', 'QUI=', 'QUJD', Buffer.from('any bytes \u00ff').toString('base64'), 'AB+/']) assert.equal(isBase64(text), true, text);
  });

  it('refuses unpadded, URL-safe, misplaced padding, whitespace and non-ASCII text', () => {
    for (const text of ['QQ', 'QUI', 'AB-_', '====', 'A===', 'AB=C', '=ABC', 'QQ== ', ' QQ==', 'QQ==QQ==', 'QUJ\u00c9', 'QUJ\u0100', 'QQ=\n']) {
      assert.equal(isBase64(text), false, JSON.stringify(text));
    }
  });

  it('agrees with the regular expression on 20000 random strings', () => {
    const random = seededRandom(11);
    const chars = 'AZaz09+/=-_ \n\u00e9\u0141';
    for (let i = 0; i < 20000; i++) {
      let text = '';
      for (let n = Math.floor(random() * 13); n > 0; n--) {
        text += random() < 0.85 ? 'QUJDabc019+/'[Math.floor(random() * 12)] : chars[Math.floor(random() * chars.length)];
      }
      assert.equal(isBase64(text), DEFINITION.test(text), JSON.stringify(text));
    }
  });
});
