import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Api, Json } from '../src/api/client.js';
import { listAllGrants } from '../src/api/keys.js';

/**
 * The key page's grants, without a browser: it showed ListGrants' first page of 100 and nothing of
 * the rest, so a key with more grants looked as if it had 100, and those past them could not be
 * revoked from the console.
 */
describe('key page grants', () => {
  it('lists every grant of a key with 250, page after page, each once', async () => {
    const grantIds = Array.from({ length: 250 }, (_, i) => i.toString(16).padStart(64, '0'));
    const requests: Json[] = [];
    const api: Api = {
      region: 'us-east-1',
      async kms<T = Json>(operation: string, input: Json = {}): Promise<T> {
        assert.equal(operation, 'ListGrants');
        requests.push(input);
        const start = input.Marker === undefined ? 0 : Number(input.Marker);
        const limit = Number(input.Limit ?? 50);
        const items = grantIds.slice(start, start + limit).map((GrantId) => ({ GrantId, GranteePrincipal: 'arn:aws:iam::111122223333:role/r', Operations: ['Encrypt'] }));
        const more = start + limit < grantIds.length;
        return { Grants: items, Truncated: more, ...(more ? { NextMarker: String(start + limit) } : {}) } as T;
      },
      admin: () => Promise.reject(new Error('unexpected admin call')),
      whoAmI: () => Promise.reject(new Error('unexpected whoAmI')),
      dispose: () => {},
    };
    const grants = await listAllGrants(api, 'k');
    assert.deepEqual(grants.map((g) => g.GrantId), grantIds);
    assert.ok(requests.every((r) => r.KeyId === 'k'));
    assert.equal(requests.length, 3);
  });
});
