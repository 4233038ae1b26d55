import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { canonicalJson } from '../audit/chain.js';
import { GENESIS_HASH, type AuditEvent, type AuditRecord } from '../audit/record.js';
import type { GrantRecord } from '../grants/grant-record.js';
import type { AliasRecord, KeyRecord, KeyVersionRecord } from '../keys/key-record.js';
import type { IdentityPolicyRecord, PrincipalKind, PrincipalRecord } from '../principals/principal-record.js';
import type { AccessKeyRecord, AuditQuery, SnapshotRow, Store } from './store.js';
import { KeyConditionFailedError, StoreNotEmptyError, type KeyCondition } from './store.js';

/**
 * The semantics every Store backend must show, written against the Store interface only, so each
 * backend runs the same suite: `defineStoreConformance('sqlite', open)` in that backend's test
 * file. docs/store.md describes what these cases prove. This module is test code that lives beside
 * the interface it specifies; it is deliberately not exported from the package's index.
 */
export interface OpenedStore {
  readonly store: Store;
  /**
   * Opens another handle on the same data, as a second server node (process) would: another
   * connection to the same file or database. The case that asks for it closes it.
   */
  openSecond(): Promise<Store>;
  /** Closes the store and removes whatever `open` created. */
  close(): Promise<void>;
  /**
   * Another store, empty and apart from this one (another file, another database), as a restore
   * target: the snapshot cases copy between the two. `close` of the returned one removes it.
   */
  openFresh(): Promise<OpenedStore>;
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

const ACCOUNT = '111122223333';
const principalArn = (kind: PrincipalKind, name: string): string => `arn:aws:iam::${ACCOUNT}:${kind}/${name}`;
const principalRecord = (kind: PrincipalKind, name: string): PrincipalRecord =>
  ({ arn: principalArn(kind, name), kind, name, createdAt: T0 });
const policyRecord = (arn: string, policyName: string, document = '{"Version":"2012-10-17","Statement":[]}'): IdentityPolicyRecord =>
  ({ principalArn: arn, policyName, document, updatedAt: T0 });
const accessKeyRecord = (accessKeyId: string, arn: string): AccessKeyRecord => ({
  accessKeyId, principalArn: arn, wrappedSecret: new Uint8Array(createHash('sha256').update(accessKeyId).digest()),
  status: 'Active', createdAt: T0,
});

/** Grant ids in a known order, 64 characters like AWS's. */
const grantId = (n: number): string => n.toString().padStart(64, '0');
function grantRecord(n: number, forKey: string, fields: Partial<GrantRecord> = {}): GrantRecord {
  return {
    grantId: grantId(n), keyId: forKey, grantToken: `token-${n}`, granteePrincipal: principalArn('user', 'grantee'),
    issuingPrincipal: principalArn('user', 'issuer'), operations: ['Encrypt'], createdAt: T0 + n, ...fields,
  };
}

const keyArnOf = (n: number): string => `arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId(n)}`;
const auditEvent = (n: number, fields: Partial<AuditEvent> = {}): AuditEvent =>
  ({ time: T0 + n, requestId: `req-${n}`, keyArns: [], requestParameters: {}, outcome: 'success', ...fields });

/** A chainer for the suite: any function of the event and its predecessor's hash will do for a store. */
function simpleHash(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { hash: _hash, ...unsigned } = record;
  return createHash('sha256').update(unsigned.prevHash).update('\n').update(canonicalJson(unsigned)).digest('hex');
}
const simpleChainer = (event: AuditEvent, seq: number, prevHash: string): AuditRecord =>
  ({ ...event, seq, prevHash, hash: simpleHash({ ...event, seq, prevHash }) });

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

      it('createKey without a version stores a key pending import; its first version comes with updateKey', async () => {
        const key = keyRecord(keyId(1), { origin: 'EXTERNAL', state: 'PendingImport', currentVersion: 0 });
        await store.createKey(key, undefined);
        assert.deepEqual(await store.getKey(key.keyId), key);
        assert.deepEqual(await store.listKeyVersions(key.keyId), []);
        const v1 = keyVersion(key.keyId, 1, 'imported');
        const imported = { ...key, revision: 2, state: 'Enabled' as const, currentVersion: 1 };
        assert.equal(await store.updateKey(imported, v1), true);
        assert.deepEqual(await store.getKey(key.keyId), imported);
        assertVersions(await store.listKeyVersions(key.keyId), [v1]);
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
          currentVersion: 2,
          origin: 'EXTERNAL',
          importedMaterial: { expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: T0 + 30 * DAY },
          currentMaterialDescription: 'now ✓',
          earlierMaterials: [{ version: 1, validTo: T0 + 20 * DAY, description: 'before ✓' }],
          pendingMaterial: {
            version: 3, materialId: 'ab'.repeat(32), wrappedMaterial: Buffer.from('wrapped').toString('base64'), importedAt: T0,
            expirationModel: 'KEY_MATERIAL_EXPIRES', validTo: T0 + 60 * DAY, description: 'next ✓',
          },
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
        assertEmptyPage(await store.listKeyIds({ limit: 10 }));
      });

      it('listKeyIds pages the same keys as listKeys, in the same pages', async () => {
        const ids = [5, 2, 7, 1, 4, 3, 6].map(keyId);
        for (const id of ids) await store.createKey(keyRecord(id), keyVersion(id, 1));
        for (const limit of [1, 3, 100]) {
          for (const after of [undefined, keyId(2), `${keyId(4)}-`, keyId(7)]) {
            const whole = await store.listKeys({ limit, ...(after !== undefined ? { after } : {}) });
            const only = await store.listKeyIds({ limit, ...(after !== undefined ? { after } : {}) });
            assert.deepEqual(only, { items: whole.items.map((k) => k.keyId), ...(whole.next !== undefined ? { next: whole.next } : {}) }, `limit ${limit} after ${after}`);
          }
        }
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

      it('with a revision, deletes only the record at that revision, and appends its event only then', async () => {
        // The scheduler deletes the record it found due: a CancelKeyDeletion answered since then must keep the key.
        store.attachAuditChain(simpleChainer);
        const v1 = keyVersion(keyId(1), 1);
        await store.createKey(keyRecord(keyId(1), { state: 'PendingDeletion' }), v1);
        await store.createAlias(aliasRecord('alias/kept', keyId(1)));
        assert.equal(await store.updateKey(keyRecord(keyId(1), { revision: 2, state: 'Disabled' })), true);
        assert.equal(await store.deleteKey(keyId(1), auditEvent(1), 1), false);
        assert.equal((await store.getKey(keyId(1)))?.revision, 2);
        assertVersions(await store.listKeyVersions(keyId(1)), [v1]);
        assert.equal((await store.getAlias('alias/kept'))?.targetKeyId, keyId(1));
        assert.equal(await store.getAuditHead(), undefined);
        assert.equal(await store.deleteKey(keyId(9), auditEvent(2), 1), false);
        assert.equal(await store.getAuditHead(), undefined);
        assert.equal(await store.deleteKey(keyId(1), auditEvent(3), 2), true);
        assert.equal(await store.getKey(keyId(1)), undefined);
        assert.equal(await store.getAlias('alias/kept'), undefined);
        assert.equal((await store.getAuditHead())?.seq, 1);
      });

      it('frees the key id: a key of that id can be created again', async () => {
        await store.createKey(keyRecord(keyId(1)), keyVersion(keyId(1), 1, 'old'));
        await store.deleteKey(keyId(1));
        const v1 = keyVersion(keyId(1), 1, 'new');
        await store.createKey(keyRecord(keyId(1), { description: 'new' }), v1);
        assertVersions(await store.listKeyVersions(keyId(1)), [v1]);
      });
    });

    it('countKeysByState counts keys per state, and nothing on an empty store', async () => {
      assert.deepEqual(await store.countKeysByState(), {});
      await store.createKey(keyRecord(keyId(1)), keyVersion(keyId(1), 1));
      await store.createKey(keyRecord(keyId(2)), keyVersion(keyId(2), 1));
      await store.createKey(keyRecord(keyId(3), { state: 'Disabled' }), keyVersion(keyId(3), 1));
      assert.deepEqual(await store.countKeysByState(), { Enabled: 2, Disabled: 1 });
      await store.deleteKey(keyId(3));
      assert.deepEqual(await store.countKeysByState(), { Enabled: 2 });
      // Text a caller chose may hold anything JSON can carry: PostgreSQL's JSON types refuse a NUL
      // and a lone surrogate, which once failed every count (and so every /metrics scrape).
      const hostile = 'nul \u0000 lone \ud800 \udc00 "state":"Disabled" \\u0000';
      await store.createKey(keyRecord(keyId(4), {
        description: hostile, tags: [{ TagKey: hostile, TagValue: hostile }], policy: hostile,
      }), keyVersion(keyId(4), 1));
      assert.deepEqual(await store.countKeysByState(), { Enabled: 3 });
      assert.equal((await store.getKey(keyId(4)))?.description, hostile);
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

      it('createAlias and updateAlias with a KeyCondition write only while the key, as stored then, passes it', async () => {
        store.attachAuditChain(simpleChainer);
        const enabled: KeyCondition = { keyId: keyId(1), holds: (key) => key.state === 'Enabled' };
        await store.createKey(keyRecord(keyId(1)), keyVersion(keyId(1), 1));
        assert.equal(await store.createAlias(aliasRecord('alias/a', keyId(1)), auditEvent(1), enabled), true);
        const updated = { ...aliasRecord('alias/a', keyId(1)), updatedAt: T0 + DAY };
        assert.equal(await store.updateAlias(updated, auditEvent(2), enabled), true);
        assert.equal((await store.getAuditHead())?.seq, 2);
        assert.equal(await store.updateKey(keyRecord(keyId(1), { revision: 2, state: 'PendingDeletion' })), true);
        await assert.rejects(store.createAlias(aliasRecord('alias/b', keyId(1)), auditEvent(3), enabled), KeyConditionFailedError);
        await assert.rejects(store.updateAlias({ ...updated, updatedAt: T0 + 2 * DAY }, auditEvent(4), enabled), KeyConditionFailedError);
        // A key that is gone holds no condition.
        await assert.rejects(store.createAlias(aliasRecord('alias/c', keyId(9)), auditEvent(5), { keyId: keyId(9), holds: () => true }), KeyConditionFailedError);
        assert.equal(await store.getAlias('alias/b'), undefined);
        assert.equal(await store.getAlias('alias/c'), undefined);
        assert.deepEqual(await store.getAlias('alias/a'), updated);
        assert.equal((await store.getAuditHead())?.seq, 2);
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

    describe('principals', () => {
      it('createPrincipal stores a principal once and refuses a duplicate ARN; getPrincipal reads it', async () => {
        const alice = principalRecord('user', 'alice');
        assert.equal(await store.createPrincipal(alice), true);
        assert.equal(await store.createPrincipal({ ...alice, createdAt: T0 + DAY }), false);
        assert.deepEqual(await store.getPrincipal(alice.arn), alice);
        assert.equal(await store.getPrincipal(principalArn('user', 'bob')), undefined);
        // ARNs are exact: a role of the same name is another principal.
        assert.equal(await store.getPrincipal(principalArn('role', 'alice')), undefined);
        assert.equal(await store.createPrincipal(principalRecord('role', 'alice')), true);
        assert.deepEqual(await store.getPrincipal(alice.arn), alice);
      });

      it('listPrincipals pages in ARN order, all or one kind\'s', async () => {
        const made = [
          principalRecord('user', 'carol'), principalRecord('role', 'deployer'), principalRecord('user', 'alice'),
          principalRecord('role', 'auditor'), principalRecord('user', 'bob'),
        ];
        for (const p of made) assert.equal(await store.createPrincipal(p), true);
        const arns = (kind?: string) => made.filter((p) => kind === undefined || p.kind === kind).map((p) => p.arn).sort();
        for (const limit of [1, 2, 5, 100]) {
          const all = await readAllPages((after) => store.listPrincipals({ limit, ...(after !== undefined ? { after } : {}) }), limit, (p) => p.arn);
          assert.deepEqual(all.flat().map((p) => p.arn), arns(), `limit ${limit}`);
          for (const kind of ['user', 'role'] as const) {
            const pages = await readAllPages(
              (after) => store.listPrincipals({ kind, limit, ...(after !== undefined ? { after } : {}) }), limit, (p) => p.arn);
            assert.deepEqual(pages.flat().map((p) => p.arn), arns(kind), `${kind}s, limit ${limit}`);
            assert.ok(pages.flat().every((p) => p.kind === kind));
          }
        }
        assert.deepEqual((await store.listPrincipals({ kind: 'role', limit: 1 })).items, [made[3]]);
      });

      it('listPrincipals on an empty store is one empty page', async () => {
        assertEmptyPage(await store.listPrincipals({ limit: 10 }));
        assertEmptyPage(await store.listPrincipals({ kind: 'role', limit: 10 }));
      });

      it('deletePrincipal removes the principal with its access keys and identity policies, and nothing of others', async () => {
        const alice = principalRecord('user', 'alice');
        const bob = principalRecord('user', 'bob');
        await store.createPrincipal(alice);
        await store.createPrincipal(bob);
        for (const [id, owner] of [['AKIAALICE00000000001', alice], ['AKIAALICE00000000002', alice], ['AKIABOB0000000000001', bob]] as const) {
          assert.equal(await store.createAccessKey(accessKeyRecord(id, owner.arn)), true);
        }
        await store.putIdentityPolicy(policyRecord(alice.arn, 'read'));
        await store.putIdentityPolicy(policyRecord(alice.arn, 'write'));
        await store.putIdentityPolicy(policyRecord(bob.arn, 'read'));
        assert.equal(await store.deletePrincipal(alice.arn), true);
        assert.equal(await store.getPrincipal(alice.arn), undefined);
        assert.deepEqual(await store.listAccessKeys(alice.arn), []);
        assert.equal(await store.getAccessKey('AKIAALICE00000000001'), undefined);
        assert.deepEqual(await store.listIdentityPolicies(alice.arn), []);
        assert.equal(await store.getIdentityPolicy(alice.arn, 'read'), undefined);
        assert.deepEqual(await store.getPrincipal(bob.arn), bob);
        assert.deepEqual((await store.listAccessKeys(bob.arn)).map((k) => k.accessKeyId), ['AKIABOB0000000000001']);
        assert.deepEqual((await store.listIdentityPolicies(bob.arn)).map((p) => p.policyName), ['read']);
        assert.equal(await store.deletePrincipal(alice.arn), false);
        assert.equal(await store.deletePrincipal(principalArn('role', 'never')), false);
        // The ARN is free again, and the new principal has none of the old one's keys or policies.
        assert.equal(await store.createPrincipal(alice), true);
        assert.deepEqual(await store.listAccessKeys(alice.arn), []);
        assert.deepEqual(await store.listIdentityPolicies(alice.arn), []);
      });
    });

    describe('identity policies', () => {
      it('putIdentityPolicy creates, and replaces a policy of the same name', async () => {
        const arn = principalArn('user', 'alice');
        const first = policyRecord(arn, 'kms-use', '{"v":1}');
        await store.putIdentityPolicy(first);
        assert.deepEqual(await store.getIdentityPolicy(arn, 'kms-use'), first);
        const second = { ...first, document: '{"v":2, "ü": "✓"}', updatedAt: T0 + DAY };
        await store.putIdentityPolicy(second);
        assert.deepEqual(await store.getIdentityPolicy(arn, 'kms-use'), second);
        assert.deepEqual(await store.listIdentityPolicies(arn), [second]);
        assert.equal(await store.getIdentityPolicy(arn, 'other'), undefined);
        assert.equal(await store.getIdentityPolicy(principalArn('user', 'bob'), 'kms-use'), undefined);
      });

      it('listIdentityPolicies returns one principal\'s policies in name order', async () => {
        const alice = principalArn('user', 'alice');
        const bob = principalArn('role', 'bob');
        for (const name of ['zeta', 'Alpha', 'alpha', 'm-1']) await store.putIdentityPolicy(policyRecord(alice, name));
        await store.putIdentityPolicy(policyRecord(bob, 'beta'));
        assert.deepEqual((await store.listIdentityPolicies(alice)).map((p) => p.policyName), ['Alpha', 'alpha', 'm-1', 'zeta']);
        assert.deepEqual(await store.listIdentityPolicies(bob), [policyRecord(bob, 'beta')]);
        assert.deepEqual(await store.listIdentityPolicies(principalArn('user', 'nobody')), []);
      });

      it('deleteIdentityPolicy removes one policy once and reports a missing one', async () => {
        const arn = principalArn('user', 'alice');
        await store.putIdentityPolicy(policyRecord(arn, 'a'));
        await store.putIdentityPolicy(policyRecord(arn, 'b'));
        assert.equal(await store.deleteIdentityPolicy(arn, 'a'), true);
        assert.equal(await store.deleteIdentityPolicy(arn, 'a'), false);
        assert.equal(await store.deleteIdentityPolicy(principalArn('user', 'bob'), 'b'), false);
        assert.deepEqual((await store.listIdentityPolicies(arn)).map((p) => p.policyName), ['b']);
      });
    });

    describe('access keys of principals', () => {
      it('listAccessKeys returns the keys of one principal only', async () => {
        const alice = principalArn('user', 'alice');
        const bob = principalArn('user', 'bob');
        const ids = ['AKIAALICE00000000002', 'AKIAALICE00000000001', 'AKIAALICE00000000003'];
        for (const id of ids) assert.equal(await store.createAccessKey(accessKeyRecord(id, alice)), true);
        assert.equal(await store.createAccessKey(accessKeyRecord('AKIABOB0000000000001', bob)), true);
        const listed = await store.listAccessKeys(alice);
        assert.deepEqual(listed.map((k) => k.accessKeyId).sort(), [...ids].sort());
        assert.ok(listed.every((k) => k.principalArn === alice && k.status === 'Active'));
        assertBytes(listed.find((k) => k.accessKeyId === ids[0])?.wrappedSecret, accessKeyRecord(ids[0]!, alice).wrappedSecret, 'listed wrappedSecret');
        assert.deepEqual((await store.listAccessKeys(bob)).map((k) => k.accessKeyId), ['AKIABOB0000000000001']);
        assert.deepEqual(await store.listAccessKeys(principalArn('user', 'nobody')), []);
      });

      it('listAccessKeyOwnersWithoutPrincipal lists the owners of access keys that are not principals, once each, sorted', async () => {
        const alice = principalArn('user', 'alice');
        assert.equal(await store.createPrincipal(principalRecord('user', 'alice')), true);
        const roots = ['arn:aws:iam::444455556666:root', 'arn:aws:iam::111122223333:root'];
        await store.createAccessKey(accessKeyRecord('AKIAALICE00000000001', alice));
        await store.createAccessKey(accessKeyRecord('AKIAROOTA0000000001', roots[0]!));
        await store.createAccessKey(accessKeyRecord('AKIAROOTA0000000002', roots[0]!));
        await store.createAccessKey(accessKeyRecord('AKIAROOTB0000000001', roots[1]!));
        assert.deepEqual(await store.listAccessKeyOwnersWithoutPrincipal(), [...roots].sort());
      });

      it('updateAccessKeyStatus changes the status of an existing key only', async () => {
        const arn = principalArn('user', 'alice');
        await store.createAccessKey(accessKeyRecord('AKIAALICE00000000001', arn));
        await store.createAccessKey(accessKeyRecord('AKIAALICE00000000002', arn));
        assert.equal(await store.updateAccessKeyStatus('AKIAALICE00000000001', 'Inactive'), true);
        assert.equal((await store.getAccessKey('AKIAALICE00000000001'))?.status, 'Inactive');
        assert.equal((await store.getAccessKey('AKIAALICE00000000002'))?.status, 'Active');
        assert.equal((await store.listAccessKeys(arn)).find((k) => k.accessKeyId === 'AKIAALICE00000000001')?.status, 'Inactive');
        assert.equal(await store.updateAccessKeyStatus('AKIAALICE00000000001', 'Active'), true);
        assert.equal((await store.getAccessKey('AKIAALICE00000000001'))?.status, 'Active');
        assert.equal(await store.updateAccessKeyStatus('AKIANOBODY0000000001', 'Inactive'), false);
        assert.equal(await store.getAccessKey('AKIANOBODY0000000001'), undefined);
      });

      it('deleteAccessKey removes one key once and reports a missing one', async () => {
        const arn = principalArn('user', 'alice');
        await store.createAccessKey(accessKeyRecord('AKIAALICE00000000001', arn));
        await store.createAccessKey(accessKeyRecord('AKIAALICE00000000002', arn));
        assert.equal(await store.deleteAccessKey('AKIAALICE00000000001'), true);
        assert.equal(await store.getAccessKey('AKIAALICE00000000001'), undefined);
        assert.equal(await store.deleteAccessKey('AKIAALICE00000000001'), false);
        assert.deepEqual((await store.listAccessKeys(arn)).map((k) => k.accessKeyId), ['AKIAALICE00000000002']);
      });
    });

    describe('grants', () => {
      it('createGrant with a KeyCondition writes only while the key, as stored then, passes it', async () => {
        store.attachAuditChain(simpleChainer);
        const enabled: KeyCondition = { keyId: keyId(1), holds: (key) => key.state === 'Enabled' };
        await store.createKey(keyRecord(keyId(1)), keyVersion(keyId(1), 1));
        await store.createGrant(grantRecord(1, keyId(1)), auditEvent(1), enabled);
        assert.equal(await store.updateKey(keyRecord(keyId(1), { revision: 2, state: 'Disabled' })), true);
        await assert.rejects(store.createGrant(grantRecord(2, keyId(1)), auditEvent(2), enabled), KeyConditionFailedError);
        await assert.rejects(store.createGrant(grantRecord(3, keyId(9)), auditEvent(3), { keyId: keyId(9), holds: () => true }), KeyConditionFailedError);
        assert.deepEqual(await store.getGrant(grantId(1)), grantRecord(1, keyId(1)));
        assert.equal(await store.getGrant(grantId(2)), undefined);
        assert.equal(await store.getGrant(grantId(3)), undefined);
        assert.equal((await store.getAuditHead())?.seq, 1);
      });

      it('createGrant stores a whole grant; getGrant reads it; a duplicate grant id rejects and keeps the original', async () => {
        const grant = grantRecord(1, keyId(1), {
          name: 'nightly-backup', retiringPrincipal: principalArn('role', 'retirer'),
          operations: ['Encrypt', 'Decrypt', 'GenerateDataKey'],
          constraints: { EncryptionContextSubset: { dept: 'finance', 'ü': '✓' } },
        });
        await store.createGrant(grant);
        assert.deepEqual(await store.getGrant(grant.grantId), grant);
        await assert.rejects(store.createGrant({ ...grant, granteePrincipal: principalArn('user', 'impostor') }));
        assert.deepEqual(await store.getGrant(grant.grantId), grant);
        assert.equal(await store.getGrant(grantId(2)), undefined);
        const equals = grantRecord(2, keyId(1), { constraints: { EncryptionContextEquals: { a: 'b' } } });
        await store.createGrant(equals);
        assert.deepEqual(await store.getGrant(equals.grantId), equals);
      });

      it('findGrantsByName finds a key\'s grants of that name only', async () => {
        await store.createGrant(grantRecord(1, keyId(1), { name: 'backup' }));
        await store.createGrant(grantRecord(2, keyId(1), { name: 'other' }));
        await store.createGrant(grantRecord(3, keyId(2), { name: 'backup' }));
        await store.createGrant(grantRecord(4, keyId(1)));
        assert.deepEqual((await store.findGrantsByName(keyId(1), 'backup')).map((g) => g.grantId), [grantId(1)]);
        assert.deepEqual((await store.findGrantsByName(keyId(2), 'backup')).map((g) => g.grantId), [grantId(3)]);
        assert.deepEqual(await store.findGrantsByName(keyId(1), 'Backup'), []);
        assert.deepEqual(await store.findGrantsByName(keyId(3), 'backup'), []);
      });

      it('listGrants pages one key\'s grants in grant-id order', async () => {
        for (const n of [5, 2, 7, 1, 4]) await store.createGrant(grantRecord(n, keyId(1)));
        await store.createGrant(grantRecord(3, keyId(2)));
        for (const limit of [1, 2, 5, 10]) {
          const pages = await readAllPages((after) => store.listGrants({ keyId: keyId(1), limit, ...(after !== undefined ? { after } : {}) }), limit, (g) => g.grantId);
          assert.deepEqual(pages.flat().map((g) => g.grantId), [1, 2, 4, 5, 7].map(grantId), `limit ${limit}`);
        }
        assert.deepEqual((await store.listGrants({ keyId: keyId(2), limit: 10 })).items, [grantRecord(3, keyId(2))]);
        assertEmptyPage(await store.listGrants({ keyId: keyId(3), limit: 10 }));
      });

      it('listGrants with granteePrincipal pages one key\'s grants to one grantee in grant-id order', async () => {
        const alice = principalArn('user', 'alice');
        for (const n of [6, 2, 9, 1]) await store.createGrant(grantRecord(n, keyId(1), { granteePrincipal: alice }));
        await store.createGrant(grantRecord(4, keyId(1), { granteePrincipal: alice, operations: ['Decrypt'] }));
        await store.createGrant(grantRecord(3, keyId(1)));
        await store.createGrant(grantRecord(5, keyId(2), { granteePrincipal: alice }));
        for (const limit of [1, 2, 5, 10]) {
          const pages = await readAllPages(
            (after) => store.listGrants({ keyId: keyId(1), granteePrincipal: alice, limit, ...(after !== undefined ? { after } : {}) }), limit, (g) => g.grantId);
          assert.deepEqual(pages.flat().map((g) => g.grantId), [1, 2, 4, 6, 9].map(grantId), `limit ${limit}`);
        }
        assert.deepEqual((await store.listGrants({ keyId: keyId(1), granteePrincipal: alice, after: grantId(2), limit: 1 })).items,
          [grantRecord(4, keyId(1), { granteePrincipal: alice, operations: ['Decrypt'] })]);
        assertEmptyPage(await store.listGrants({ keyId: keyId(1), granteePrincipal: principalArn('user', 'nobody'), limit: 10 }));
        assertEmptyPage(await store.listGrants({ keyId: keyId(3), granteePrincipal: alice, limit: 10 }));
      });

      it('countGrants counts one key\'s grants, and follows deletions', async () => {
        for (const n of [1, 2, 3]) await store.createGrant(grantRecord(n, keyId(1)));
        await store.createGrant(grantRecord(4, keyId(2)));
        assert.equal(await store.countGrants(keyId(1)), 3);
        assert.equal(await store.countGrants(keyId(2)), 1);
        assert.equal(await store.countGrants(keyId(3)), 0);
        await store.deleteGrant(grantId(2));
        assert.equal(await store.countGrants(keyId(1)), 2);
      });

      it('listRetirableGrants pages the grants of one retiring principal over all keys, in grant-id order', async () => {
        const retirer = principalArn('role', 'retirer');
        await store.createGrant(grantRecord(4, keyId(1), { retiringPrincipal: retirer }));
        await store.createGrant(grantRecord(1, keyId(2), { retiringPrincipal: retirer }));
        await store.createGrant(grantRecord(3, keyId(3), { retiringPrincipal: retirer }));
        await store.createGrant(grantRecord(2, keyId(1), { retiringPrincipal: principalArn('role', 'other') }));
        await store.createGrant(grantRecord(5, keyId(1)));
        for (const limit of [1, 2, 3, 10]) {
          const pages = await readAllPages(
            (after) => store.listRetirableGrants({ retiringPrincipal: retirer, limit, ...(after !== undefined ? { after } : {}) }), limit, (g) => g.grantId);
          assert.deepEqual(pages.flat().map((g) => g.grantId), [1, 3, 4].map(grantId), `limit ${limit}`);
        }
        assertEmptyPage(await store.listRetirableGrants({ retiringPrincipal: principalArn('role', 'nobody'), limit: 10 }));
      });

      it('deleteGrant removes one grant once and reports a missing one', async () => {
        await store.createGrant(grantRecord(1, keyId(1), { name: 'n', retiringPrincipal: principalArn('role', 'r') }));
        await store.createGrant(grantRecord(2, keyId(1)));
        assert.equal(await store.deleteGrant(grantId(1)), true);
        assert.equal(await store.getGrant(grantId(1)), undefined);
        assert.equal(await store.deleteGrant(grantId(1)), false);
        assert.deepEqual((await store.listGrants({ keyId: keyId(1), limit: 10 })).items.map((g) => g.grantId), [grantId(2)]);
        assert.deepEqual(await store.findGrantsByName(keyId(1), 'n'), []);
        assertEmptyPage(await store.listRetirableGrants({ retiringPrincipal: principalArn('role', 'r'), limit: 10 }));
      });

      it('deleteKey removes the key\'s grants and no other key\'s', async () => {
        for (const n of [1, 2]) await store.createKey(keyRecord(keyId(n)), keyVersion(keyId(n), 1));
        const retirer = principalArn('role', 'retirer');
        await store.createGrant(grantRecord(1, keyId(1), { retiringPrincipal: retirer, name: 'x' }));
        await store.createGrant(grantRecord(2, keyId(1)));
        await store.createGrant(grantRecord(3, keyId(2), { retiringPrincipal: retirer }));
        await store.deleteKey(keyId(1));
        assert.equal(await store.getGrant(grantId(1)), undefined);
        assert.equal(await store.getGrant(grantId(2)), undefined);
        assertEmptyPage(await store.listGrants({ keyId: keyId(1), limit: 10 }));
        assert.deepEqual(await store.findGrantsByName(keyId(1), 'x'), []);
        assert.deepEqual((await store.listRetirableGrants({ retiringPrincipal: retirer, limit: 10 })).items.map((g) => g.grantId), [grantId(3)]);
        assert.deepEqual(await store.getGrant(grantId(3)), grantRecord(3, keyId(2), { retiringPrincipal: retirer }));
      });
    });

    describe('audit chain', () => {
      const allRecords = async () => store.readAudit({ limit: 1_000_000 });

      /** The chain's own invariants: seq 1..n without gaps, each record linked to the one before, the head on the last. */
      async function assertChained(expectedCount: number): Promise<AuditRecord[]> {
        const records = await allRecords();
        assert.deepEqual(records.map((r) => r.seq), Array.from({ length: expectedCount }, (_, i) => i + 1));
        records.forEach((r, i) => {
          assert.equal(r.prevHash, i === 0 ? GENESIS_HASH : records[i - 1]!.hash, `record ${r.seq} does not follow its predecessor`);
          assert.equal(r.hash, simpleHash(r), `record ${r.seq} is not the chainer's`);
        });
        const head = await store.getAuditHead();
        if (expectedCount === 0) assert.equal(head, undefined);
        else assert.deepEqual(head, { seq: expectedCount, hash: records[expectedCount - 1]!.hash });
        return records;
      }

      it('without a chain, appending fails and a mutation with an event changes nothing', async () => {
        await assert.rejects(store.appendAudit(auditEvent(1)));
        await assert.rejects(store.createAlias(aliasRecord('alias/unchained', keyId(1)), auditEvent(2)));
        assert.equal(await store.getAlias('alias/unchained'), undefined);
        // Without an event there is nothing to chain, so the change is made.
        assert.equal(await store.createAlias(aliasRecord('alias/unchained', keyId(1))), true);
        assert.equal(await store.getAuditHead(), undefined);
      });

      it('getAuditHead is undefined and readAudit empty on an empty trail', async () => {
        store.attachAuditChain(simpleChainer);
        assert.equal(await store.getAuditHead(), undefined);
        assert.deepEqual(await allRecords(), []);
      });

      it('readAuditIndex gives the columns queries filter on, in seq order, and which [key ARN, seq] pairs the key index holds', async () => {
        store.attachAuditChain(simpleChainer);
        const arnA = `arn:aws:kms:us-east-1:111122223333:key/${keyId(1)}`;
        const arnB = `arn:aws:kms:us-east-1:111122223333:key/${keyId(2)}`;
        await store.appendAudit(auditEvent(1, { operation: 'Encrypt', principalArn: 'arn:aws:iam::111122223333:root', keyArns: [arnA] }));
        await store.appendAudit(auditEvent(2, { keyArns: [arnA, arnB], outcome: 'AccessDeniedException' }));
        await store.appendAudit(auditEvent(3));
        const index = await store.readAuditIndex({ afterSeq: 1, limit: 2, keys: [[arnA, 2], [arnB, 2], [arnB, 1], [arnA, 3]] });
        assert.deepEqual(index.rows, [
          { seq: 2, time: T0 + 2, principalArn: null, operation: null, outcome: 'AccessDeniedException' },
          { seq: 3, time: T0 + 3, principalArn: null, operation: null, outcome: 'success' },
        ]);
        assert.deepEqual([...index.keys].sort(), [`2 ${arnA}`, `2 ${arnB}`]);
        const first = await store.readAuditIndex({ afterSeq: 0, limit: 1, keys: [] });
        assert.deepEqual(first.rows, [{ seq: 1, time: T0 + 1, principalArn: 'arn:aws:iam::111122223333:root', operation: 'Encrypt', outcome: 'success' }]);
        assert.equal(first.keys.size, 0);
      });

      it('appendAudit chains one record per event, whole, with seq 1..n', async () => {
        store.attachAuditChain(simpleChainer);
        const event = auditEvent(1, {
          principalArn: principalArn('user', 'alice'), accessKeyId: 'AKIAALICE00000000001', sourceIp: '192.0.2.7',
          userAgent: 'aws-sdk-js/3 ✓', operation: 'Encrypt', keyArns: [keyArnOf(1), keyArnOf(2)],
          requestParameters: { KeyId: 'alias/x', EncryptionContext: { dept: 'ünïcode' } },
          outcome: 'AccessDeniedException', errorMessage: 'User: ... is not authorized',
        });
        await store.appendAudit(event);
        await store.appendAudit(auditEvent(2));
        const [first, second] = await assertChained(2);
        assert.deepEqual(first, simpleChainer(event, 1, GENESIS_HASH));
        assert.equal(second?.requestId, 'req-2');
      });

      it('many concurrent appends get seq 1..n with no gaps, each linked to the one before', async () => {
        store.attachAuditChain(simpleChainer);
        const n = 300;
        await Promise.all(Array.from({ length: n }, (_, i) => store.appendAudit(auditEvent(i + 1))));
        const records = await assertChained(n);
        assert.deepEqual(records.map((r) => r.requestId).sort(), Array.from({ length: n }, (_, i) => `req-${i + 1}`).sort());
      });

      it('appends and mutations with events interleaved still make one gapless chain', async () => {
        store.attachAuditChain(simpleChainer);
        const writes: Promise<unknown>[] = [];
        for (let i = 1; i <= 60; i++) {
          writes.push(store.appendAudit(auditEvent(i)));
          writes.push(store.createAlias(aliasRecord(`alias/a-${i}`, keyId(1)), auditEvent(1000 + i, { operation: 'CreateAlias' })));
        }
        await Promise.all(writes);
        const records = await assertChained(120);
        assert.equal(records.filter((r) => r.operation === 'CreateAlias').length, 60);
      });

      it('a mutation appends its event only when it makes its change', async () => {
        store.attachAuditChain(simpleChainer);
        const ev = (() => {
          let n = 0;
          return (operation: string) => auditEvent(++n, { operation });
        })();
        const alice = principalRecord('user', 'alice');
        // Each pair: the change made (one record), then the same change refused (no record).
        await store.createKey(keyRecord(keyId(1)), keyVersion(keyId(1), 1), ev('CreateKey'));
        await assert.rejects(store.createKey(keyRecord(keyId(1)), keyVersion(keyId(1), 1, 'b'), ev('CreateKey')));
        assert.equal(await store.updateKey(keyRecord(keyId(1), { revision: 2 }), undefined, ev('UpdateKeyDescription')), true);
        assert.equal(await store.updateKey(keyRecord(keyId(1), { revision: 2 }), undefined, ev('UpdateKeyDescription')), false);
        assert.equal(await store.createAlias(aliasRecord('alias/a', keyId(1)), ev('CreateAlias')), true);
        assert.equal(await store.createAlias(aliasRecord('alias/a', keyId(1)), ev('CreateAlias')), false);
        assert.equal(await store.updateAlias(aliasRecord('alias/a', keyId(2)), ev('UpdateAlias')), true);
        assert.equal(await store.updateAlias(aliasRecord('alias/missing', keyId(2)), ev('UpdateAlias')), false);
        assert.equal(await store.deleteAlias('alias/a', ev('DeleteAlias')), true);
        assert.equal(await store.deleteAlias('alias/a', ev('DeleteAlias')), false);
        assert.equal(await store.createPrincipal(alice, ev('CreateUser')), true);
        assert.equal(await store.createPrincipal(alice, ev('CreateUser')), false);
        await store.putIdentityPolicy(policyRecord(alice.arn, 'p'), ev('PutPrincipalPolicy'));
        assert.equal(await store.deleteIdentityPolicy(alice.arn, 'p', ev('DeletePrincipalPolicy')), true);
        assert.equal(await store.deleteIdentityPolicy(alice.arn, 'p', ev('DeletePrincipalPolicy')), false);
        assert.equal(await store.createAccessKey(accessKeyRecord('AKIAALICE00000000001', alice.arn), ev('CreateAccessKey')), true);
        assert.equal(await store.createAccessKey(accessKeyRecord('AKIAALICE00000000001', alice.arn), ev('CreateAccessKey')), false);
        assert.equal(await store.updateAccessKeyStatus('AKIAALICE00000000001', 'Inactive', ev('UpdateAccessKey')), true);
        assert.equal(await store.updateAccessKeyStatus('AKIANOBODY0000000001', 'Inactive', ev('UpdateAccessKey')), false);
        assert.equal(await store.deleteAccessKey('AKIAALICE00000000001', ev('DeleteAccessKey')), true);
        assert.equal(await store.deleteAccessKey('AKIAALICE00000000001', ev('DeleteAccessKey')), false);
        await store.createGrant(grantRecord(1, keyId(1)), ev('CreateGrant'));
        await assert.rejects(store.createGrant(grantRecord(1, keyId(1)), ev('CreateGrant')));
        assert.equal(await store.deleteGrant(grantId(1), ev('RevokeGrant')), true);
        assert.equal(await store.deleteGrant(grantId(1), ev('RevokeGrant')), false);
        assert.equal(await store.deletePrincipal(alice.arn, ev('DeleteUser')), true);
        assert.equal(await store.deletePrincipal(alice.arn, ev('DeleteUser')), false);
        const records = await assertChained(14);
        assert.deepEqual(records.map((r) => r.operation), [
          'CreateKey', 'UpdateKeyDescription', 'CreateAlias', 'UpdateAlias', 'DeleteAlias', 'CreateUser', 'PutPrincipalPolicy',
          'DeletePrincipalPolicy', 'CreateAccessKey', 'UpdateAccessKey', 'DeleteAccessKey', 'CreateGrant', 'RevokeGrant', 'DeleteUser',
        ]);
        // The records are the events of the changes that were made, in the order they were made.
        assert.deepEqual(records.map((r) => r.requestId), [1, 3, 5, 7, 9, 11, 13, 14, 16, 18, 20, 22, 24, 26].map((n) => `req-${n}`));
      });

      it('readAudit pages in seq order after afterSeq', async () => {
        store.attachAuditChain(simpleChainer);
        for (let i = 1; i <= 25; i++) await store.appendAudit(auditEvent(i));
        const seqs = async (afterSeq: number | undefined, limit: number) =>
          (await store.readAudit({ limit, ...(afterSeq !== undefined ? { afterSeq } : {}) })).map((r) => r.seq);
        assert.deepEqual(await seqs(undefined, 3), [1, 2, 3]);
        assert.deepEqual(await seqs(0, 3), [1, 2, 3]);
        assert.deepEqual(await seqs(10, 4), [11, 12, 13, 14]);
        assert.deepEqual(await seqs(23, 10), [24, 25]);
        assert.deepEqual(await seqs(25, 10), []);
        const all: number[] = [];
        for (let after = 0; ;) {
          const page = await seqs(after, 7);
          if (page.length === 0) break;
          all.push(...page);
          after = page[page.length - 1]!;
        }
        assert.deepEqual(all, Array.from({ length: 25 }, (_, i) => i + 1));
      });

      it('queryAudit filters by time, principal, key, operation and outcome, newest first, paged by beforeSeq', async () => {
        store.attachAuditChain(simpleChainer);
        const alice = principalArn('user', 'alice');
        const bob = principalArn('role', 'bob');
        // 40 events: time T0 + i s; alternating principals; operations in turn; every 3rd a failure.
        const ops = ['Encrypt', 'Decrypt', 'CreateAlias', 'CofferAdmin.CreateUser'];
        const errors = ['AccessDeniedException', 'NotFoundException'];
        const events = Array.from({ length: 40 }, (_, i) => auditEvent(i + 1, {
          time: T0 + (i + 1) * 1000,
          ...(i % 10 === 9 ? {} : { principalArn: i % 2 === 0 ? alice : bob }),
          operation: ops[i % 4]!,
          keyArns: i % 5 === 0 ? [keyArnOf(1), keyArnOf(2)] : i % 5 === 1 ? [keyArnOf(2)] : [],
          outcome: i % 3 === 2 ? errors[i % 2]! : 'success',
        }));
        for (const e of events) await store.appendAudit(e);
        const seqs = async (q: Partial<AuditQuery>) => (await store.queryAudit({ limit: 1000, ...q })).map((r) => r.seq);
        const expected = (keep: (e: AuditEvent, seq: number) => boolean) =>
          events.map((e, i) => [e, i + 1] as const).filter(([e, seq]) => keep(e, seq)).map(([, seq]) => seq).reverse();

        assert.deepEqual(await seqs({}), expected(() => true));
        assert.deepEqual(await seqs({ from: T0 + 5000 }), expected((e) => e.time >= T0 + 5000));
        assert.deepEqual(await seqs({ to: T0 + 5000 }), expected((e) => e.time < T0 + 5000));
        assert.deepEqual(await seqs({ from: T0 + 5000, to: T0 + 9000 }), [8, 7, 6, 5]);
        assert.deepEqual(await seqs({ principalArn: alice }), expected((e) => e.principalArn === alice));
        assert.deepEqual(await seqs({ principalArn: bob }), expected((e) => e.principalArn === bob));
        assert.deepEqual(await seqs({ keyArn: keyArnOf(2) }), expected((e) => e.keyArns.includes(keyArnOf(2))));
        assert.deepEqual(await seqs({ keyArn: keyArnOf(1) }), expected((e) => e.keyArns.includes(keyArnOf(1))));
        assert.deepEqual(await seqs({ keyArn: keyArnOf(9) }), []);
        assert.deepEqual(await seqs({ operation: 'Decrypt' }), expected((e) => e.operation === 'Decrypt'));
        assert.deepEqual(await seqs({ operation: 'CofferAdmin.CreateUser' }), expected((e) => e.operation === 'CofferAdmin.CreateUser'));
        assert.deepEqual(await seqs({ operation: 'CreateUser' }), []);
        assert.deepEqual(await seqs({ outcome: 'success' }), expected((e) => e.outcome === 'success'));
        assert.deepEqual(await seqs({ outcome: 'failure' }), expected((e) => e.outcome !== 'success'));
        assert.deepEqual(await seqs({ outcome: 'NotFoundException' }), expected((e) => e.outcome === 'NotFoundException'));
        assert.deepEqual(await seqs({ principalArn: alice, outcome: 'failure', keyArn: keyArnOf(2) }),
          expected((e) => e.principalArn === alice && e.outcome !== 'success' && e.keyArns.includes(keyArnOf(2))));
        assert.deepEqual(await seqs({ beforeSeq: 4 }), [3, 2, 1]);
        // Paging: newest first, each page resumed before the last seq of the previous one.
        const paged: number[] = [];
        for (let beforeSeq: number | undefined; ;) {
          const page = await seqs({ outcome: 'success', limit: 4, ...(beforeSeq !== undefined ? { beforeSeq } : {}) });
          assert.ok(page.length <= 4);
          paged.push(...page);
          if (page.length < 4) break;
          beforeSeq = page[page.length - 1]!;
        }
        assert.deepEqual(paged, expected((e) => e.outcome === 'success'));
        // Whole records come back.
        const [newest] = await store.queryAudit({ limit: 1 });
        assert.deepEqual(newest, simpleChainer(events[39]!, 40, (await store.readAudit({ afterSeq: 38, limit: 1 }))[0]!.hash));
      });

      it('lastKeyUse finds the newest successful record of the key among the operations', async () => {
        store.attachAuditChain(simpleChainer);
        const use = (n: number, operation: string, keys: number[], outcome = 'success') =>
          store.appendAudit(auditEvent(n, { operation, keyArns: keys.map(keyArnOf), outcome }));
        const crypto = ['Encrypt', 'Decrypt', 'GenerateDataKey', 'ReEncrypt'];
        assert.equal(await store.lastKeyUse(keyArnOf(1), crypto), undefined);
        await use(1, 'Encrypt', [1]);
        await use(2, 'DescribeKey', [1]);
        await use(3, 'Decrypt', [1], 'InvalidCiphertextException');
        await use(4, 'GenerateDataKey', [2]);
        assert.equal((await store.lastKeyUse(keyArnOf(1), crypto))?.requestId, 'req-1');
        assert.equal((await store.lastKeyUse(keyArnOf(1), ['DescribeKey']))?.requestId, 'req-2');
        assert.equal(await store.lastKeyUse(keyArnOf(1), ['Decrypt']), undefined);
        assert.equal((await store.lastKeyUse(keyArnOf(2), crypto))?.requestId, 'req-4');
        // A record naming two keys (ReEncrypt) is a use of both; a mutation's event counts too.
        await use(5, 'ReEncrypt', [2, 1]);
        await store.createAlias(aliasRecord('alias/x', keyId(3)), auditEvent(6, { operation: 'Encrypt', keyArns: [keyArnOf(3)] }));
        const last = await store.lastKeyUse(keyArnOf(1), crypto);
        assert.equal(last?.requestId, 'req-5');
        assert.equal(last?.seq, 5);
        assert.deepEqual(last, (await store.readAudit({ afterSeq: 4, limit: 1 }))[0]);
        assert.equal((await store.lastKeyUse(keyArnOf(2), crypto))?.requestId, 'req-5');
        assert.equal((await store.lastKeyUse(keyArnOf(3), crypto))?.requestId, 'req-6');
        assert.equal((await store.lastKeyUse(keyArnOf(1), ['Encrypt']))?.requestId, 'req-1');
        assert.equal(await store.lastKeyUse(keyArnOf(1), []), undefined);
        assert.equal(await store.lastKeyUse(keyArnOf(9), crypto), undefined);
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

    describe('root-key rewrap', () => {
      it('replaceMeta replaces a value only when the stored one matches', async () => {
        const first = awkwardBytes();
        assert.equal(await store.replaceMeta('root-keyring', first, new Uint8Array([1])), false, 'no value yet');
        assert.equal(await store.getMeta('root-keyring'), undefined);
        await store.putMetaIfAbsent('root-keyring', first);
        assert.equal(await store.replaceMeta('root-keyring', new Uint8Array([9]), new Uint8Array([1])), false, 'stale expectation');
        assertBytes(await store.getMeta('root-keyring'), first, 'unchanged after a lost compare');
        assert.equal(await store.replaceMeta('root-keyring', first, new Uint8Array([2, 0, 2])), true);
        assertBytes(await store.getMeta('root-keyring'), new Uint8Array([2, 0, 2]), 'replaced');
      });

      it('lets only one of many concurrent replaceMeta from the same value win', async () => {
        await store.putMetaIfAbsent('cas', new Uint8Array([0]));
        const values = Array.from({ length: 8 }, (_, i) => new Uint8Array([i + 1, 1]));
        const results = await Promise.all(values.map((v) => store.replaceMeta('cas', new Uint8Array([0]), v)));
        assert.equal(results.filter((won) => won).length, 1);
        assertBytes(await store.getMeta('cas'), values[results.indexOf(true)]!, 'the winner\'s value');
      });

      it('rewrapKeyVersion changes only the wrapped material, and only from the expected bytes', async () => {
        const v1 = keyVersion(keyId(1), 1);
        await store.createKey(keyRecord(keyId(1)), v1);
        const next = awkwardBytes();
        assert.equal(await store.rewrapKeyVersion(keyId(1), 1, new Uint8Array([1, 2]), next), false, 'stale expectation');
        assert.equal(await store.rewrapKeyVersion(keyId(1), 2, v1.wrappedMaterial, next), false, 'no such version');
        assert.equal(await store.rewrapKeyVersion(keyId(1), 1, v1.wrappedMaterial, next), true);
        const stored = await store.getKeyVersion(keyId(1), 1);
        assertBytes(stored?.wrappedMaterial, next, 'rewrapped material');
        assert.deepEqual({ ...stored, wrappedMaterial: undefined }, { ...v1, wrappedMaterial: undefined }, 'every other field kept, the KeyMaterialId included');
        assert.equal(await store.rewrapKeyVersion(keyId(1), 1, v1.wrappedMaterial, awkwardBytes()), false, 'the old bytes are no longer there');
      });

      it('rewrapAccessKeySecret changes only the wrapped secret, and only from the expected bytes', async () => {
        const record = accessKeyRecord('AKIAREWRAP0000000001', 'arn:aws:iam::111122223333:root');
        await store.createAccessKey(record);
        const next = awkwardBytes();
        assert.equal(await store.rewrapAccessKeySecret(record.accessKeyId, new Uint8Array([7]), next), false, 'stale expectation');
        assert.equal(await store.rewrapAccessKeySecret('AKIAMISSING000000000', record.wrappedSecret, next), false, 'no such key');
        assert.equal(await store.rewrapAccessKeySecret(record.accessKeyId, record.wrappedSecret, next), true);
        const stored = await store.getAccessKey(record.accessKeyId);
        assertBytes(stored?.wrappedSecret, next, 'rewrapped secret');
        assert.deepEqual({ ...stored, wrappedSecret: undefined }, { ...record, wrappedSecret: undefined }, 'every other field kept');
      });
    });

    describe('snapshots', () => {
      const collect = async (rows: AsyncIterable<SnapshotRow>): Promise<SnapshotRow[]> => {
        const all: SnapshotRow[] = [];
        for await (const row of rows) all.push(row);
        return all;
      };
      async function* replay(rows: readonly SnapshotRow[], failAfter?: number): AsyncIterable<SnapshotRow> {
        for (const [i, row] of rows.entries()) {
          if (i === failAfter) throw new Error('the archive ends here');
          yield row;
        }
      }
      /** Rows compared as data: bytes as arrays, so a Buffer and a Uint8Array of the same bytes are equal. */
      const comparable = (rows: readonly SnapshotRow[]) => JSON.parse(JSON.stringify(rows, (_k, v: unknown) =>
        v instanceof Uint8Array ? { bytes: [...v] } : (v as { type?: string })?.type === 'Buffer' ? { bytes: (v as { data: number[] }).data } : v)) as unknown;

      /** A store with a row of every kind: two keys (one rotated, one with pending material), aliases, principals, policies, access keys, grants, an audit chain, meta. */
      async function populate(target: Store): Promise<void> {
        target.attachAuditChain(simpleChainer);
        await target.createKey(keyRecord(keyId(1), { tags: [{ TagKey: 'k', TagValue: 'v é' }], policy: '{"Version":"2012-10-17"}' }), keyVersion(keyId(1), 1),
          auditEvent(1, { operation: 'CreateKey', keyArns: [keyArnOf(1)] }));
        assert.equal(await target.updateKey(keyRecord(keyId(1), { revision: 2, currentVersion: 2, onDemandRotations: 1 }),
          keyVersion(keyId(1), 2, 'b', { rotationType: 'ON_DEMAND', wrappedMaterial: awkwardBytes() }), auditEvent(2, { operation: 'RotateKeyOnDemand', keyArns: [keyArnOf(1)] })), true);
        await target.createKey(keyRecord(keyId(2), {
          origin: 'EXTERNAL', state: 'PendingDeletion', deletionDate: T0 + DAY, rotation: { periodInDays: 90, nextRotationDate: T0 + 90 * DAY },
          pendingMaterial: { version: 2, materialId: 'ef'.repeat(32), wrappedMaterial: Buffer.from(awkwardBytes()).toString('base64'), importedAt: T0, expirationModel: 'KEY_MATERIAL_DOES_NOT_EXPIRE' },
        }), keyVersion(keyId(2), 1));
        await target.createAlias(aliasRecord('alias/B', keyId(2)));
        await target.createAlias(aliasRecord('alias/a', keyId(1)), auditEvent(3, { operation: 'CreateAlias', keyArns: [keyArnOf(1)] }));
        await target.createPrincipal(principalRecord('user', 'alice'));
        await target.createPrincipal(principalRecord('role', 'alice'));
        await target.putIdentityPolicy(policyRecord(principalArn('user', 'alice'), 'p1'));
        await target.putIdentityPolicy(policyRecord(principalArn('user', 'alice'), 'p2', '{"Statement":[{"Sid":"é"}]}'));
        await target.createAccessKey({ ...accessKeyRecord('AKIASNAPSHOT00000001', principalArn('user', 'alice')), wrappedSecret: awkwardBytes() });
        await target.createAccessKey({ ...accessKeyRecord('AKIASNAPSHOT00000002', `arn:aws:iam::${ACCOUNT}:root`), status: 'Inactive' });
        await target.createGrant(grantRecord(1, keyId(1), { name: 'n', retiringPrincipal: principalArn('role', 'alice') }));
        await target.createGrant(grantRecord(2, keyId(2)));
        await target.appendAudit(auditEvent(4, { operation: 'Encrypt', keyArns: [keyArnOf(1)] }));
        await target.appendAudit(auditEvent(5, { operation: 'Decrypt', keyArns: [keyArnOf(1), keyArnOf(2)], outcome: 'InvalidCiphertextException' }));
        await target.putMetaIfAbsent('audit-key', awkwardBytes());
        await target.putMetaIfAbsent('root-key-check', new Uint8Array([1, 2, 3]));
      }

      it('copies every row of a populated store into an empty one exactly, by exportSnapshot then importSnapshot', async () => {
        await populate(store);
        const rows = await collect(store.exportSnapshot());
        assert.deepEqual([...new Set(rows.map((r) => r.kind))],
          ['key', 'keyVersion', 'alias', 'principal', 'identityPolicy', 'accessKey', 'grant', 'audit', 'auditHead', 'meta'], 'every kind, in order');
        const fresh = await opened.openFresh();
        try {
          const target = fresh.store;
          assert.deepEqual(await target.importSnapshot(replay(rows)), { rows: rows.length });
          assert.deepEqual(comparable(await collect(target.exportSnapshot())), comparable(rows), 'the copy exports the same rows');
          // And through the interface, as a server reads it.
          assert.deepEqual(await target.getKey(keyId(1)), await store.getKey(keyId(1)));
          assert.deepEqual(await target.getKey(keyId(2)), await store.getKey(keyId(2)));
          assertVersions(await target.listKeyVersions(keyId(1)), await store.listKeyVersions(keyId(1)));
          assert.deepEqual((await target.listAliases({ limit: 10 })).items, (await store.listAliases({ limit: 10 })).items);
          assert.deepEqual((await target.listPrincipals({ limit: 10 })).items, (await store.listPrincipals({ limit: 10 })).items);
          assert.deepEqual(await target.listIdentityPolicies(principalArn('user', 'alice')), await store.listIdentityPolicies(principalArn('user', 'alice')));
          assertBytes((await target.getAccessKey('AKIASNAPSHOT00000001'))?.wrappedSecret, awkwardBytes(), 'access key secret');
          assert.equal((await target.getAccessKey('AKIASNAPSHOT00000002'))?.status, 'Inactive');
          assert.deepEqual(await target.getGrant(grantId(1)), await store.getGrant(grantId(1)));
          assert.deepEqual((await target.listRetirableGrants({ retiringPrincipal: principalArn('role', 'alice'), limit: 10 })).items.map((g) => g.grantId), [grantId(1)]);
          assert.deepEqual(await target.readAudit({ limit: 100 }), await store.readAudit({ limit: 100 }));
          assert.deepEqual(await target.getAuditHead(), await store.getAuditHead());
          assert.equal((await target.lastKeyUse(keyArnOf(1), ['Encrypt', 'Decrypt']))?.requestId, 'req-4', 'last use is derived again');
          assert.deepEqual((await target.queryAudit({ keyArn: keyArnOf(2), limit: 10 })).map((r) => r.seq), [5], 'the key index is derived again');
          assert.deepEqual(await target.listKeysDue(T0 + DAY), await store.listKeysDue(T0 + DAY));
          assertBytes(await target.getMeta('audit-key'), awkwardBytes(), 'meta');
          // The chain goes on where it stopped.
          target.attachAuditChain(simpleChainer);
          const head = (await store.getAuditHead())!;
          await target.appendAudit(auditEvent(6));
          const [next] = await target.readAudit({ afterSeq: head.seq, limit: 10 });
          assert.equal(next?.seq, head.seq + 1);
          assert.equal(next?.prevHash, head.hash);
        } finally {
          await fresh.close();
        }
      });

      it('importSnapshot refuses a store that is not empty and writes nothing', async () => {
        const rows = await (async () => {
          await populate(store);
          return collect(store.exportSnapshot());
        })();
        const fresh = await opened.openFresh();
        try {
          const target = fresh.store;
          // Its own root key's meta does not count: a restore target has made one.
          await target.putMetaIfAbsent('root-key-check', new Uint8Array([9]));
          await target.createPrincipal(principalRecord('user', 'bob'));
          await assert.rejects(target.importSnapshot(replay(rows)), StoreNotEmptyError);
          assert.equal(await target.getKey(keyId(1)), undefined);
          assert.deepEqual((await target.listPrincipals({ limit: 10 })).items.map((p) => p.name), ['bob']);
          assert.equal(await target.getAuditHead(), undefined);
        } finally {
          await fresh.close();
        }
      });

      it('importSnapshot writes nothing when the rows fail part way, and a later import succeeds', async () => {
        await populate(store);
        const rows = await collect(store.exportSnapshot());
        const fresh = await opened.openFresh();
        try {
          const target = fresh.store;
          await assert.rejects(target.importSnapshot(replay(rows, rows.length - 2)), /the archive ends here/);
          assertEmptyPage(await target.listKeys({ limit: 10 }));
          assertEmptyPage(await target.listPrincipals({ limit: 10 }));
          assert.deepEqual(await target.readAudit({ limit: 10 }), []);
          assert.equal(await target.getAuditHead(), undefined);
          assert.equal(await target.getMeta('audit-key'), undefined);
          assert.deepEqual(await target.importSnapshot(replay(rows)), { rows: rows.length });
          assert.equal((await target.listKeys({ limit: 10 })).items.length, 2);
        } finally {
          await fresh.close();
        }
      });

      it('importSnapshot into a store that holds only an unfinished restore\'s mark fills it and clears the mark in the same commit; importing nothing keeps it', async () => {
        await populate(store);
        const rows = await collect(store.exportSnapshot());
        const fresh = await opened.openFresh();
        try {
          assert.equal(await fresh.store.putMetaIfAbsent('restore-unfinished', new Uint8Array([1])), true);
          await fresh.store.importSnapshot(replay([]));
          assert.ok(await fresh.store.getMeta('restore-unfinished'), 'an empty import is no restore');
          await fresh.store.importSnapshot(replay(rows));
          assert.equal(await fresh.store.getMeta('restore-unfinished'), undefined);
          assert.equal((await fresh.store.listKeys({ limit: 10 })).items.length, 2);
        } finally {
          await fresh.close();
        }
      });

      it('importSnapshot refuses rows that name one alias, principal, identity policy, access key, meta value or the audit head twice, and writes nothing', async () => {
        await populate(store);
        const rows = await collect(store.exportSnapshot());
        for (const kind of ['alias', 'principal', 'identityPolicy', 'accessKey', 'auditHead', 'meta'] as const) {
          const twice = rows.find((r) => r.kind === kind)!;
          const fresh = await opened.openFresh();
          try {
            await assert.rejects(fresh.store.importSnapshot(replay([...rows, twice])), kind);
            assertEmptyPage(await fresh.store.listKeys({ limit: 10 }));
          } finally {
            await fresh.close();
          }
        }
      });

      it('exportSnapshot is one snapshot: what is committed while it is read is not in it', async () => {
        await populate(store);
        const iterator = store.exportSnapshot()[Symbol.asyncIterator]();
        const first = await iterator.next();
        assert.equal(first.done, false);
        // Writers are not blocked by the open snapshot.
        await store.createKey(keyRecord(keyId(3)), keyVersion(keyId(3), 1), auditEvent(7, { operation: 'CreateKey' }));
        await store.createAlias(aliasRecord('alias/later', keyId(3)));
        await store.appendAudit(auditEvent(8));
        const rows = [first.value as SnapshotRow];
        for (let next = await iterator.next(); !next.done; next = await iterator.next()) rows.push(next.value);
        assert.deepEqual(rows.filter((r) => r.kind === 'key').map((r) => r.kind === 'key' && r.key.keyId), [keyId(1), keyId(2)]);
        assert.ok(!rows.some((r) => r.kind === 'alias' && r.alias.aliasName === 'alias/later'));
        const audit = rows.filter((r) => r.kind === 'audit');
        const head = rows.find((r) => r.kind === 'auditHead');
        const last = audit[audit.length - 1];
        assert.equal(audit.length, 5);
        assert.deepEqual(head?.kind === 'auditHead' && { seq: head.seq, hash: head.hash }, last?.kind === 'audit' && { seq: last.record.seq, hash: last.record.hash },
          'the head is the snapshot\'s last record');
        assert.equal((await store.getAuditHead())?.seq, 7, 'the writes were made');
      });

      it('ends the snapshot when the reader stops early', async () => {
        await populate(store);
        for await (const row of store.exportSnapshot()) {
          assert.equal(row.kind, 'key');
          break;
        }
        // A snapshot left open would keep a connection (PostgreSQL) or a read transaction (SQLite) busy.
        assert.equal((await collect(store.exportSnapshot())).filter((r) => r.kind === 'key').length, 2);
        await store.createKey(keyRecord(keyId(4)), keyVersion(keyId(4), 1));
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

    describe('two nodes on the same data', () => {
      async function withSecond(run: (other: Store) => Promise<void>): Promise<void> {
        const other = await opened.openSecond();
        try {
          await run(other);
        } finally {
          await other.close();
        }
      }

      it('a write resolved on one node is read, and compared-and-set against, on the other at once', () => withSecond(async (other) => {
        const key = keyRecord(keyId(1));
        await store.createKey(key, keyVersion(key.keyId, 1));
        assert.deepEqual(await other.getKey(key.keyId), key);
        assert.equal(await other.updateKey({ ...key, revision: 2, description: 'from the other node' }), true);
        assert.equal((await store.getKey(key.keyId))?.description, 'from the other node');
        assert.equal(await store.updateKey({ ...key, revision: 2, description: 'stale' }), false);
      }));

      it('of concurrent createAlias of one name on both nodes, exactly one succeeds', () => withSecond(async (other) => {
        const results = await Promise.all(Array.from({ length: 8 }, (_, i) =>
          (i % 2 ? store : other).createAlias(aliasRecord('alias/race', keyId(i + 1)))));
        assert.equal(results.filter((created) => created).length, 1, `results: ${results}`);
        assert.equal((await other.getAlias('alias/race'))?.targetKeyId, keyId(results.indexOf(true) + 1));
      }));

      it('of concurrent updateKey from one revision on both nodes, exactly one wins, with its version', () => withSecond(async (other) => {
        const key = keyRecord(keyId(1));
        await store.createKey(key, keyVersion(key.keyId, 1));
        const attempts = Array.from({ length: 8 }, (_, i) => ({
          node: i % 2 ? store : other,
          next: { ...key, revision: 2, currentVersion: 2, description: `writer ${i}` },
          version: keyVersion(key.keyId, 2, `writer ${i}`),
        }));
        const results = await Promise.all(attempts.map((a) => a.node.updateKey(a.next, a.version)));
        assert.equal(results.filter((won) => won).length, 1, `winners: ${results}`);
        const winner = attempts[results.indexOf(true)]!;
        assert.deepEqual(await other.getKey(key.keyId), winner.next);
        assertVersion(await store.getKeyVersion(key.keyId, 2), winner.version);
      }));

      it('audit events written on both nodes at once form one gapless chain', () => withSecond(async (other) => {
        store.attachAuditChain(simpleChainer);
        other.attachAuditChain(simpleChainer);
        const writes: Promise<unknown>[] = [];
        for (let i = 1; i <= 40; i++) {
          const node = i % 2 ? store : other;
          writes.push(i % 5 === 0
            ? node.createAlias(aliasRecord(`alias/chained-${i}`, keyId(1)), auditEvent(i))
            : node.appendAudit(auditEvent(i)));
        }
        await Promise.all(writes);
        const records = await other.readAudit({ limit: 1000 });
        assert.deepEqual(records.map((r) => r.seq), Array.from({ length: 40 }, (_, i) => i + 1));
        records.forEach((r, i) => {
          assert.equal(r.prevHash, i === 0 ? GENESIS_HASH : records[i - 1]!.hash, `record ${r.seq} does not follow its predecessor`);
          assert.equal(r.hash, simpleHash(r), `record ${r.seq} is not the chainer's`);
        });
        assert.deepEqual(new Set(records.map((r) => r.requestId)), new Set(Array.from({ length: 40 }, (_, i) => auditEvent(i + 1).requestId)));
        assert.deepEqual(await store.getAuditHead(), { seq: 40, hash: records[39]!.hash });
      }));
    });

    describe('runExclusive', () => {
      it('runs one holder of a name at a time, and frees the name when it ends, also by an error', async () => {
        let release!: () => void;
        const held = new Promise<void>((done) => (release = done));
        let started!: () => void;
        const running = new Promise<void>((done) => (started = done));
        const first = store.runExclusive('work', async () => {
          started();
          await held;
        });
        await running;
        assert.equal(await store.runExclusive('work', async () => assert.fail('ran while the name was held')), false);
        assert.equal(await store.runExclusive('other work', async () => {}), true, 'another name is free');
        release();
        assert.equal(await first, true);
        await assert.rejects(store.runExclusive('work', async () => {
          throw new Error('the work failed');
        }), /the work failed/);
        let ran = false;
        assert.equal(await store.runExclusive('work', async () => {
          ran = true;
        }), true);
        assert.equal(ran, true);
      });
    });

    describe('serialize', () => {
      it('runs the holders of one name one after another, in order, answers what each answers, and goes on after an error', async () => {
        const order: string[] = [];
        let inside = 0;
        let most = 0;
        const step = (label: string, fail = false) => store.serialize('admin', async () => {
          inside++;
          most = Math.max(most, inside);
          order.push(`${label} in`);
          await new Promise((done) => setTimeout(done, 5));
          order.push(`${label} out`);
          inside--;
          if (fail) throw new Error(`${label} failed`);
          return label;
        });
        const results = await Promise.allSettled([step('a'), step('b', true), step('c')]);
        assert.deepEqual(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)), ['a', 'b failed', 'c']);
        assert.equal(most, 1);
        assert.deepEqual(order, ['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
        // Another name does not wait. The holder of 'admin' must be inside before 'other' starts:
        // on PostgreSQL entering takes a connection and a lock, which can take longer than all of
        // 'other' does.
        let release!: () => void;
        let entered!: () => void;
        const holding = new Promise<void>((done) => (entered = done));
        const held = store.serialize('admin', () => new Promise<void>((done) => {
          release = done;
          entered();
        }));
        await holding;
        const other = store.serialize('other', async () => 'free');
        const waited = new Promise<string>((done) => setTimeout(done, 3_000, 'waited for the holder of another name').unref());
        assert.equal(await Promise.race([other, waited]), 'free');
        release();
        await held;
      });
    });
  });
}
