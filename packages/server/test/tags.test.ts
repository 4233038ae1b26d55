import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, ListResourceTagsCommand, ScheduleKeyDeletionCommand, TagResourceCommand,
  UntagResourceCommand, type KeyMetadata, type Tag,
} from '@aws-sdk/client-kms';
import Database from 'better-sqlite3';
import { errorOf, rawRequest, startTestServer, type TestServer } from './support/server.js';

const arnOf = (keyId: string) => `arn:aws:kms:us-east-1:111122223333:key/${keyId}`;
const tagsNamed = (count: number, prefix = 'key'): Tag[] =>
  Array.from({ length: count }, (_, i) => ({ TagKey: `${prefix}${String(i).padStart(2, '0')}`, TagValue: `value${i}` }));
const byKey = (tags: readonly Tag[]) => [...tags].sort((a, b) => (a.TagKey! < b.TagKey! ? -1 : a.TagKey! > b.TagKey! ? 1 : 0));

describe('tags', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.dispose());

  const createKey = async (Tags?: Tag[]): Promise<KeyMetadata> =>
    (await t.kms.send(new CreateKeyCommand(Tags ? { Tags } : {}))).KeyMetadata!;
  /** Every tag of a key, read a page of one at a time. */
  const pagedOneByOne = async (KeyId: string): Promise<Tag[]> => {
    const seen: Tag[] = [];
    let marker: string | undefined;
    do {
      const out = await t.kms.send(new ListResourceTagsCommand({ KeyId, Limit: 1, ...(marker ? { Marker: marker } : {}) }));
      seen.push(...out.Tags!);
      marker = out.NextMarker;
    } while (marker);
    return seen;
  };
  const tagsOf = async (KeyId: string): Promise<Tag[]> => {
    const out = await t.kms.send(new ListResourceTagsCommand({ KeyId }));
    assert.equal(out.Truncated, false);
    return out.Tags!;
  };
  const tag = (KeyId: string, Tags: Tag[]) => t.kms.send(new TagResourceCommand({ KeyId, Tags }));

  describe('tagging and untagging', () => {
    it('a new key has no tags', async () => {
      const { KeyId } = await createKey();
      assert.deepEqual(await tagsOf(KeyId!), []);
    });

    it('CreateKey Tags are listed by ListResourceTags, by key id or key ARN', async () => {
      const tags = [{ TagKey: 'tag1', TagValue: 'value1' }, { TagKey: 'tag2', TagValue: 'value2' }, { TagKey: 'tag3', TagValue: 'value3' }];
      const { KeyId, Arn } = await createKey(tags);
      assert.deepEqual(await tagsOf(KeyId!), tags);
      assert.deepEqual(await tagsOf(Arn!), tags);
    });

    it('TagResource adds tags and updates a value in place', async () => {
      const { KeyId } = await createKey([
        { TagKey: 'tag1', TagValue: 'value1' }, { TagKey: 'tag2', TagValue: 'value2' }, { TagKey: 'tag3', TagValue: 'value3' },
      ]);
      await tag(KeyId!, [
        { TagKey: 'tag4', TagValue: 'value4' }, { TagKey: 'tag2', TagValue: 'updated_value2' }, { TagKey: 'tag5', TagValue: 'value5' },
      ]);
      assert.deepEqual(await tagsOf(KeyId!), [
        { TagKey: 'tag1', TagValue: 'value1' },
        { TagKey: 'tag2', TagValue: 'updated_value2' },
        { TagKey: 'tag3', TagValue: 'value3' },
        { TagKey: 'tag4', TagValue: 'value4' },
        { TagKey: 'tag5', TagValue: 'value5' },
      ]);
    });

    it('accepts an empty tag value', async () => {
      const { KeyId } = await createKey([{ TagKey: 'empty', TagValue: '' }]);
      assert.deepEqual(await tagsOf(KeyId!), [{ TagKey: 'empty', TagValue: '' }]);
    });

    it('UntagResource removes the named tags and ignores keys the key does not have', async () => {
      const { KeyId } = await createKey([
        { TagKey: 'tag1', TagValue: 'value1' }, { TagKey: 'tag2', TagValue: 'value2' }, { TagKey: 'tag3', TagValue: 'value3' },
      ]);
      await t.kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['tag2', 'not-there'] }));
      assert.deepEqual(await tagsOf(KeyId!), [{ TagKey: 'tag1', TagValue: 'value1' }, { TagKey: 'tag3', TagValue: 'value3' }]);
      await t.kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['tag1', 'tag3'] }));
      assert.deepEqual(await tagsOf(KeyId!), []);
    });

    it('tags keys independently', async () => {
      const a = await createKey([{ TagKey: 'owner', TagValue: 'a' }]);
      const b = await createKey([{ TagKey: 'owner', TagValue: 'b' }]);
      await tag(a.KeyId!, [{ TagKey: 'owner', TagValue: 'changed' }]);
      assert.deepEqual(await tagsOf(b.KeyId!), [{ TagKey: 'owner', TagValue: 'b' }]);
    });

    it('tags a disabled key but refuses a key pending deletion', async () => {
      const { KeyId, Arn } = await createKey([{ TagKey: 'kept', TagValue: 'yes' }]);
      await t.kms.send(new DisableKeyCommand({ KeyId }));
      await tag(KeyId!, [{ TagKey: 'while', TagValue: 'disabled' }]);
      assert.equal((await tagsOf(KeyId!)).length, 2);
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      for (const call of [
        () => tag(KeyId!, [{ TagKey: 'too', TagValue: 'late' }]),
        () => t.kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['kept'] })),
      ]) {
        const err = await errorOf(call);
        assert.equal(err.name, 'KMSInvalidStateException');
        assert.equal(err.message, `${Arn} is pending deletion.`);
      }
      assert.equal((await tagsOf(KeyId!)).length, 2, 'ListResourceTags still works while pending deletion');
    });

    it('refuses an unknown key with NotFoundException', async () => {
      const keyId = randomUUID();
      for (const call of [
        () => tag(keyId, [{ TagKey: 'k', TagValue: 'v' }]),
        () => t.kms.send(new UntagResourceCommand({ KeyId: keyId, TagKeys: ['k'] })),
        () => t.kms.send(new ListResourceTagsCommand({ KeyId: keyId })),
      ]) {
        const err = await errorOf(call);
        assert.equal(err.name, 'NotFoundException');
        assert.equal(err.message, `Key '${arnOf(keyId)}' does not exist`);
      }
    });
  });

  describe('limits', () => {
    for (const via of ['CreateKey', 'TagResource'] as const) {
      const apply = async (tags: Tag[]): Promise<string> => {
        if (via === 'CreateKey') return (await createKey(tags)).KeyId!;
        const { KeyId } = await createKey();
        await tag(KeyId!, tags);
        return KeyId!;
      };

      it(`${via}: a tag key of 128 characters is accepted, 129 is not`, async () => {
        const longest = 'k'.repeat(128);
        const keyId = await apply([{ TagKey: longest, TagValue: 'v' }]);
        assert.deepEqual(await tagsOf(keyId), [{ TagKey: longest, TagValue: 'v' }]);
        const err = await errorOf(() => apply([{ TagKey: `${longest}k`, TagValue: 'v' }]));
        assert.equal(err.name, 'ValidationException');
        assert.equal(err.message, `1 validation error detected: Value '${longest}k' at 'tags.1.member.tagKey' failed to satisfy constraint: Member must have length less than or equal to 128`);
      });

      it(`${via}: a tag value of 256 characters is accepted, 257 is not`, async () => {
        const longest = 'v'.repeat(256);
        const keyId = await apply([{ TagKey: 'tag1', TagValue: longest }]);
        assert.deepEqual(await tagsOf(keyId), [{ TagKey: 'tag1', TagValue: longest }]);
        const err = await errorOf(() => apply([{ TagKey: 'tag1', TagValue: `${longest}v` }]));
        assert.equal(err.name, 'ValidationException');
        assert.equal(err.message, `1 validation error detected: Value '${longest}v' at 'tags.1.member.tagValue' failed to satisfy constraint: Member must have length less than or equal to 256`);
      });

      it(`${via}: a violation names the position of the tag`, async () => {
        const err = await errorOf(() => apply([{ TagKey: 'ok', TagValue: 'v' }, { TagKey: '', TagValue: 'v' }]));
        assert.equal(err.name, 'ValidationException');
        assert.equal(err.message, "1 validation error detected: Value '' at 'tags.2.member.tagKey' failed to satisfy constraint: Member must have length greater than or equal to 1");
      });

      it(`${via}: 50 tags are accepted, 51 are too many`, async () => {
        const keyId = await apply(tagsNamed(50));
        assert.equal((await tagsOf(keyId)).length, 50);
        const err = await errorOf(() => apply(tagsNamed(51)));
        assert.equal(err.name, 'TagException');
        assert.equal(err.message, 'Too many tags');
      });

      it(`${via}: duplicate tag keys are refused`, async () => {
        const err = await errorOf(() => apply([{ TagKey: 'tag1', TagValue: 'value1' }, { TagKey: 'tag1', TagValue: 'another-value1' }]));
        assert.equal(err.name, 'TagException');
        assert.equal(err.message, 'Duplicate tag keys');
      });

      it(`${via}: tag keys beginning with aws:, in any case, are reserved`, async () => {
        for (const reserved of ['aws:key1', 'AWS:key1', 'Aws:key1', 'aWs:']) {
          const err = await errorOf(() => apply([{ TagKey: 'fine', TagValue: 'v' }, { TagKey: reserved, TagValue: 'value1' }]));
          assert.equal(err.name, 'TagException');
          assert.equal(err.message, 'Tags beginning with aws: are reserved');
        }
        const keyId = await apply([{ TagKey: 'awsome', TagValue: 'v' }, { TagKey: 'my:aws:key', TagValue: 'v' }]);
        assert.equal((await tagsOf(keyId)).length, 2, 'only the prefix is reserved');
      });
    }

    it('counts the tags a key already has toward the 50', async () => {
      const { KeyId } = await createKey(tagsNamed(49));
      await tag(KeyId!, [{ TagKey: 'fiftieth', TagValue: 'v' }]);
      assert.equal((await tagsOf(KeyId!)).length, 50);
      await tag(KeyId!, [{ TagKey: 'key00', TagValue: 'new value' }]);
      const tags = await t.kms.send(new ListResourceTagsCommand({ KeyId }));
      assert.equal(tags.Tags!.length, 50);
      assert.equal(tags.Tags!.find((x) => x.TagKey === 'key00')?.TagValue, 'new value', 'updating a value at the limit is fine');
      const err = await errorOf(() => tag(KeyId!, [{ TagKey: 'fifty-first', TagValue: 'v' }]));
      assert.equal(err.name, 'TagException');
      assert.equal(err.message, 'Too many tags');
      assert.equal((await t.kms.send(new ListResourceTagsCommand({ KeyId }))).Tags!.length, 50);
    });

    it('a refused TagResource changes nothing', async () => {
      const { KeyId } = await createKey([{ TagKey: 'keep', TagValue: 'original' }]);
      const err = await errorOf(() => tag(KeyId!, [{ TagKey: 'keep', TagValue: 'changed' }, { TagKey: 'aws:no', TagValue: 'v' }]));
      assert.equal(err.name, 'TagException');
      assert.deepEqual(await tagsOf(KeyId!), [{ TagKey: 'keep', TagValue: 'original' }]);
    });

    it('UntagResource validates the length of tag keys', async () => {
      const { KeyId } = await createKey();
      await t.kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['k'.repeat(128)] }));
      const err = await errorOf(() => t.kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['ok', 'k'.repeat(129)] })));
      assert.equal(err.name, 'ValidationException');
      // As AWS reports a list of strings: on the list, with every constraint of its members.
      assert.equal(err.message, `1 validation error detected: Value '[ok, ${'k'.repeat(129)}]' at 'tagKeys' failed to satisfy constraint: `
        + 'Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]');
      const empty = await errorOf(() => t.kms.send(new UntagResourceCommand({ KeyId, TagKeys: [''] })));
      assert.equal(empty.message, "1 validation error detected: Value '[]' at 'tagKeys' failed to satisfy constraint: "
        + 'Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 1]');
    });
  });

  describe('ListResourceTags paging', () => {
    let keyId: string;
    const all = tagsNamed(5, 'page');
    before(async () => {
      keyId = (await createKey(all)).KeyId!;
    });

    it('pages with Limit and Marker', async () => {
      const seen: Tag[] = [];
      let marker: string | undefined;
      const sizes: number[] = [];
      for (;;) {
        const out = await t.kms.send(new ListResourceTagsCommand({ KeyId: keyId, Limit: 2, ...(marker ? { Marker: marker } : {}) }));
        sizes.push(out.Tags!.length);
        seen.push(...out.Tags!);
        if (!out.Truncated) {
          assert.equal(out.NextMarker, undefined);
          break;
        }
        assert.equal(typeof out.NextMarker, 'string');
        marker = out.NextMarker;
      }
      assert.deepEqual(sizes, [2, 2, 1]);
      assert.deepEqual(byKey(seen), byKey(all));
    });

    it('accepts Limit 1 and 50 and rejects 0 and 51', async () => {
      const one = await t.kms.send(new ListResourceTagsCommand({ KeyId: keyId, Limit: 1 }));
      assert.equal(one.Tags!.length, 1);
      assert.equal(one.Truncated, true);
      const fifty = await t.kms.send(new ListResourceTagsCommand({ KeyId: keyId, Limit: 50 }));
      assert.equal(fifty.Tags!.length, 5);
      assert.equal(fifty.Truncated, false);
      const low = await errorOf(() => t.kms.send(new ListResourceTagsCommand({ KeyId: keyId, Limit: 0 })));
      assert.equal(low.name, 'ValidationException');
      assert.equal(low.message, "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
      const high = await errorOf(() => t.kms.send(new ListResourceTagsCommand({ KeyId: keyId, Limit: 51 })));
      assert.equal(high.name, 'ValidationException');
      assert.equal(high.message, "1 validation error detected: Value '51' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 50");
    });

    it('lists all 50 tags of a full key on one default page', async () => {
      const { KeyId } = await createKey(tagsNamed(50));
      const out = await t.kms.send(new ListResourceTagsCommand({ KeyId }));
      assert.equal(out.Tags!.length, 50);
      assert.equal(out.Truncated, false);
    });

    it('pages past tag keys that hold a NUL or a character past U+FFFF, every tag once', async () => {
      // A tag key may be any Unicode text. A NUL made the server refuse its own marker; keys that
      // order differently by UTF-16 unit and by code point ('a\uffff' before or after 'a\u{10000}')
      // must page all the same.
      const odd = [
        { TagKey: 'a\uffff', TagValue: '1' }, { TagKey: 'a\ue000', TagValue: '2' }, { TagKey: 'b\u0000', TagValue: '3' },
        { TagKey: 'a\u{10000}', TagValue: '4' }, { TagKey: 'c\ud83d\ude00', TagValue: '5' }, { TagKey: 'd', TagValue: '6' },
      ];
      const { KeyId } = await createKey(odd);
      assert.deepEqual(await pagedOneByOne(KeyId!), byKey(odd));
    });

    it('refuses tag keys, tag values and descriptions holding an unpaired surrogate, which no UTF-8 client could read back', async () => {
      // Before, they were kept, and the AWS CLI failed on the key's DescribeKey and ListResourceTags
      // ("surrogates not allowed") for every user.
      const { KeyId } = await createKey([]);
      for (const [operation, body, member] of [
        ['TagResource', { KeyId, Tags: [{ TagKey: 'k\ud800', TagValue: 'v' }] }, 'tags.1.member.tagKey'],
        ['TagResource', { KeyId, Tags: [{ TagKey: 'k', TagValue: 'x\udc00y' }] }, 'tags.1.member.tagValue'],
        ['UpdateKeyDescription', { KeyId, Description: 'x\ud800y' }, 'description'],
        ['CreateKey', { Description: '\udfff' }, 'description'],
        // Said once, and never quoted: the pattern's violation quoted the value, surrogate and all.
        ['CreateAlias', { AliasName: 'alias/x\ud800', TargetKeyId: KeyId }, 'aliasName'],
      ] as const) {
        const answer = await rawRequest(t.server.endpoint, t.credentials, operation, body);
        assert.equal(answer.status, 400, `${operation}: ${answer.text}`);
        assert.equal(answer.body.__type, 'ValidationException');
        assert.equal(answer.body.message, `1 validation error detected: Value at '${member}' failed to satisfy constraint: Member must be valid Unicode: it holds an unpaired surrogate`);
      }
      const described = await t.kms.send(new DescribeKeyCommand({ KeyId }));
      assert.equal(described.KeyMetadata!.Description, '');
      assert.deepEqual((await t.kms.send(new ListResourceTagsCommand({ KeyId }))).Tags, []);
    });

    it('pages past tag keys with a lone surrogate that a store written by an earlier release holds, and removes them', async () => {
      // Refused in requests now (above), such keys may still be in a store: written here as that
      // release wrote them, into the key's record beside the running server (which reads the
      // change, as it reads any other connection's).
      const KeyId = (await createKey([{ TagKey: 'd', TagValue: '6' }])).KeyId!;
      const odd = [{ TagKey: 'a\ud800', TagValue: '1' }, { TagKey: 'c\udc00x', TagValue: '4' }, { TagKey: 'd', TagValue: '6' }];
      const db = new Database(join(t.dataDir, 'coffer.db'));
      try {
        const row = db.prepare('SELECT record FROM keys WHERE key_id = ?').get(KeyId) as { record: string };
        const record = JSON.parse(row.record) as { tags: Tag[] };
        record.tags = odd;
        db.prepare('UPDATE keys SET record = ? WHERE key_id = ?').run(JSON.stringify(record), KeyId);
      } finally {
        db.close();
      }
      assert.deepEqual(await pagedOneByOne(KeyId), byKey(odd));
      // UntagResource's TagKeys are not held to the rule, so that such a tag can be removed.
      await t.kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['a\ud800', 'c\udc00x'] }));
      assert.deepEqual(await tagsOf(KeyId), [{ TagKey: 'd', TagValue: '6' }]);
    });

    it('rejects a marker it did not issue', async () => {
      const err = await errorOf(() => t.kms.send(new ListResourceTagsCommand({ KeyId: keyId, Marker: 'bogus' })));
      assert.equal(err.name, 'InvalidMarkerException');
    });
  });
});
