import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { AliasRecord, KeyRecord, KeyVersionRecord } from '../keys/key-record.js';
import type { AccessKeyRecord, Store } from './store.js';

/**
 * The semantics every Store backend must show, written against the Store interface only, so each
 * backend runs the same suite: `defineStoreConformance('sqlite', open)` in that backend's test
 * file. docs/store.md describes what these cases prove. This module is test code that lives beside
 * the interface it specifies; it is deliberately not exported from the package's index.
 */
export interface OpenedStore {
  readonly store: Store;
  /** Closes the store and removes whatever `open` created. */
  close(): Promise<void>;
}

const DAY = 86_400_000;
const T0 = Date.UTC(2024, 0, 1);

/** Key ids in a known order: `keyId(1) < keyId(2) < ...`, in the shape of AWS key ids. */
const keyId = (n: number): string => `00000000-0000-4000-8000-${n.toString().padStart(12, '0')}`;

function keyRecord(id: string, fields: Partial<KeyRecord> = {}): KeyRecord {
  return {
    keyId: id, revision: 1, createdAt: T0, description: '', keySpec: 'SYMMETRIC_DEFAULT',
    keyUsage: 'ENCRYPT_DECRYPT', origin: 'AWS_KMS', state: 'Enabled', tags: [],
    onDemandRotations: 0, currentVersion: 1, ...fields,
  };
}

/** A version whose bytes depend on `seed`, so two versions of the same number can be told apart. */
function keyVersion(id: string, version: number, seed = 'a', fields: Partial<KeyVersionRecord> = {}): KeyVersionRecord {
  const wrappedMaterial = new Uint8Array(createHash('sha512').update(`${id}:${version}:${seed}`).digest());
  return {
    keyId: id, version, materialId: createHash('sha256').update(wrappedMaterial).digest('hex'),
    wrappedMaterial, createdAt: T0 + version, ...fields,
  };
}

const aliasRecord = (aliasName: string, targetKeyId: string, at = T0): AliasRecord =>
  ({ aliasName, targetKeyId, createdAt: at, updatedAt: at });

/** Every byte value, zeros at both ends and a run of 0x00 in the middle: what text columns lose. */
function awkwardBytes(): Uint8Array {
  const bytes = new Uint8Array(2 + 256 + 8 + 4096 + 2);
  for (let i = 0; i < 256; i++) bytes[2 + i] = i;
  for (let i = 2 + 256 + 8; i < bytes.length - 2; i++) bytes[i] = (i * 131) & 0xff;
  return bytes;
}

/** Byte-exact, and a Uint8Array (a Buffer is one too): not a string, not an array of numbers. */
function assertBytes(actual: Uint8Array | undefined, expected: Uint8Array, what: string): void {
  assert.ok(actual instanceof Uint8Array, `${what} is not a Uint8Array`);
  assert.ok(Buffer.from(actual).equals(Buffer.from(expected)), `${what} differs from what was stored`);
}

/** A version record compared field by field, its bytes byte-exact. */
function assertVersion(actual: KeyVersionRecord | undefined, expected: KeyVersionRecord): void {
  assert.ok(actual, `version ${expected.keyId}:${expected.version} is missing`);
  const { wrappedMaterial, ...rest } = actual;
  const { wrappedMaterial: expectedMaterial, ...expectedRest } = expected;
  assert.deepEqual(rest, expectedRest);
  assertBytes(wrappedMaterial, expectedMaterial, `version ${expected.keyId}:${expected.version}`);
}

function assertVersions(actual: KeyVersionRecord[], expected: KeyVersionRecord[]): void {
  assert.deepEqual(actual.map((v) => v.version), expected.map((v) => v.version));
  expected.forEach((v, i) => assertVersion(actual[i], v));
}

function assertEmptyPage(page: { items: unknown[]; next?: string }): void {
  assert.deepEqual(page.items, []);
  assert.equal(page.next, undefined);
}

/** Reads every page of a listing, checking each page's size and cursor on the way. */
async function readAllPages<T>(
  list: (after: string | undefined) => Promise<{ items: T[]; next?: string }>, limit: number, id: (item: T) => string,
): Promise<T[][]> {
  const pages: T[][] = [];
  let after: string | undefined;
  for (;;) {
    const page = await list(after);
    assert.ok(page.items.length <= limit, `a page of ${page.items.length} items is over the limit of ${limit}`);
    pages.push(page.items);
    if (page.next === undefined) return pages;
    assert.equal(page.items.length, limit, 'a page before the last must be full');
    assert.equal(page.next, id(page.items[page.items.length - 1]!), 'next must be the last item of the page');
    assert.ok(pages.length < 100, 'paging does not end');
    after = page.next;
  }
}

/** Registers the conformance suite for one backend; `open` gives a fresh, empty store per case. */
export function defineStoreConformance(name: string, open: () => Promise<OpenedStore>): void {
  describe(`Store conformance: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeEach(async () => {
      opened = await open();
      store = opened.store;
    });
    afterEach(() => opened.close());

    describe('keys', () => {
      it('createKey stores the key and its first version', async () => {
        const key = keyRecord(keyId(1));
        const v1 = keyVersion(key.keyId, 1);
        await store.createKey(key, v1);
        assert.deepEqual(await store.getKey(key.keyId), key);
        assertVersion(await store.getKeyVersion(key.keyId, 1), v1);
        assertVersions(await store.listKeyVersions(key.keyId), [v1]);
        assert.equal(await store.getKey(keyId(2)), undefined);
        assert.equal(await store.getKeyVersion(key.keyId, 2), undefined);
        assert.equal(await store.getKeyVersion(keyId(2), 1), undefined);
        assert.deepEqual(await store.listKeyVersions(keyId(2)), []);
      });

      it('round-trips every field of a key record', async () => {
        const key = keyRecord(keyId(1), {
          revision: 7,
          description: 'clé de chiffrement ✓ "quoted" \\ \n newline \u0000 nul',
          state: 'PendingDeletion',
          deletionDate: T0 + 7 * DAY,
          pendingWindowInDays: 7,
          tags: [{ TagKey: 'team', TagValue: 'payments' }, { TagKey: 'émoji', TagValue: '🔑' }],
          policy: JSON.stringify({ Version: '2012-10-17', Statement: [] }),
          rotation: { periodInDays: 90, nextRotationDate: T0 + 90 * DAY },
          onDemandRotations: 3,
          currentVersion: 1,
        });
        await store.createKey(key, keyVersion(key.keyId, 1, 'a', { rotationType: 'ON_DEMAND' }));
        assert.deepEqual(await store.getKey(key.keyId), key);
        assert.equal((await store.getKeyVersion(key.keyId, 1))?.rotationType, 'ON_DEMAND');
      });

      it('createKey refuses a duplicate key id and keeps the original key and version', async () => {
        const key = keyRecord(keyId(1), { description: 'original' });
        const v1 = keyVersion(key.keyId, 1, 'original');
        await store.createKey(key, v1);
        await assert.rejects(store.createKey({ ...key, description: 'impostor' }, keyVersion(key.keyId, 1, 'impostor')));
        assert.deepEqual(await store.getKey(key.keyId), key);
        assertVersions(await store.listKeyVersions(key.keyId), [v1]);
      });

      it('listKeys returns keys in key-id order, in pages of at most limit, resumed after next', async () => {
        const ids = [5, 2, 7, 1, 4, 3, 6].map(keyId);
        for (const id of ids) await store.createKey(keyRecord(id), keyVersion(id, 1));
        const sorted = [...ids].sort();
        for (const limit of [1, 2, 3, 7, 100]) {
          const pages = await readAllPages((after) => store.listKeys({ limit, ...(after !== undefined ? { after } : {}) }), limit, (k) => k.keyId);
          assert.deepEqual(pages.flat().map((k) => k.keyId), sorted, `limit ${limit}`);
          assert.equal(pages.length, Math.ceil(sorted.length / limit), `limit ${limit}: a last page without next`);
        }
        const rest = await store.listKeys({ after: keyId(4), limit: 10 });
        assert.deepEqual(rest.items.map((k) => k.keyId), [5, 6, 7].map(keyId));
        assert.equal(rest.next, undefined);
        // `after` need not be an existing key: it is a position in key-id order.
        const between = await store.listKeys({ after: `${keyId(2)}-`, limit: 1 });
        assert.deepEqual(between.items.map((k) => k.keyId), [keyId(3)]);
        assert.equal(between.next, keyId(3));
        assertEmptyPage(await store.listKeys({ after: keyId(7), limit: 10 }));
      });

      it('listKeys on an empty store is one empty page', async () => {
        assertEmptyPage(await store.listKeys({ limit: 10 }));
      });

      it('listKeys returns whole records', async () => {
        const key = keyRecord(keyId(1), { description: 'whole', tags: [{ TagKey: 'k', TagValue: 'v' }] });
        await store.createKey(key, keyVersion(key.keyId, 1));
        assert.deepEqual((await store.listKeys({ limit: 1 })).items, [key]);
      });
    });

    describe('updateKey: compare-and-set', () => {
      it('stores the next revision and refuses a stale or skipping one', async () => {
        const key = keyRecord(keyId(1));
        await store.createKey(key, keyVersion(key.keyId, 1));
        const second = { ...key, revision: 2, description: 'second' };
        assert.equal(await store.updateKey(second), true);
        assert.deepEqual(await store.getKey(key.keyId), second);
        // Another writer that also read revision 1 loses, and changes nothing.
        assert.equal(await store.updateKey({ ...key, revision: 2, description: 'stale' }), false);
        assert.equal(await store.updateKey({ ...key, revision: 4, description: 'skipping' }), false);
        assert.equal(await store.updateKey({ ...key, revision: 1, description: 'same' }), false);
        assert.deepEqual(await store.getKey(key.keyId), second);
        const third = { ...second, revision: 3, description: 'third' };
        assert.equal(await store.updateKey(third), true);
        assert.deepEqual(await store.getKey(key.keyId), third);
      });

      it('refuses to update a key that does not exist, and does not create it', async () => {
        assert.equal(await store.updateKey(keyRecord(keyId(1), { revision: 2 }), keyVersion(keyId(1), 2)), false);
        assert.equal(await store.getKey(keyId(1)), undefined);
        assert.deepEqual(await store.listKeyVersions(keyId(1)), []);
      });

      it('stores newVersion only together with a winning update', async () => {
        const key = keyRecord(keyId(1));
        const v1 = keyVersion(key.keyId, 1);
        await store.createKey(key, v1);
        const v2 = keyVersion(key.keyId, 2, 'rotation', { rotationType: 'AUTOMATIC' });
        assert.equal(await store.updateKey({ ...key, revision: 3, currentVersion: 2 }, v2), false);
        assert.equal(await store.getKeyVersion(key.keyId, 2), undefined);
        assertVersions(await store.listKeyVersions(key.keyId), [v1]);
        const rotated = { ...key, revision: 2, currentVersion: 2 };
        assert.equal(await store.updateKey(rotated, v2), true);
        assert.deepEqual(await store.getKey(key.keyId), rotated);
        assertVersions(await store.listKeyVersions(key.keyId), [v1, v2]);
      });

      it('is atomic: when newVersion cannot be stored, the key is not changed either', async () => {
        const key = keyRecord(keyId(1));
        const v1 = keyVersion(key.keyId, 1, 'original');
        await store.createKey(key, v1);
        // Version 1 exists: storing it again must fail, and must not overwrite the material.
        const outcome = await store.updateKey({ ...key, revision: 2, description: 'half' }, keyVersion(key.keyId, 1, 'overwrite'))
          .then((won) => won, () => 'rejected' as const);
        assert.notEqual(outcome, true);
        assert.deepEqual(await store.getKey(key.keyId), key);
        assertVersions(await store.listKeyVersions(key.keyId), [v1]);
      });

      it('lets exactly one of many concurrent updates of the same revision win', async () => {
        const key = keyRecord(keyId(1));
        await store.createKey(key, keyVersion(key.keyId, 1));
        const attempts = Array.from({ length: 16 }, (_, i) => ({
          next: { ...key, revision: 2, currentVersion: 2, description: `writer ${i}` },
          version: keyVersion(key.keyId, 2, `writer ${i}`),
        }));
        const results = await Promise.all(attempts.map((a) => store.updateKey(a.next, a.version)));
        assert.equal(results.filter((won) => won).length, 1, `winners: ${results}`);
        const winner = attempts[results.indexOf(true)]!;
        assert.deepEqual(await store.getKey(key.keyId), winner.next);
        assertVersion(await store.getKeyVersion(key.keyId, 2), winner.version);
        assert.equal((await store.listKeyVersions(key.keyId)).length, 2);
      });
    });

    describe('deleteKey', () => {
      it('removes the key, its versions and its aliases, and nothing of other keys', async () => {
        const [a, b] = [keyId(1), keyId(2)];
        await store.createKey(keyRecord(a), keyVersion(a, 1));
        assert.equal(await store.updateKey(keyRecord(a, { revision: 2, currentVersion: 2 }), keyVersion(a, 2)), true);
        const bVersion = keyVersion(b, 1);
        await store.createKey(keyRecord(b), bVersion);
        for (const alias of [aliasRecord('alias/a-1', a), aliasRecord('alias/a-2', a), aliasRecord('alias/b-1', b)]) {
          assert.equal(await store.createAlias(alias), true);
        }
        await store.deleteKey(a);
        assert.equal(await store.getKey(a), undefined);
        assert.deepEqual(await store.listKeyVersions(a), []);
        assert.equal(await store.getKeyVersion(a, 1), undefined);
        assert.equal(await store.getAlias('alias/a-1'), undefined);
        assert.equal(await store.getAlias('alias/a-2'), undefined);
        assert.deepEqual(await store.getAlias('alias/b-1'), aliasRecord('alias/b-1', b));
        assert.deepEqual(await store.getKey(b), keyRecord(b));
        assertVersions(await store.listKeyVersions(b), [bVersion]);
        assert.deepEqual((await store.listKeys({ limit: 10 })).items.map((k) => k.keyId), [b]);
        assert.deepEqual((await store.listAliases({ limit: 10 })).items.map((x) => x.aliasName), ['alias/b-1']);
      });

      it('resolves for a key that does not exist', async () => {
        await store.deleteKey(keyId(9));
        assert.equal(await store.getKey(keyId(9)), undefined);
      });

      it('frees the key id: a key of that id can be created again', async () => {
        await store.createKey(keyRecord(keyId(1)), keyVersion(keyId(1), 1, 'old'));
        await store.deleteKey(keyId(1));
        const v1 = keyVersion(keyId(1), 1, 'new');
        await store.createKey(keyRecord(keyId(1), { description: 'new' }), v1);
        assertVersions(await store.listKeyVersions(keyId(1)), [v1]);
      });
    });

    describe('listKeysDue', () => {
      const dueIds = async (now: number) => (await store.listKeysDue(now)).map((k) => k.keyId).sort();

      it('finds keys by deletion date and by rotation date, at or before now', async () => {
        const keys = [
          keyRecord(keyId(1), { state: 'PendingDeletion', deletionDate: T0 + 7 * DAY, pendingWindowInDays: 7 }),
          keyRecord(keyId(2), { state: 'PendingDeletion', deletionDate: T0 + 30 * DAY, pendingWindowInDays: 30 }),
          keyRecord(keyId(3), { rotation: { periodInDays: 90, nextRotationDate: T0 + 90 * DAY } }),
          // The store reports a disabled key's rotation date too: skipping it is the scheduler's call.
          keyRecord(keyId(4), { state: 'Disabled', rotation: { periodInDays: 10, nextRotationDate: T0 + 10 * DAY } }),
          keyRecord(keyId(5)),
        ];
        for (const key of keys) await store.createKey(key, keyVersion(key.keyId, 1));
        assert.deepEqual(await dueIds(T0), []);
        assert.deepEqual(await dueIds(T0 + 7 * DAY - 1), []);
        assert.deepEqual(await dueIds(T0 + 7 * DAY), [keyId(1)]);
        assert.deepEqual(await dueIds(T0 + 10 * DAY), [keyId(1), keyId(4)]);
        assert.deepEqual(await dueIds(T0 + 365 * DAY), [1, 2, 3, 4].map(keyId));
        const due = await store.listKeysDue(T0 + 7 * DAY);
        assert.deepEqual(due, [keys[0]], 'listKeysDue returns whole records');
      });

      it('follows updates: a cancelled deletion or a disabled rotation is no longer due', async () => {
        const pending = keyRecord(keyId(1), { state: 'PendingDeletion', deletionDate: T0 + DAY, pendingWindowInDays: 7 });
        const rotating = keyRecord(keyId(2), { rotation: { periodInDays: 90, nextRotationDate: T0 + DAY } });
        await store.createKey(pending, keyVersion(pending.keyId, 1));
        await store.createKey(rotating, keyVersion(rotating.keyId, 1));
        assert.deepEqual(await dueIds(T0 + DAY), [keyId(1), keyId(2)]);
        const { deletionDate: _d, pendingWindowInDays: _p, ...cancelled } = pending;
        assert.equal(await store.updateKey({ ...cancelled, revision: 2, state: 'Disabled' }), true);
        const { rotation: _r, ...unrotated } = rotating;
        assert.equal(await store.updateKey({ ...unrotated, revision: 2 }), true);
        assert.deepEqual(await dueIds(T0 + 365 * DAY), []);
        // And a rotation moved later by an update is due at its new date only.
        assert.equal(await store.updateKey({ ...rotating, revision: 3, rotation: { periodInDays: 90, nextRotationDate: T0 + 91 * DAY } }), true);
        assert.deepEqual(await dueIds(T0 + 90 * DAY), []);
        assert.deepEqual(await dueIds(T0 + 91 * DAY), [keyId(2)]);
      });

      it('forgets deleted keys', async () => {
        const pending = keyRecord(keyId(1), { state: 'PendingDeletion', deletionDate: T0 + DAY, pendingWindowInDays: 7 });
        await store.createKey(pending, keyVersion(pending.keyId, 1));
        await store.deleteKey(pending.keyId);
        assert.deepEqual(await dueIds(T0 + 365 * DAY), []);
      });
    });

    describe('aliases', () => {
      it('createAlias stores an alias once and refuses a duplicate name', async () => {
        const alias = aliasRecord('alias/payments', keyId(1));
        assert.equal(await store.createAlias(alias), true);
        assert.deepEqual(await store.getAlias('alias/payments'), alias);
        assert.equal(await store.createAlias(aliasRecord('alias/payments', keyId(2), T0 + DAY)), false);
        assert.deepEqual(await store.getAlias('alias/payments'), alias);
        assert.equal(await store.getAlias('alias/other'), undefined);
        // Names are exact: no case folding.
        assert.equal(await store.getAlias('alias/Payments'), undefined);
        assert.equal(await store.createAlias(aliasRecord('alias/Payments', keyId(2))), true);
      });

      it('updateAlias retargets an existing alias and refuses a missing one', async () => {
        const alias = aliasRecord('alias/payments', keyId(1));
        await store.createAlias(alias);
        const moved = { ...alias, targetKeyId: keyId(2), updatedAt: T0 + DAY };
        assert.equal(await store.updateAlias(moved), true);
        assert.deepEqual(await store.getAlias('alias/payments'), moved);
        assert.equal(await store.updateAlias(aliasRecord('alias/missing', keyId(2))), false);
        assert.equal(await store.getAlias('alias/missing'), undefined);
      });

      it('deleteAlias removes an alias once and reports a missing one', async () => {
        await store.createAlias(aliasRecord('alias/a', keyId(1)));
        await store.createAlias(aliasRecord('alias/b', keyId(1)));
        assert.equal(await store.deleteAlias('alias/a'), true);
        assert.equal(await store.getAlias('alias/a'), undefined);
        assert.equal(await store.deleteAlias('alias/a'), false);
        assert.equal(await store.deleteAlias('alias/never'), false);
        assert.deepEqual(await store.getAlias('alias/b'), aliasRecord('alias/b', keyId(1)));
        // The name is free again.
        assert.equal(await store.createAlias(aliasRecord('alias/a', keyId(2))), true);
      });

      it('listAliases pages in name order (by code point), all or one key\'s', async () => {
        const names: Array<[string, number]> = [
          ['alias/b', 1], ['alias/a', 2], ['alias/C', 1], ['alias/a-1', 1], ['alias/z_9', 2], ['alias/a/b', 1], ['alias/0', 2],
        ];
        for (const [name, n] of names) assert.equal(await store.createAlias(aliasRecord(name, keyId(n))), true);
        const byCodePoint = (xs: string[]) => [...xs].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0));
        const all = byCodePoint(names.map(([name]) => name));
        const ofKey1 = byCodePoint(names.filter(([, n]) => n === 1).map(([name]) => name));
        for (const limit of [1, 2, 3, 50]) {
          const pages = await readAllPages((after) => store.listAliases({ limit, ...(after !== undefined ? { after } : {}) }), limit, (a) => a.aliasName);
          assert.deepEqual(pages.flat().map((a) => a.aliasName), all, `limit ${limit}`);
          const keyPages = await readAllPages(
            (after) => store.listAliases({ keyId: keyId(1), limit, ...(after !== undefined ? { after } : {}) }), limit, (a) => a.aliasName);
          assert.deepEqual(keyPages.flat().map((a) => a.aliasName), ofKey1, `keyId filter, limit ${limit}`);
          assert.ok(keyPages.flat().every((a) => a.targetKeyId === keyId(1)));
        }
        assertEmptyPage(await store.listAliases({ keyId: keyId(3), limit: 10 }));
        assert.deepEqual((await store.listAliases({ limit: 1 })).items, [aliasRecord(all[0]!, keyId(2))]);
      });
    });

    describe('access keys', () => {
      const record = (accessKeyId: string, wrappedSecret: Uint8Array): AccessKeyRecord => ({
        accessKeyId, principalArn: 'arn:aws:iam::111122223333:user/coffer-admin', wrappedSecret, status: 'Active', createdAt: T0,
      });

      it('createAccessKey stores a key once and refuses a duplicate id; getAccessKey reads it', async () => {
        const first = record('AKIAAAAAAAAAAAAAAAAA', awkwardBytes());
        assert.equal(await store.createAccessKey(first), true);
        assert.equal(await store.createAccessKey({ ...record(first.accessKeyId, new Uint8Array([1, 2, 3])), status: 'Inactive' }), false);
        const read = await store.getAccessKey(first.accessKeyId);
        assert.ok(read);
        const { wrappedSecret, ...rest } = read;
        const { wrappedSecret: expected, ...expectedRest } = first;
        assert.deepEqual(rest, expectedRest);
        assertBytes(wrappedSecret, expected, 'wrappedSecret');
        assert.equal(await store.getAccessKey('AKIABBBBBBBBBBBBBBBB'), undefined);
        assert.equal(await store.getAccessKey('akiaaaaaaaaaaaaaaaaa'), undefined);
      });
    });

    describe('meta', () => {
      it('putMetaIfAbsent sets a value only once', async () => {
        assert.equal(await store.getMeta('root-key-check'), undefined);
        const first = awkwardBytes();
        assert.equal(await store.putMetaIfAbsent('root-key-check', first), true);
        assert.equal(await store.putMetaIfAbsent('root-key-check', new Uint8Array([9, 9, 9])), false);
        assertBytes(await store.getMeta('root-key-check'), first, 'meta value');
        assert.equal(await store.putMetaIfAbsent('other', new Uint8Array([7])), true);
        assertBytes(await store.getMeta('other'), new Uint8Array([7]), 'other meta value');
      });

      it('lets only one of many concurrent putMetaIfAbsent win', async () => {
        const values = Array.from({ length: 8 }, (_, i) => new Uint8Array([i, 0, i]));
        const results = await Promise.all(values.map((v) => store.putMetaIfAbsent('once', v)));
        assert.equal(results.filter((won) => won).length, 1);
        assertBytes(await store.getMeta('once'), values[results.indexOf(true)]!, 'the winner\'s value');
      });
    });

    describe('bytes', () => {
      it('round-trips wrapped material, secrets and meta values byte-exact as Uint8Array', async () => {
        const bytes = awkwardBytes();
        const version = { ...keyVersion(keyId(1), 1), wrappedMaterial: bytes };
        await store.createKey(keyRecord(keyId(1)), version);
        assertBytes((await store.getKeyVersion(keyId(1), 1))?.wrappedMaterial, bytes, 'wrappedMaterial');
        assertBytes((await store.listKeyVersions(keyId(1)))[0]?.wrappedMaterial, bytes, 'listed wrappedMaterial');
        await store.putMetaIfAbsent('bytes', bytes);
        assertBytes(await store.getMeta('bytes'), bytes, 'meta');
      });

      it('copies bytes: changing the caller\'s array, or a returned one, does not change what is stored', async () => {
        const given = awkwardBytes();
        const expected = Uint8Array.from(given);
        await store.createKey(keyRecord(keyId(1)), { ...keyVersion(keyId(1), 1), wrappedMaterial: given });
        await store.putMetaIfAbsent('bytes', given);
        given.fill(0xee);
        const read = (await store.getKeyVersion(keyId(1), 1))!.wrappedMaterial;
        assertBytes(read, expected, 'wrappedMaterial after the caller changed its array');
        (read as Uint8Array).fill(0xdd);
        assertBytes((await store.getKeyVersion(keyId(1), 1))?.wrappedMaterial, expected, 'wrappedMaterial after a reader changed its copy');
        const meta = (await store.getMeta('bytes'))!;
        assertBytes(meta, expected, 'meta after the caller changed its array');
        meta.fill(0xdd);
        assertBytes(await store.getMeta('bytes'), expected, 'meta after a reader changed its copy');
      });
    });
  });
}
