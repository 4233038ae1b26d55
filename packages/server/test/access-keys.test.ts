import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessKeys } from '../src/auth/access-keys.js';
import type { RootKey } from '../src/root/root-key.js';
import type { Store } from '../src/store/store.js';

describe('AccessKeys.findActive: the ids it looks up', () => {
  const lookups: string[] = [];
  const store = { getAccessKey: async (id: string) => (lookups.push(id), undefined) } as unknown as Store;
  const keys = new AccessKeys(store, {} as RootKey);

  it('looks up an id of an access key\'s shape (16 to 128 word characters), and answers an unknown one with none', async () => {
    for (const id of ['AKIAEXAMPLE234567ABC', 'A'.repeat(16), 'a_b'.repeat(42) + 'cd']) {
      lookups.length = 0;
      assert.equal(await keys.findActive(id), undefined);
      assert.deepEqual(lookups, [id]);
    }
  });

  // An unauthenticated client chooses the id: up to 16 KiB of Authorization header, each kept in the cache.
  for (const [what, id] of [['16,000 characters', 'A'.repeat(16_000)], ['129 characters', 'A'.repeat(129)], ['15 characters', 'A'.repeat(15)],
    ['a dash', 'AKIAEXAMPLE-234567'], ['nothing', '']] as const) {
    it(`answers an id of ${what} with none without looking it up`, async () => {
      lookups.length = 0;
      assert.equal(await keys.findActive(id), undefined);
      assert.deepEqual(lookups, []);
    });
  }
});
