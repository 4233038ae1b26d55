import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { rawRequest, startTestServer, type RawResponse, type TestServer } from './support/server.js';

/**
 * List markers over HTTP: a NextMarker resumes the listing that issued it and nothing else. AWS
 * answers InvalidMarkerException for a marker that is not valid for the request; Coffer once read
 * any of its markers as a position in any listing, so a marker passed to the wrong operation
 * silently skipped items or answered an empty page.
 */
describe('list markers', () => {
  let t: TestServer;
  let keyA: string;
  let keyB: string;
  /** One NextMarker from each listing, over keyA where the listing is per key. */
  const issued = new Map<string, string>();

  const raw = (operation: string, body: unknown) => rawRequest(t.server.endpoint, t.credentials, operation, body);
  const ok = (res: RawResponse): Record<string, unknown> => {
    assert.equal(res.status, 200, res.text);
    return res.body;
  };
  const ROOT = 'arn:aws:iam::111122223333:root';

  /** Every listing, as a request for its first page of one item over keyA, or over `key`. */
  const listings = (key: string): Record<string, Record<string, unknown>> => ({
    ListKeys: {},
    ListAliases: {},
    ListGrants: { KeyId: key },
    ListRetirableGrants: { RetiringPrincipal: ROOT },
    ListResourceTags: { KeyId: key },
    ListKeyRotations: { KeyId: key },
  });

  before(async () => {
    t = await startTestServer();
    const create = async () => String((ok(await raw('CreateKey', {})).KeyMetadata as Record<string, unknown>).KeyId);
    keyA = await create();
    keyB = await create();
    for (const key of [keyA, keyB]) {
      for (let i = 0; i < 3; i++) {
        ok(await raw('CreateAlias', { AliasName: `alias/markers-${key}-${i}`, TargetKeyId: key }));
        ok(await raw('CreateGrant', { KeyId: key, GranteePrincipal: ROOT, RetiringPrincipal: ROOT, Operations: ['Encrypt'] }));
        ok(await raw('RotateKeyOnDemand', { KeyId: key }));
      }
      ok(await raw('TagResource', { KeyId: key, Tags: [0, 1, 2].map((i) => ({ TagKey: `t${i}`, TagValue: 'v' })) }));
    }
    for (const [operation, body] of Object.entries(listings(keyA))) {
      const first = ok(await raw(operation, { ...body, Limit: 1 }));
      assert.equal(first.Truncated, true, `${operation} has a second page`);
      issued.set(operation, String(first.NextMarker));
    }
  });
  after(() => t.dispose());

  it('a NextMarker resumes the listing that issued it', async () => {
    for (const [operation, body] of Object.entries(listings(keyA))) {
      ok(await raw(operation, { ...body, Limit: 1, Marker: issued.get(operation) }));
    }
  });

  it('a marker from another operation is InvalidMarkerException, in every listing', async () => {
    for (const [operation, body] of Object.entries({ ...listings(keyA), ListKeyPolicies: { KeyId: keyA } })) {
      for (const [from, marker] of issued) {
        if (from === operation) continue;
        const res = await raw(operation, { ...body, Marker: marker });
        assert.equal(res.status, 400, `${from}'s marker in ${operation}: ${res.text}`);
        assert.equal(res.body.__type, 'InvalidMarkerException', `${from}'s marker in ${operation}`);
        // Before, "not one this server issued", though it was.
        assert.match(String(res.body.message), /^The marker belongs to another listing \(other filters or another operation\)/, `${from}'s marker in ${operation}`);
      }
    }
  });

  it('a marker of one key\'s listing is InvalidMarkerException for another key', async () => {
    for (const operation of ['ListGrants', 'ListResourceTags', 'ListKeyRotations']) {
      const res = await raw(operation, { ...listings(keyB)[operation], Marker: issued.get(operation) });
      assert.equal(res.body.__type, 'InvalidMarkerException', `${operation}: ${res.text}`);
    }
  });

  it('a marker of one key\'s aliases is InvalidMarkerException for another key\'s, and between all aliases and one key\'s', async () => {
    // keyA's aliases sort before keyB's or after them: read as a position, either marker would skip
    // the other key's aliases or answer an empty page.
    const first = async (body: Record<string, unknown>) => ok(await raw('ListAliases', { ...body, Limit: 1 })).NextMarker;
    const ofA = await first({ KeyId: keyA });
    const ofB = await first({ KeyId: keyB });
    const ofAll = issued.get('ListAliases');
    for (const [body, marker, from] of [
      [{ KeyId: keyB }, ofA, 'keyA\'s'], [{ KeyId: keyA }, ofB, 'keyB\'s'], [{}, ofA, 'keyA\'s'], [{ KeyId: keyA }, ofAll, 'all aliases\''],
    ] as const) {
      const res = await raw('ListAliases', { ...body, Marker: marker });
      assert.equal(res.body.__type, 'InvalidMarkerException', `${from} marker in ListAliases ${JSON.stringify(body)}: ${res.text}`);
    }
    // Each resumes its own listing.
    assert.equal((ok(await raw('ListAliases', { KeyId: keyA, Marker: ofA })).Aliases as unknown[]).length, 2);
    assert.equal((ok(await raw('ListAliases', { KeyId: keyB, Marker: ofB })).Aliases as unknown[]).length, 2);
  });

  it('a marker cut short, lengthened or changed is InvalidMarkerException, in every listing', async () => {
    // Read as a position, a marker cut short resumed before the item it named (listing it again),
    // and one with characters added resumed after it, past items that sort between the two.
    for (const [operation, body] of Object.entries(listings(keyA))) {
      const marker = issued.get(operation)!;
      const changed = (at: number) => `${marker.slice(0, at)}${marker[at] === 'A' ? 'B' : 'A'}${marker.slice(at + 1)}`;
      for (const altered of [marker.slice(0, -1), marker.slice(0, -4), `${marker}A`, `${marker}AAAA`, changed(marker.length - 1), changed(marker.length - 12)]) {
        const res = await raw(operation, { ...body, Marker: altered });
        assert.equal(res.body.__type, 'InvalidMarkerException', `${operation}, ${altered} for ${marker}: ${res.text}`);
        assert.equal(res.body.message, 'The marker is not one this server issued.');
      }
    }
  });

  it('a marker outside U+0020..U+00FF fails the pattern, quoted as AWS\'s model writes it, in every listing', async () => {
    // MarkerType's pattern is `[\u0020-\u00FF]*`, unanchored; AWS's message quotes it so.
    for (const [operation, body] of Object.entries(listings(keyA))) {
      const res = await raw(operation, { ...body, Marker: 'next\u0100' });
      assert.equal(res.status, 400, `${operation}: ${res.text}`);
      assert.equal(res.body.__type, 'ValidationException', operation);
      assert.equal(res.body.message,
        "1 validation error detected: Value 'next\u0100' at 'marker' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\u0020-\\u00FF]*");
    }
  });
});
