import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateKeyCommand, DecryptCommand, DeleteAliasCommand,
  DescribeKeyCommand, DisableKeyCommand, DisableKeyRotationCommand, EnableKeyCommand, EnableKeyRotationCommand,
  EncryptCommand, GenerateDataKeyCommand, GetKeyRotationStatusCommand, ListAliasesCommand, ListKeyRotationsCommand,
  ListResourceTagsCommand, RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand, TagResourceCommand,
  UntagResourceCommand, UpdateAliasCommand, UpdateKeyDescriptionCommand, type AliasListEntry, type KeyMetadata,
} from '@aws-sdk/client-kms';
import { createUser } from './support/principals.js';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

const ACCOUNT = '111122223333';
const arnOf = (keyId: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId}`;
const aliasArnOf = (name: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:${name}`;
const PREFIX_MESSAGE = 'Alias must start with the prefix "alias/". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html';

describe('aliases', () => {
  let t: TestServer;
  // Whole seconds, so epoch-seconds timestamps compare exactly.
  let clock = Math.floor(Date.now() / 1000) * 1000;
  let counter = 0;
  const fresh = (label: string) => `alias/${label}-${++counter}`;

  before(async () => {
    t = await startTestServer({ now: () => clock, schedulerIntervalMs: 2_000_000_000 });
  });
  after(() => t.dispose());

  const createKey = async (): Promise<KeyMetadata> => (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  const createAlias = (AliasName: string, TargetKeyId: string) => t.kms.send(new CreateAliasCommand({ AliasName, TargetKeyId }));
  const aliasesOf = async (keyId: string): Promise<AliasListEntry[]> =>
    (await t.kms.send(new ListAliasesCommand({ KeyId: keyId, Limit: 100 }))).Aliases!;
  const findAlias = async (name: string): Promise<AliasListEntry | undefined> => {
    let marker: string | undefined;
    for (;;) {
      const page = await t.kms.send(new ListAliasesCommand({ Limit: 100, ...(marker ? { Marker: marker } : {}) }));
      const found = page.Aliases!.find((a) => a.AliasName === name);
      if (found || !page.Truncated) return found;
      marker = page.NextMarker;
    }
  };

  describe('CreateAlias', () => {
    it('creates an alias that ListAliases shows with AWS fields', async () => {
      const key = await createKey();
      const name = fresh('created');
      const out = await createAlias(name, key.KeyId!);
      assert.equal(out.$metadata.httpStatusCode, 200);
      const entry = await findAlias(name);
      assert.deepEqual(entry, {
        AliasName: name,
        AliasArn: aliasArnOf(name),
        TargetKeyId: key.KeyId,
        CreationDate: new Date(clock),
        LastUpdatedDate: new Date(clock),
      });
    });

    it('accepts a target given as a key ARN', async () => {
      const key = await createKey();
      const name = fresh('by-arn');
      await createAlias(name, key.Arn!);
      assert.equal((await findAlias(name))?.TargetKeyId, key.KeyId);
    });

    it('requires the alias/ prefix, with AWS\'s message', async () => {
      const key = await createKey();
      for (const name of ['no-prefix', 'aliasfoo', 'Alias/foo']) {
        const err = await errorOf(() => createAlias(name, key.KeyId!));
        assert.equal(err.name, 'ValidationException');
        assert.equal(err.message, PREFIX_MESSAGE);
      }
      assert.deepEqual(await aliasesOf(key.KeyId!), []);
    });

    it('accepts letters, digits, /, _ and - and refuses other characters', async () => {
      const key = await createKey();
      const good = fresh('Good_name-09/with/slashes');
      await createAlias(good, key.KeyId!);
      assert.ok(await findAlias(good));
      for (const bad of ['alias/has space', 'alias/dot.ted', 'alias/star*', 'alias/ünï']) {
        const err = await errorOf(() => createAlias(bad, key.KeyId!));
        assert.equal(err.name, 'ValidationException');
        assert.equal(err.message, `1 validation error detected: Value '${bad}' at 'aliasName' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9:/_-]+$`);
      }
      const colon = await errorOf(() => createAlias('alias/my:alias', key.KeyId!));
      assert.equal(colon.name, 'ValidationException');
      assert.equal(colon.message, 'alias/my:alias contains invalid characters for an alias');
      assert.deepEqual((await aliasesOf(key.KeyId!)).map((a) => a.AliasName), [good]);
    });

    it('accepts a name of 256 characters and refuses 257', async () => {
      const key = await createKey();
      const longest = `alias/${'n'.repeat(250)}`;
      assert.equal(longest.length, 256);
      await createAlias(longest, key.KeyId!);
      assert.equal((await findAlias(longest))?.TargetKeyId, key.KeyId);
      assert.equal((await t.kms.send(new DescribeKeyCommand({ KeyId: longest }))).KeyMetadata!.KeyId, key.KeyId);
      const tooLong = `${longest}n`;
      const err = await errorOf(() => createAlias(tooLong, key.KeyId!));
      assert.equal(err.name, 'ValidationException');
      assert.equal(err.message, `1 validation error detected: Value '${tooLong}' at 'aliasName' failed to satisfy constraint: Member must have length less than or equal to 256`);
    });

    it('refuses the alias/aws/ prefix AWS reserves for its managed keys', async () => {
      const key = await createKey();
      for (const name of ['alias/aws/s3', 'alias/aws/mine']) {
        const err = await errorOf(() => createAlias(name, key.KeyId!));
        assert.equal(err.name, 'NotAuthorizedException');
      }
      assert.deepEqual(await aliasesOf(key.KeyId!), []);
    });

    it('refuses a name that exists, even for another key', async () => {
      const first = await createKey();
      const second = await createKey();
      const name = fresh('dup');
      await createAlias(name, first.KeyId!);
      for (const target of [first.KeyId!, second.KeyId!]) {
        const err = await errorOf(() => createAlias(name, target));
        assert.equal(err.name, 'AlreadyExistsException');
        assert.equal(err.message, `An alias with the name ${aliasArnOf(name)} already exists`);
      }
      assert.equal((await findAlias(name))?.TargetKeyId, first.KeyId);
    });

    it('refuses a target given as an alias name or alias ARN', async () => {
      const key = await createKey();
      const existing = fresh('target');
      await createAlias(existing, key.KeyId!);
      for (const target of [existing, aliasArnOf(existing)]) {
        const name = fresh('alias-of-alias');
        const err = await errorOf(() => createAlias(name, target));
        assert.equal(err.name, 'ValidationException');
        assert.equal(err.message, 'Aliases must refer to keys. Not aliases');
        assert.equal(await findAlias(name), undefined);
      }
    });

    it('refuses an unknown or malformed target with NotFoundException', async () => {
      const keyId = randomUUID();
      const unknown = await errorOf(() => createAlias(fresh('orphan'), keyId));
      assert.equal(unknown.name, 'NotFoundException');
      assert.equal(unknown.message, `Key '${arnOf(keyId)}' does not exist`);
      const malformed = await errorOf(() => createAlias(fresh('orphan'), 'not-a-key'));
      assert.equal(malformed.name, 'NotFoundException');
      assert.equal(malformed.message, "Invalid keyId 'not-a-key'");
    });

    it('accepts a disabled target and refuses one pending deletion', async () => {
      const key = await createKey();
      await t.kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
      const onDisabled = fresh('on-disabled');
      await createAlias(onDisabled, key.KeyId!);
      assert.ok(await findAlias(onDisabled));
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
      const name = fresh('on-pending');
      const err = await errorOf(() => createAlias(name, key.KeyId!));
      assert.equal(err.name, 'KMSInvalidStateException');
      assert.equal(err.message, `${key.Arn} is pending deletion.`);
      assert.equal(await findAlias(name), undefined);
    });

    it('gives a key at most 50 aliases, refused in AWS\'s words', async () => {
      const key = await createKey();
      for (let i = 0; i < 50; i++) await createAlias(fresh('quota'), key.KeyId!);
      const err = await errorOf(() => createAlias(fresh('quota'), key.KeyId!));
      assert.equal(err.name, 'LimitExceededException');
      assert.equal(err.message, 'Aliases per key quota for this account in this region is 50, current usage is 50.');
      assert.equal((await aliasesOf(key.KeyId!)).length, 50);
    });

    it('holds the quota of 50 against CreateAlias and UpdateAlias calls made at once', async () => {
      const key = await createKey();
      const created = await Promise.allSettled(Array.from({ length: 70 }, () => createAlias(fresh('burst'), key.KeyId!)));
      assert.equal(created.filter((r) => r.status === 'fulfilled').length, 50);
      for (const refused of created.filter((r) => r.status === 'rejected')) assert.equal((refused.reason as Error).name, 'LimitExceededException');
      assert.equal((await aliasesOf(key.KeyId!)).length, 50);
      // Moving aliases onto a key with room for 5 of them.
      const target = await createKey();
      for (let i = 0; i < 45; i++) await createAlias(fresh('target'), target.KeyId!);
      const moving = (await aliasesOf(key.KeyId!)).slice(0, 20).map((a) => a.AliasName!);
      const moved = await Promise.allSettled(moving.map((AliasName) => t.kms.send(new UpdateAliasCommand({ AliasName, TargetKeyId: target.KeyId! }))));
      assert.equal(moved.filter((r) => r.status === 'fulfilled').length, 5);
      assert.equal((await aliasesOf(target.KeyId!)).length, 50);
    });
  });

  describe('UpdateAlias', () => {
    it('retargets an alias: Encrypt by alias then uses the new key', async () => {
      const first = await createKey();
      const second = await createKey();
      const name = fresh('moving');
      await createAlias(name, first.KeyId!);
      const created = clock;
      const before = await t.kms.send(new EncryptCommand({ KeyId: name, Plaintext: Buffer.from('one') }));
      assert.equal(before.KeyId, first.Arn);

      clock += 60_000;
      await t.kms.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: second.KeyId }));
      const after_ = await t.kms.send(new EncryptCommand({ KeyId: name, Plaintext: Buffer.from('two') }));
      assert.equal(after_.KeyId, second.Arn);
      assert.equal((await t.kms.send(new DescribeKeyCommand({ KeyId: name }))).KeyMetadata!.KeyId, second.KeyId);
      const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: after_.CiphertextBlob }));
      assert.equal(opened.KeyId, second.Arn);
      const old = await t.kms.send(new DecryptCommand({ CiphertextBlob: before.CiphertextBlob }));
      assert.equal(old.KeyId, first.Arn, 'ciphertexts made before stay with the first key');

      const entry = await findAlias(name);
      assert.equal(entry?.TargetKeyId, second.KeyId);
      assert.deepEqual(entry?.CreationDate, new Date(created));
      assert.deepEqual(entry?.LastUpdatedDate, new Date(clock));
      assert.deepEqual((await aliasesOf(first.KeyId!)).map((a) => a.AliasName), []);
      assert.deepEqual((await aliasesOf(second.KeyId!)).map((a) => a.AliasName), [name]);
    });

    it('refuses an unknown alias with NotFoundException', async () => {
      const key = await createKey();
      const err = await errorOf(() => t.kms.send(new UpdateAliasCommand({ AliasName: 'alias/never-made', TargetKeyId: key.KeyId })));
      assert.equal(err.name, 'NotFoundException');
      assert.equal(err.message, `Alias ${aliasArnOf('alias/never-made')} is not found.`);
    });

    it('applies the name rules and refuses aliases, unknown keys and keys pending deletion as targets', async () => {
      const key = await createKey();
      const name = fresh('rules');
      await createAlias(name, key.KeyId!);
      const noPrefix = await errorOf(() => t.kms.send(new UpdateAliasCommand({ AliasName: 'rules', TargetKeyId: key.KeyId })));
      assert.equal(noPrefix.name, 'ValidationException');
      assert.equal(noPrefix.message, PREFIX_MESSAGE);
      const reserved = await errorOf(() => t.kms.send(new UpdateAliasCommand({ AliasName: 'alias/aws/s3', TargetKeyId: key.KeyId })));
      assert.equal(reserved.name, 'NotAuthorizedException');
      const toAlias = await errorOf(() => t.kms.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: name })));
      assert.equal(toAlias.name, 'ValidationException');
      assert.equal(toAlias.message, 'Aliases must refer to keys. Not aliases');
      const unknownKey = randomUUID();
      const toUnknown = await errorOf(() => t.kms.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: unknownKey })));
      assert.equal(toUnknown.name, 'NotFoundException');
      assert.equal(toUnknown.message, `Key '${arnOf(unknownKey)}' does not exist`);
      const pending = await createKey();
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: pending.KeyId, PendingWindowInDays: 7 }));
      const toPending = await errorOf(() => t.kms.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: pending.KeyId })));
      assert.equal(toPending.name, 'KMSInvalidStateException');
      assert.equal(toPending.message, `${pending.Arn} is pending deletion.`);
      assert.equal((await findAlias(name))?.TargetKeyId, key.KeyId);
      // A caller without permission is refused before the target's state is looked at, as CreateAlias does.
      const mallory = await createUser(t, 'mallory');
      try {
        const denied = await mallory.raw('UpdateAlias', { AliasName: name, TargetKeyId: pending.KeyId });
        assert.equal(denied.body.__type, 'AccessDeniedException', denied.text);
      } finally {
        mallory.kms.destroy();
      }
    });

    it('moves an alias only to a key of the same kind (symmetric, asymmetric, HMAC) and the same usage', async () => {
      const make = async (input: Record<string, string>) => (await t.kms.send(new CreateKeyCommand(input))).KeyMetadata!;
      const symmetric = await createKey();
      const rsaEncrypt = await make({ KeySpec: 'RSA_2048', KeyUsage: 'ENCRYPT_DECRYPT' });
      const rsaSign = await make({ KeySpec: 'RSA_2048', KeyUsage: 'SIGN_VERIFY' });
      const eccSign = await make({ KeySpec: 'ECC_NIST_P256', KeyUsage: 'SIGN_VERIFY' });
      const hmac = await make({ KeySpec: 'HMAC_256', KeyUsage: 'GENERATE_VERIFY_MAC' });
      const name = fresh('kinds');
      await createAlias(name, symmetric.KeyId!);
      for (const other of [rsaEncrypt, hmac]) {
        const err = await errorOf(() => t.kms.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: other.KeyId })));
        assert.equal(err.name, 'ValidationException');
        assert.match(err.message, /the new key must be of the same kind and usage/);
      }
      assert.equal((await findAlias(name))?.TargetKeyId, symmetric.KeyId);
      const signing = fresh('signing');
      await createAlias(signing, rsaSign.KeyId!);
      // Another asymmetric spec of the same usage is fine, as in AWS; another usage is not.
      await t.kms.send(new UpdateAliasCommand({ AliasName: signing, TargetKeyId: eccSign.KeyId }));
      assert.equal((await findAlias(signing))?.TargetKeyId, eccSign.KeyId);
      const err = await errorOf(() => t.kms.send(new UpdateAliasCommand({ AliasName: signing, TargetKeyId: rsaEncrypt.KeyId })));
      assert.equal(err.name, 'ValidationException');
    });

    it('moves an alias away from a key pending deletion', async () => {
      const pending = await createKey();
      const fresh_ = await createKey();
      const name = fresh('rescued');
      await createAlias(name, pending.KeyId!);
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: pending.KeyId, PendingWindowInDays: 7 }));
      await t.kms.send(new UpdateAliasCommand({ AliasName: name, TargetKeyId: fresh_.KeyId }));
      assert.equal((await findAlias(name))?.TargetKeyId, fresh_.KeyId);
    });

    it('moves no alias to a key that has 50, as CreateAlias adds none', async () => {
      const full = await createKey();
      const names: string[] = [];
      for (let i = 0; i < 50; i++) {
        names.push(fresh('full'));
        await createAlias(names[i]!, full.KeyId!);
      }
      const other = await createKey();
      const moving = fresh('moving');
      await createAlias(moving, other.KeyId!);
      const err = await errorOf(() => t.kms.send(new UpdateAliasCommand({ AliasName: moving, TargetKeyId: full.KeyId })));
      assert.equal(err.name, 'LimitExceededException');
      assert.equal(err.message, 'Aliases per key quota for this account in this region is 50, current usage is 50.');
      assert.equal((await findAlias(moving))?.TargetKeyId, other.KeyId);
      assert.equal((await aliasesOf(full.KeyId!)).length, 50);
      // An alias of the full key may still be pointed at it again.
      await t.kms.send(new UpdateAliasCommand({ AliasName: names[0]!, TargetKeyId: full.KeyId }));
    });
  });

  describe('DeleteAlias', () => {
    it('deletes an alias; deleting it again is NotFoundException', async () => {
      const key = await createKey();
      const name = fresh('deleted');
      await createAlias(name, key.KeyId!);
      await t.kms.send(new DeleteAliasCommand({ AliasName: name }));
      assert.equal(await findAlias(name), undefined);
      const described = await errorOf(() => t.kms.send(new DescribeKeyCommand({ KeyId: name })));
      assert.equal(described.name, 'NotFoundException');
      assert.equal(described.message, `Alias ${aliasArnOf(name)} is not found.`);
      const again = await errorOf(() => t.kms.send(new DeleteAliasCommand({ AliasName: name })));
      assert.equal(again.name, 'NotFoundException');
      assert.equal(again.message, `Alias ${aliasArnOf(name)} is not found.`);
      assert.equal((await t.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState, 'Enabled', 'the key stays');
      await createAlias(name, key.KeyId!);
      assert.ok(await findAlias(name), 'the name is free again');
    });

    it('deletes the alias of a key pending deletion', async () => {
      const key = await createKey();
      const name = fresh('pending-delete');
      await createAlias(name, key.KeyId!);
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
      await t.kms.send(new DeleteAliasCommand({ AliasName: name }));
      assert.equal(await findAlias(name), undefined);
    });

    it('requires the alias/ prefix', async () => {
      const err = await errorOf(() => t.kms.send(new DeleteAliasCommand({ AliasName: 'no-prefix' })));
      assert.equal(err.name, 'ValidationException');
      assert.equal(err.message, PREFIX_MESSAGE);
    });
  });

  describe('ListAliases', () => {
    let key: KeyMetadata;
    const names = ['alias/paged-a', 'alias/paged-b', 'alias/paged-c'];
    before(async () => {
      key = await createKey();
      for (const name of names) await createAlias(name, key.KeyId!);
    });

    it('filters by key id or key ARN', async () => {
      for (const id of [key.KeyId!, key.Arn!]) {
        const page = await t.kms.send(new ListAliasesCommand({ KeyId: id }));
        assert.deepEqual(page.Aliases!.map((a) => a.AliasName).sort(), names);
        assert.ok(page.Aliases!.every((a) => a.TargetKeyId === key.KeyId && a.AliasArn === aliasArnOf(a.AliasName!)));
        assert.equal(page.Truncated, false);
      }
      const other = await createKey();
      assert.deepEqual((await t.kms.send(new ListAliasesCommand({ KeyId: other.KeyId }))).Aliases, []);
    });

    it('pages with Limit and Marker', async () => {
      const seen: string[] = [];
      let marker: string | undefined;
      for (let page = 1; ; page++) {
        const out = await t.kms.send(new ListAliasesCommand({ KeyId: key.KeyId, Limit: 1, ...(marker ? { Marker: marker } : {}) }));
        assert.equal(out.Aliases!.length, 1);
        seen.push(out.Aliases![0]!.AliasName!);
        if (page < names.length) {
          assert.equal(out.Truncated, true);
          assert.equal(typeof out.NextMarker, 'string');
          marker = out.NextMarker;
        } else {
          assert.equal(out.Truncated, false);
          assert.equal(out.NextMarker, undefined);
          break;
        }
      }
      assert.deepEqual(seen.sort(), names);
      const two = await t.kms.send(new ListAliasesCommand({ KeyId: key.KeyId, Limit: 2 }));
      assert.equal(two.Aliases!.length, 2);
      assert.equal(two.Truncated, true);
      const rest = await t.kms.send(new ListAliasesCommand({ KeyId: key.KeyId, Limit: 2, Marker: two.NextMarker }));
      assert.equal(rest.Aliases!.length, 1);
      assert.equal(rest.Truncated, false);
    });

    it('pages through every alias without a filter', async () => {
      const seen: string[] = [];
      let marker: string | undefined;
      for (;;) {
        const out = await t.kms.send(new ListAliasesCommand({ Limit: 2, ...(marker ? { Marker: marker } : {}) }));
        seen.push(...out.Aliases!.map((a) => a.AliasName!));
        if (!out.Truncated) break;
        marker = out.NextMarker;
      }
      assert.equal(new Set(seen).size, seen.length);
      for (const name of names) assert.ok(seen.includes(name));
    });

    it('accepts Limit 1 and 100 and rejects 0 and 101', async () => {
      assert.equal((await t.kms.send(new ListAliasesCommand({ Limit: 1 }))).Aliases!.length, 1);
      assert.ok((await t.kms.send(new ListAliasesCommand({ Limit: 100 }))).Aliases!.length > 1);
      const low = await errorOf(() => t.kms.send(new ListAliasesCommand({ Limit: 0 })));
      assert.equal(low.name, 'ValidationException');
      assert.equal(low.message, "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
      const high = await errorOf(() => t.kms.send(new ListAliasesCommand({ Limit: 101 })));
      assert.equal(high.name, 'ValidationException');
      assert.equal(high.message, "1 validation error detected: Value '101' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 100");
    });

    it('rejects a marker it did not issue', async () => {
      const err = await errorOf(() => t.kms.send(new ListAliasesCommand({ Marker: 'bogus' })));
      assert.equal(err.name, 'InvalidMarkerException');
    });
  });

  describe('an alias as KeyId', () => {
    let key: KeyMetadata;
    const name = 'alias/in-use';
    before(async () => {
      key = await createKey();
      await createAlias(name, key.KeyId!);
    });

    for (const [form, id] of [['alias name', () => name], ['alias ARN', () => aliasArnOf(name)]] as const) {
      it(`works by ${form} for Encrypt, GenerateDataKey and DescribeKey`, async () => {
        const sealed = await t.kms.send(new EncryptCommand({ KeyId: id(), Plaintext: Buffer.from('via alias') }));
        assert.equal(sealed.KeyId, key.Arn);
        const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: sealed.CiphertextBlob, KeyId: id() }));
        assert.equal(Buffer.from(opened.Plaintext!).toString(), 'via alias');
        const dataKey = await t.kms.send(new GenerateDataKeyCommand({ KeyId: id(), KeySpec: 'AES_256' }));
        assert.equal(dataKey.KeyId, key.Arn);
        assert.equal(dataKey.Plaintext!.length, 32);
        assert.equal((await t.kms.send(new DescribeKeyCommand({ KeyId: id() }))).KeyMetadata!.Arn, key.Arn);
      });

      it(`is refused by ${form} where AWS takes only a key id or key ARN`, async () => {
        const KeyId = id();
        const calls: Array<[string, () => Promise<unknown>]> = [
          ['EnableKey', () => t.kms.send(new EnableKeyCommand({ KeyId }))],
          ['DisableKey', () => t.kms.send(new DisableKeyCommand({ KeyId }))],
          ['ScheduleKeyDeletion', () => t.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }))],
          ['CancelKeyDeletion', () => t.kms.send(new CancelKeyDeletionCommand({ KeyId }))],
          ['UpdateKeyDescription', () => t.kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'x' }))],
          ['TagResource', () => t.kms.send(new TagResourceCommand({ KeyId, Tags: [{ TagKey: 'k', TagValue: 'v' }] }))],
          ['UntagResource', () => t.kms.send(new UntagResourceCommand({ KeyId, TagKeys: ['k'] }))],
          ['ListResourceTags', () => t.kms.send(new ListResourceTagsCommand({ KeyId }))],
          ['GetKeyRotationStatus', () => t.kms.send(new GetKeyRotationStatusCommand({ KeyId }))],
          ['EnableKeyRotation', () => t.kms.send(new EnableKeyRotationCommand({ KeyId }))],
          ['DisableKeyRotation', () => t.kms.send(new DisableKeyRotationCommand({ KeyId }))],
          ['RotateKeyOnDemand', () => t.kms.send(new RotateKeyOnDemandCommand({ KeyId }))],
          ['ListKeyRotations', () => t.kms.send(new ListKeyRotationsCommand({ KeyId }))],
          ['ListAliases', () => t.kms.send(new ListAliasesCommand({ KeyId }))],
        ];
        for (const [operation, call] of calls) {
          const err = await errorOf(call);
          // An alias ARN as AWS answers one given to CreateGrant; an alias name as a malformed key id.
          if (form === 'alias ARN') {
            assert.equal(err.name, 'InvalidArnException', operation);
            assert.equal(err.message, 'Key Aliases are not supported for this operation.', operation);
          } else {
            assert.equal(err.name, 'NotFoundException', operation);
            assert.equal(err.message, `Invalid keyId '${name}'`, operation);
          }
        }
        // Nothing the refused calls asked for happened.
        const meta = (await t.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!;
        assert.equal(meta.KeyState, 'Enabled');
        assert.equal(meta.Description, '');
        assert.equal(meta.CurrentKeyMaterialId, key.CurrentKeyMaterialId);
        assert.deepEqual((await t.kms.send(new ListResourceTagsCommand({ KeyId: key.KeyId }))).Tags, []);
        assert.equal((await t.kms.send(new GetKeyRotationStatusCommand({ KeyId: key.KeyId }))).KeyRotationEnabled, false);
      });
    }
  });
});
