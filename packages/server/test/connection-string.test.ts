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
    ['postgres://coffer:S3cretPW@db:99999/coffer?password=S3cretPW', 'postgres://***@db:99999/coffer?password=***'],
  ];
  for (const [given, shown] of cases) {
    assert.equal(redactConnectionString(given), shown);
    assert.equal(redactConnectionString(given).includes('S3cretPW'), false);
  }
  assert.equal(isPostgresUrl('postgres://db/coffer'), true);
  assert.equal(isPostgresUrl('sqlite'), false);
});
