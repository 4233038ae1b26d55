import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand,
  DisableKeyCommand, EnableKeyCommand, EncryptCommand, GenerateDataKeyCommand, ListAliasesCommand,
  ListKeysCommand, ScheduleKeyDeletionCommand, UpdateKeyDescriptionCommand,
  type CreateKeyCommandInput, type KeyMetadata,
} from '@aws-sdk/client-kms';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

const DAY_MS = 86_400_000;
const ACCOUNT = '111122223333';
const arnOf = (keyId: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:key/${keyId}`;
const aliasArnOf = (name: string) => `arn:aws:kms:us-east-1:${ACCOUNT}:${name}`;

describe('keys', () => {
  let t: TestServer;
  // Whole seconds, so epoch-seconds timestamps compare exactly.
  let clock = Math.floor(Date.now() / 1000) * 1000;

  before(async () => {
    // The background pass must not run while the tests move the clock.
    t = await startTestServer({ now: () => clock, schedulerIntervalMs: 2_000_000_000 });
  });
  after(() => t.dispose());

  const createKey = async (input: CreateKeyCommandInput = {}): Promise<KeyMetadata> =>
    (await t.kms.send(new CreateKeyCommand(input))).KeyMetadata!;
  const describe_ = async (keyId: string): Promise<KeyMetadata> =>
    (await t.kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata!;
  const encrypt = async (keyId: string) =>
    (await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('secret') }))).CiphertextBlob!;

  describe('CreateKey', () => {
    it('returns every field of KeyMetadata with AWS defaults', async () => {
      const meta = await createKey();
      assert.match(meta.KeyId!, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
      assert.equal(meta.AWSAccountId, ACCOUNT);
      assert.equal(meta.Arn, arnOf(meta.KeyId!));
      assert.deepEqual(meta.CreationDate, new Date(clock));
      assert.equal(meta.Enabled, true);
      assert.equal(meta.Description, '');
      assert.equal(meta.KeyUsage, 'ENCRYPT_DECRYPT');
      assert.equal(meta.KeyState, 'Enabled');
      assert.equal(meta.Origin, 'AWS_KMS');
      assert.equal(meta.KeyManager, 'CUSTOMER');
      assert.equal(meta.CustomerMasterKeySpec, 'SYMMETRIC_DEFAULT');
      assert.equal(meta.KeySpec, 'SYMMETRIC_DEFAULT');
      assert.deepEqual(meta.EncryptionAlgorithms, ['SYMMETRIC_DEFAULT']);
      assert.equal(meta.MultiRegion, false);
      assert.match(meta.CurrentKeyMaterialId!, /^[0-9a-f]{64}$/);
      assert.equal(meta.DeletionDate, undefined);
      assert.deepEqual(await describe_(meta.KeyId!), meta);
    });

    it('accepts the explicit defaults', async () => {
      const meta = await createKey({
        Description: 'explicit', KeyUsage: 'ENCRYPT_DECRYPT', KeySpec: 'SYMMETRIC_DEFAULT', Origin: 'AWS_KMS', MultiRegion: false,
      });
      assert.equal(meta.Description, 'explicit');
      assert.equal(meta.KeySpec, 'SYMMETRIC_DEFAULT');
      assert.equal(meta.MultiRegion, false);
      const legacy = await createKey({ CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT' });
      assert.equal(legacy.KeySpec, 'SYMMETRIC_DEFAULT');
    });

    it('gives each key its own id and key material', async () => {
      const a = await createKey();
      const b = await createKey();
      assert.notEqual(a.KeyId, b.KeyId);
      assert.notEqual(a.CurrentKeyMaterialId, b.CurrentKeyMaterialId);
    });

    it('accepts a description of 8192 characters and rejects 8193', async () => {
      const long = 'd'.repeat(8192);
      assert.equal((await createKey({ Description: long })).Description, long);
      const err = await errorOf(() => createKey({ Description: `${long}d` }));
      assert.equal(err.name, 'ValidationException');
      assert.equal(err.message, `1 validation error detected: Value '${long}d' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192`);
    });

    for (const [field, member] of [['KeySpec', 'keySpec'], ['KeyUsage', 'keyUsage'], ['Origin', 'origin'], ['CustomerMasterKeySpec', 'customerMasterKeySpec']] as const) {
      it(`rejects a ${field} outside AWS's enum`, async () => {
        const err = await errorOf(() => createKey({ [field]: 'NOT_A_VALUE' } as CreateKeyCommandInput));
        assert.equal(err.name, 'ValidationException');
        assert.match(err.message, new RegExp(`^1 validation error detected: Value 'NOT_A_VALUE' at '${member}' failed to satisfy constraint: Member must satisfy enum value set: \\[`));
      });
    }

    it('rejects KeySpec together with CustomerMasterKeySpec', async () => {
      const err = await errorOf(() => createKey({ KeySpec: 'SYMMETRIC_DEFAULT', CustomerMasterKeySpec: 'SYMMETRIC_DEFAULT' }));
      assert.equal(err.name, 'ValidationException');
    });

    it('rejects a key usage a symmetric key cannot have', async () => {
      const err = await errorOf(() => createKey({ KeyUsage: 'SIGN_VERIFY' }));
      assert.equal(err.name, 'ValidationException');
      assert.equal(err.message, 'KeyUsage SIGN_VERIFY is not compatible with KeySpec SYMMETRIC_DEFAULT');
    });

    it('requires KeyUsage for any key spec but SYMMETRIC_DEFAULT', async () => {
      const err = await errorOf(() => createKey({ KeySpec: 'HMAC_256' }));
      assert.equal(err.name, 'ValidationException');
      assert.equal(err.message, 'You must specify a KeyUsage value for all KMS keys except for symmetric encryption keys.');
    });

    it('rejects MultiRegion that is not a boolean', async () => {
      const err = await errorOf(() => createKey({ MultiRegion: 'yes' as unknown as boolean }));
      assert.equal(err.name, 'SerializationException');
    });

    it('refuses what the server does not implement rather than pretend', async () => {
      assert.equal((await errorOf(() => createKey({ Origin: 'AWS_CLOUDHSM' }))).name, 'UnsupportedOperationException');
      assert.equal((await errorOf(() => createKey({ Origin: 'EXTERNAL_KEY_STORE' }))).name, 'UnsupportedOperationException');
      // A custom key store named by id: there is none, as in an AWS account without them.
      const store = await errorOf(() => createKey({ CustomKeyStoreId: 'cks-1234567890abcdef0' }));
      assert.equal(store.name, 'CustomKeyStoreNotFoundException');
      assert.equal(store.message, "Custom key store 'cks-1234567890abcdef0' does not exist in this account and Region.");
      // Also as a key is asked for in one: with its origin, whose refusal would say less.
      for (const input of [{ Origin: 'AWS_CLOUDHSM' }, { Origin: 'EXTERNAL_KEY_STORE', XksKeyId: 'ext-key-1' }] as const) {
        assert.equal((await errorOf(() => createKey({ CustomKeyStoreId: 'cks-1234567890abcdef0', ...input }))).name, 'CustomKeyStoreNotFoundException');
      }
      // The message names what was refused, not the default origin the request left alone.
      const xks = await errorOf(() => createKey({ XksKeyId: 'xks-key-1' }));
      assert.equal(xks.name, 'UnsupportedOperationException');
      assert.equal(xks.message, 'Custom key stores are not supported by this server: CreateKey takes no XksKeyId.');
    });

    it('validates XksKeyId against its pattern before refusing custom key stores', async () => {
      const err = await errorOf(() => createKey({ XksKeyId: 'key id' }));
      assert.equal(err.name, 'ValidationException');
      assert.equal(err.message,
        "1 validation error detected: Value 'key id' at 'xksKeyId' failed to satisfy constraint: Member must satisfy regular expression pattern: ^[a-zA-Z0-9-_.]+$");
    });
  });

  describe('DescribeKey', () => {
    let meta: KeyMetadata;
    before(async () => {
      meta = await createKey({ Description: 'described' });
      await t.kms.send(new CreateAliasCommand({ AliasName: 'alias/described', TargetKeyId: meta.KeyId }));
    });

    for (const [form, id] of [
      ['key id', () => meta.KeyId!],
      ['key ARN', () => meta.Arn!],
      ['alias name', () => 'alias/described'],
      ['alias ARN', () => aliasArnOf('alias/described')],
    ] as const) {
      it(`finds the key by its ${form}`, async () => {
        const found = await describe_(id());
        assert.equal(found.KeyId, meta.KeyId);
        assert.equal(found.Arn, meta.Arn);
        assert.equal(found.Description, 'described');
      });
    }

    it('says a malformed key id is invalid', async () => {
      for (const id of ['not-a-key', meta.KeyId!.replaceAll('-', ''), 'mrk-not-hex']) {
        const err = await errorOf(() => describe_(id));
        assert.equal(err.name, 'NotFoundException');
        assert.equal(err.message, `Invalid keyId '${id}'`);
      }
    });

    it('says an ARN of another region is invalid', async () => {
      const err = await errorOf(() => describe_(`arn:aws:kms:us-west-2:${ACCOUNT}:key/${meta.KeyId}`));
      assert.equal(err.name, 'NotFoundException');
      assert.equal(err.message, 'Invalid arn us-west-2');
    });

    it('names the whole ARN when it has no Region, which no KMS key ARN lacks', async () => {
      for (const arn of [`arn:aws:kms::${ACCOUNT}:key/${meta.KeyId}`, `arn:aws:kms::${ACCOUNT}:alias/described`]) {
        const err = await errorOf(() => describe_(arn));
        assert.equal(err.name, 'NotFoundException');
        assert.equal(err.message, `Invalid arn ${arn}`);
      }
    });

    it('names the full ARN of an unknown key, given by id or ARN', async () => {
      const keyId = randomUUID();
      for (const id of [keyId, arnOf(keyId)]) {
        const err = await errorOf(() => describe_(id));
        assert.equal(err.name, 'NotFoundException');
        assert.equal(err.message, `Key '${arnOf(keyId)}' does not exist`);
      }
    });

    it('names the alias ARN of an unknown alias, given by name or ARN', async () => {
      for (const id of ['alias/missing', aliasArnOf('alias/missing')]) {
        const err = await errorOf(() => describe_(id));
        assert.equal(err.name, 'NotFoundException');
        assert.equal(err.message, `Alias ${aliasArnOf('alias/missing')} is not found.`);
      }
    });
  });

  describe('ListKeys', () => {
    it('pages through every key with Limit, Marker and Truncated', async () => {
      const created = new Set<string>();
      for (let i = 0; i < 5; i++) created.add((await createKey()).KeyId!);
      const seen: string[] = [];
      let marker: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await t.kms.send(new ListKeysCommand({ Limit: 2, ...(marker ? { Marker: marker } : {}) }));
        pages++;
        for (const k of page.Keys!) {
          assert.equal(k.KeyArn, arnOf(k.KeyId!));
          seen.push(k.KeyId!);
        }
        if (!page.Truncated) {
          assert.equal(page.NextMarker, undefined);
          assert.ok(page.Keys!.length <= 2);
          break;
        }
        assert.equal(page.Keys!.length, 2);
        assert.equal(typeof page.NextMarker, 'string');
        marker = page.NextMarker;
      }
      assert.ok(pages >= 3, `expected several pages, got ${pages}`);
      assert.equal(new Set(seen).size, seen.length, 'no key is listed twice');
      for (const id of created) assert.ok(seen.includes(id), `${id} is listed`);
      const all = await t.kms.send(new ListKeysCommand({ Limit: 1000 }));
      assert.equal(all.Truncated, false);
      assert.deepEqual(all.Keys!.map((k) => k.KeyId).sort(), [...seen].sort());
    });

    it('accepts Limit 1 and 1000', async () => {
      const one = await t.kms.send(new ListKeysCommand({ Limit: 1 }));
      assert.equal(one.Keys!.length, 1);
      assert.equal(one.Truncated, true);
      const most = await t.kms.send(new ListKeysCommand({ Limit: 1000 }));
      assert.equal(most.Truncated, false);
    });

    it('rejects Limit 0 and 1001', async () => {
      const low = await errorOf(() => t.kms.send(new ListKeysCommand({ Limit: 0 })));
      assert.equal(low.name, 'ValidationException');
      assert.equal(low.message, "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
      const high = await errorOf(() => t.kms.send(new ListKeysCommand({ Limit: 1001 })));
      assert.equal(high.name, 'ValidationException');
      assert.equal(high.message, "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000");
    });

    it('rejects a marker it did not issue', async () => {
      for (const marker of ['bogus', 'not a marker!']) {
        const err = await errorOf(() => t.kms.send(new ListKeysCommand({ Marker: marker })));
        assert.equal(err.name, 'InvalidMarkerException');
      }
    });
  });

  describe('UpdateKeyDescription', () => {
    it('changes the description, up to 8192 characters', async () => {
      const { KeyId } = await createKey({ Description: 'before' });
      await t.kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'after' }));
      assert.equal((await describe_(KeyId!)).Description, 'after');
      await t.kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: '' }));
      assert.equal((await describe_(KeyId!)).Description, '');
      const long = 'u'.repeat(8192);
      await t.kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: long }));
      assert.equal((await describe_(KeyId!)).Description, long);
      const err = await errorOf(() => t.kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: `${long}u` })));
      assert.equal(err.name, 'ValidationException');
      assert.equal(err.message, `1 validation error detected: Value '${long}u' at 'description' failed to satisfy constraint: Member must have length less than or equal to 8192`);
      assert.equal((await describe_(KeyId!)).Description, long);
    });

    it('works on a disabled key but not on one pending deletion', async () => {
      const { KeyId, Arn } = await createKey();
      await t.kms.send(new DisableKeyCommand({ KeyId }));
      await t.kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'while disabled' }));
      assert.equal((await describe_(KeyId!)).Description, 'while disabled');
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      const err = await errorOf(() => t.kms.send(new UpdateKeyDescriptionCommand({ KeyId, Description: 'no' })));
      assert.equal(err.name, 'KMSInvalidStateException');
      assert.equal(err.message, `${Arn} is pending deletion.`);
    });
  });

  describe('key states', () => {
    it('EnableKey and DisableKey move between Enabled and Disabled, idempotently', async () => {
      const { KeyId } = await createKey();
      await t.kms.send(new DisableKeyCommand({ KeyId }));
      let meta = await describe_(KeyId!);
      assert.equal(meta.KeyState, 'Disabled');
      assert.equal(meta.Enabled, false);
      await t.kms.send(new DisableKeyCommand({ KeyId }));
      assert.equal((await describe_(KeyId!)).KeyState, 'Disabled');
      await t.kms.send(new EnableKeyCommand({ KeyId }));
      meta = await describe_(KeyId!);
      assert.equal(meta.KeyState, 'Enabled');
      assert.equal(meta.Enabled, true);
      await t.kms.send(new EnableKeyCommand({ KeyId }));
      assert.equal((await describe_(KeyId!)).KeyState, 'Enabled');
    });

    it('refuses cryptography with a disabled key with DisabledException, and allows it again once enabled', async () => {
      const { KeyId, Arn } = await createKey();
      const blob = await encrypt(KeyId!);
      await t.kms.send(new DisableKeyCommand({ KeyId }));
      for (const call of [
        () => encrypt(KeyId!),
        () => t.kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' })),
        () => t.kms.send(new DecryptCommand({ CiphertextBlob: blob })),
      ]) {
        const err = await errorOf(call);
        assert.equal(err.name, 'DisabledException');
        assert.equal(err.message, `${Arn} is disabled.`);
      }
      await t.kms.send(new EnableKeyCommand({ KeyId }));
      const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'secret');
    });

    it('ScheduleKeyDeletion rejects PendingWindowInDays 6 and 31 with KMS\'s message, 0 and 366 as members out of range', async () => {
      const { KeyId } = await createKey();
      const schedule = (days: number) => errorOf(() => t.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: days })));
      // AWS's model admits 1..365; KMS then allows 7..30 (ValidationException: PendingWindowInDays must be between 7 and 30).
      for (const days of [1, 6, 31, 365]) {
        const err = await schedule(days);
        assert.equal(err.name, 'ValidationException');
        assert.equal(err.message, 'PendingWindowInDays must be between 7 and 30');
      }
      const low = await schedule(0);
      assert.equal(low.name, 'ValidationException');
      assert.equal(low.message, "1 validation error detected: Value '0' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value greater than or equal to 1");
      const high = await schedule(366);
      assert.equal(high.name, 'ValidationException');
      assert.equal(high.message, "1 validation error detected: Value '366' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value less than or equal to 365");
      assert.equal((await describe_(KeyId!)).KeyState, 'Enabled');
    });

    for (const days of [7, 30, undefined]) {
      it(`ScheduleKeyDeletion with ${days === undefined ? 'the default window (30 days)' : `a window of ${days} days`}`, async () => {
        const { KeyId, Arn } = await createKey();
        const out = await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId, ...(days === undefined ? {} : { PendingWindowInDays: days }) }));
        const window = days ?? 30;
        assert.equal(out.KeyId, Arn);
        assert.equal(out.KeyState, 'PendingDeletion');
        assert.equal(out.PendingWindowInDays, window);
        assert.deepEqual(out.DeletionDate, new Date(clock + window * DAY_MS));
        const meta = await describe_(KeyId!);
        assert.equal(meta.KeyState, 'PendingDeletion');
        assert.equal(meta.Enabled, false);
        assert.deepEqual(meta.DeletionDate, out.DeletionDate);
      });
    }

    it('a key pending deletion refuses a second schedule, EnableKey, DisableKey and cryptography', async () => {
      const { KeyId, Arn } = await createKey();
      const blob = await encrypt(KeyId!);
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      for (const call of [
        () => t.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 })),
        () => t.kms.send(new EnableKeyCommand({ KeyId })),
        () => t.kms.send(new DisableKeyCommand({ KeyId })),
        () => encrypt(KeyId!),
        () => t.kms.send(new GenerateDataKeyCommand({ KeyId, KeySpec: 'AES_256' })),
        () => t.kms.send(new DecryptCommand({ CiphertextBlob: blob })),
      ]) {
        const err = await errorOf(call);
        assert.equal(err.name, 'KMSInvalidStateException');
        assert.equal(err.message, `${Arn} is pending deletion.`);
      }
      assert.equal((await describe_(KeyId!)).KeyState, 'PendingDeletion');
    });

    for (const from of ['Enabled', 'Disabled'] as const) {
      it(`CancelKeyDeletion of a key scheduled while ${from} leaves it Disabled`, async () => {
        const { KeyId, Arn } = await createKey();
        if (from === 'Disabled') await t.kms.send(new DisableKeyCommand({ KeyId }));
        await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
        const out = await t.kms.send(new CancelKeyDeletionCommand({ KeyId }));
        assert.equal(out.KeyId, Arn);
        const meta = await describe_(KeyId!);
        assert.equal(meta.KeyState, 'Disabled');
        assert.equal(meta.Enabled, false);
        assert.equal(meta.DeletionDate, undefined);
        await t.kms.send(new EnableKeyCommand({ KeyId }));
        assert.equal((await describe_(KeyId!)).KeyState, 'Enabled');
        await encrypt(KeyId!);
      });
    }

    it('CancelKeyDeletion of a key not pending deletion is KMSInvalidStateException', async () => {
      const { KeyId, Arn } = await createKey();
      for (const state of ['Enabled', 'Disabled']) {
        if (state === 'Disabled') await t.kms.send(new DisableKeyCommand({ KeyId }));
        const err = await errorOf(() => t.kms.send(new CancelKeyDeletionCommand({ KeyId })));
        assert.equal(err.name, 'KMSInvalidStateException');
        assert.equal(err.message, `${Arn} is not pending deletion.`);
        assert.equal((await describe_(KeyId!)).KeyState, state);
      }
    });

    it('state operations on an unknown key are NotFoundException', async () => {
      const keyId = randomUUID();
      for (const call of [
        () => t.kms.send(new EnableKeyCommand({ KeyId: keyId })),
        () => t.kms.send(new DisableKeyCommand({ KeyId: keyId })),
        () => t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId })),
        () => t.kms.send(new CancelKeyDeletionCommand({ KeyId: keyId })),
      ]) {
        const err = await errorOf(call);
        assert.equal(err.name, 'NotFoundException');
        assert.equal(err.message, `Key '${arnOf(keyId)}' does not exist`);
      }
    });
  });

  describe('the deletion sweeper', () => {
    it('deletes a key, its aliases and its ciphertexts once the window has passed, and nothing before', async () => {
      const doomed = await createKey();
      const blob = await encrypt(doomed.KeyId!);
      await t.kms.send(new CreateAliasCommand({ AliasName: 'alias/doomed', TargetKeyId: doomed.KeyId }));
      const survivor = await createKey();
      await t.kms.send(new CreateAliasCommand({ AliasName: 'alias/survivor', TargetKeyId: survivor.KeyId }));
      const later = await createKey();
      const scheduled = await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: doomed.KeyId, PendingWindowInDays: 7 }));
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: later.KeyId, PendingWindowInDays: 8 }));
      const deletionDate = scheduled.DeletionDate!.getTime();

      await t.server.runScheduledWork(deletionDate - 1);
      assert.equal((await describe_(doomed.KeyId!)).KeyState, 'PendingDeletion');
      const aliasesBefore = (await t.kms.send(new ListAliasesCommand({ KeyId: doomed.KeyId }))).Aliases!;
      assert.deepEqual(aliasesBefore.map((a) => a.AliasName), ['alias/doomed']);

      clock = deletionDate + 1;
      await t.server.runScheduledWork(deletionDate + 1);
      const err = await errorOf(() => describe_(doomed.KeyId!));
      assert.equal(err.name, 'NotFoundException');
      assert.equal(err.message, `Key '${doomed.Arn}' does not exist`);
      const aliasErr = await errorOf(() => describe_('alias/doomed'));
      assert.equal(aliasErr.name, 'NotFoundException');
      const names = (await t.kms.send(new ListAliasesCommand({ Limit: 100 }))).Aliases!.map((a) => a.AliasName);
      assert.ok(!names.includes('alias/doomed'), 'the alias went with the key');
      assert.ok(names.includes('alias/survivor'), 'other aliases stay');
      const keys = (await t.kms.send(new ListKeysCommand({ Limit: 1000 }))).Keys!.map((k) => k.KeyId);
      assert.ok(!keys.includes(doomed.KeyId), 'ListKeys no longer lists it');
      // As AWS answers a ciphertext whose key does not exist (any more).
      const decryptErr = await errorOf(() => t.kms.send(new DecryptCommand({ CiphertextBlob: blob })));
      assert.equal(decryptErr.name, 'AccessDeniedException');
      assert.equal(decryptErr.message, 'The ciphertext refers to a customer master key that does not exist, does not exist in this region, or you are not allowed to access.');

      assert.equal((await describe_(survivor.KeyId!)).KeyState, 'Enabled');
      assert.equal((await describe_(later.KeyId!)).KeyState, 'PendingDeletion', 'a key whose window is still open stays');
    });

    it('does not delete a key whose deletion was cancelled', async () => {
      const { KeyId } = await createKey();
      const scheduled = await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId, PendingWindowInDays: 7 }));
      await t.kms.send(new CancelKeyDeletionCommand({ KeyId }));
      await t.server.runScheduledWork(scheduled.DeletionDate!.getTime() + DAY_MS);
      assert.equal((await describe_(KeyId!)).KeyState, 'Disabled');
    });
  });
});
