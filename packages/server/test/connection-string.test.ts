/**
 * A PostgreSQL connection string as the server shows it (the start banner, errors, logs): every
 * password the driver would read is replaced, wherever the string carries it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isPostgresUrl, redactConnectionString } from '../src/store/connection-string.js';

test('the password in the user part, and password or sslpassword query parameters, are replaced', () => {
  const cases: Array<[string, string]> = [
    ['postgres://coffer:S3cretPW@db:5432/coffer', 'postgres://coffer:***@db:5432/coffer'],
    ['postgres://coffer@db/coffer?password=S3cretPW', 'postgres://coffer@db/coffer?password=***'],
    ['postgresql://coffer@db/coffer?sslmode=require&PASSWORD=S3cretPW&sslpassword=K3yPW', 'postgresql://coffer@db/coffer?sslmode=require&PASSWORD=***&sslpassword=***'],
    ['postgres://coffer@db/coffer?application_name=coffer', 'postgres://coffer@db/coffer?application_name=coffer'],
    // Not a URL node can parse (a port past 65535): still no password shown.
    ['postgres://coffer:S3cretPW@db:99999/coffer?password=S3cretPW', 'postgres://coffer:***@db:99999/coffer?password=***'],
    // Passwords with characters left unencoded: before, all or most of each was shown.
    ['postgres://coffer:S3cret/PW@127.0.0.1:41950/coffer', 'postgres://coffer:***@127.0.0.1:41950/coffer'],
    ['postgres://we:ird:S3cretPW@ss:w/rd%?#x@db:5432/coffer', 'postgres://we:***@db:5432/coffer'],
    ['postgres://coffer:123?S3cretPW@db/coffer', 'postgres://coffer:***@db/coffer'],
    ['postgres://coffer:S3cretPW#@db/coffer', 'postgres://coffer:***@db/coffer'],
    // Typos of the scheme, named in the refusal: before, shown whole.
    ['postgres//coffer:S3cretPW@db/x', 'postgres//coffer:***@db/x'],
    ['postgres:/coffer:S3cretPW@db/x', 'postgres:/coffer:***@db/x'],
    ['postgres:coffer:S3cretPW@db/x', 'postgres:coffer:***@db/x'],
    // The keyword form, refused (only URLs are taken) but named in the refusal.
    ["host=db user=coffer password=S3cretPW dbname=coffer", 'host=db user=coffer password=*** dbname=coffer'],
    ["host=db password = 'S3cret PW' dbname=coffer", 'host=db password = *** dbname=coffer'],
    ['host=db password=S3cret\\ PW dbname=coffer', 'host=db password=*** dbname=coffer'],
    ['host=db password=S3cret@PW dbname=coffer', 'host=db password=*** dbname=coffer'],
  ];
  for (const [given, shown] of cases) {
    assert.equal(redactConnectionString(given), shown);
    assert.equal(/S3cret/.test(redactConnectionString(given)), false, given);
  }
  assert.equal(isPostgresUrl('postgres://db/coffer'), true);
  assert.equal(isPostgresUrl('sqlite'), false);
});
