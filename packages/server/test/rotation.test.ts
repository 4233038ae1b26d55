import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand, CreateKeyCommand, DecryptCommand, DescribeKeyCommand, DisableKeyCommand, DisableKeyRotationCommand,
  EnableKeyCommand, EnableKeyRotationCommand, EncryptCommand, GenerateDataKeyCommand, GetKeyRotationStatusCommand,
  ListKeyRotationsCommand, ReEncryptCommand, RotateKeyOnDemandCommand, ScheduleKeyDeletionCommand,
  type KeyMetadata, type ListKeyRotationsCommandInput, type RotationsListEntry,
} from '@aws-sdk/client-kms';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

const DAY_MS = 86_400_000;
const arnOf = (keyId: string) => `arn:aws:kms:us-east-1:111122223333:key/${keyId}`;

describe('key rotation', () => {
  let t: TestServer;
  // Whole seconds, so epoch-seconds timestamps compare exactly.
  let clock = Math.floor(Date.now() / 1000) * 1000;

  before(async () => {
    // The background pass must not run while the tests move the clock.
    t = await startTestServer({ now: () => clock, schedulerIntervalMs: 2_000_000_000 });
  });
  after(() => t.dispose());

  const createKey = async (): Promise<KeyMetadata> => (await t.kms.send(new CreateKeyCommand({}))).KeyMetadata!;
  const status = (KeyId: string) => t.kms.send(new GetKeyRotationStatusCommand({ KeyId }));
  const materialOf = async (KeyId: string) => (await t.kms.send(new DescribeKeyCommand({ KeyId }))).KeyMetadata!.CurrentKeyMaterialId!;
  const rotations = async (input: ListKeyRotationsCommandInput): Promise<RotationsListEntry[]> => {
    const out = await t.kms.send(new ListKeyRotationsCommand(input));
    assert.equal(out.Truncated, false);
    return out.Rotations!;
  };

  describe('automatic rotation settings', () => {
    it('a new key has automatic rotation off, with no period or date', async () => {
      const key = await createKey();
      const out = await status(key.KeyId!);
      assert.equal(out.KeyRotationEnabled, false);
      assert.equal(out.KeyId, key.Arn);
      assert.equal(out.RotationPeriodInDays, undefined);
      assert.equal(out.NextRotationDate, undefined);
      assert.equal(out.OnDemandRotationStartDate, undefined);
    });

    it('EnableKeyRotation defaults to a period of 365 days', async () => {
      const key = await createKey();
      await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
      const out = await status(key.KeyId!);
      assert.equal(out.KeyRotationEnabled, true);
      assert.equal(out.KeyId, key.Arn);
      assert.equal(out.RotationPeriodInDays, 365);
      assert.deepEqual(out.NextRotationDate, new Date(clock + 365 * DAY_MS));
    });

    for (const days of [90, 2560]) {
      it(`EnableKeyRotation accepts a period of ${days} days`, async () => {
        const key = await createKey();
        await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.Arn, RotationPeriodInDays: days }));
        const out = await status(key.Arn!);
        assert.equal(out.KeyRotationEnabled, true);
        assert.equal(out.RotationPeriodInDays, days);
        assert.deepEqual(out.NextRotationDate, new Date(clock + days * DAY_MS));
      });
    }

    it('EnableKeyRotation rejects periods of 89 and 2561 days', async () => {
      const key = await createKey();
      const low = await errorOf(() => t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 89 })));
      assert.equal(low.name, 'ValidationException');
      assert.equal(low.message, "1 validation error detected: Value '89' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value greater than or equal to 90");
      const high = await errorOf(() => t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 2561 })));
      assert.equal(high.name, 'ValidationException');
      assert.equal(high.message, "1 validation error detected: Value '2561' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value less than or equal to 2560");
      assert.equal((await status(key.KeyId!)).KeyRotationEnabled, false);
    });

    it('EnableKeyRotation again changes the period', async () => {
      const key = await createKey();
      await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 100 }));
      await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 200 }));
      assert.equal((await status(key.KeyId!)).RotationPeriodInDays, 200);
    });

    it('DisableKeyRotation turns it off, and the period and date go away', async () => {
      const key = await createKey();
      await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 180 }));
      await t.kms.send(new DisableKeyRotationCommand({ KeyId: key.KeyId }));
      const out = await status(key.KeyId!);
      assert.equal(out.KeyRotationEnabled, false);
      assert.equal(out.KeyId, key.Arn);
      assert.equal(out.RotationPeriodInDays, undefined);
      assert.equal(out.NextRotationDate, undefined);
      await t.kms.send(new DisableKeyRotationCommand({ KeyId: key.KeyId }));
      assert.equal((await status(key.KeyId!)).KeyRotationEnabled, false, 'disabling twice is fine');
    });

    it('refuses an unknown key with NotFoundException', async () => {
      const keyId = randomUUID();
      for (const call of [
        () => t.kms.send(new EnableKeyRotationCommand({ KeyId: keyId })),
        () => t.kms.send(new DisableKeyRotationCommand({ KeyId: keyId })),
        () => status(keyId),
        () => t.kms.send(new RotateKeyOnDemandCommand({ KeyId: keyId })),
        () => t.kms.send(new ListKeyRotationsCommand({ KeyId: keyId })),
      ]) {
        const err = await errorOf(call);
        assert.equal(err.name, 'NotFoundException');
        assert.equal(err.message, `Key '${arnOf(keyId)}' does not exist`);
      }
    });
  });

  describe('rotation and key state', () => {
    it('a disabled key refuses rotation changes with DisabledException but reports its status', async () => {
      const key = await createKey();
      await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
      await t.kms.send(new DisableKeyCommand({ KeyId: key.KeyId }));
      for (const call of [
        () => t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId })),
        () => t.kms.send(new DisableKeyRotationCommand({ KeyId: key.KeyId })),
        () => t.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })),
      ]) {
        const err = await errorOf(call);
        assert.equal(err.name, 'DisabledException');
        assert.equal(err.message, `${key.Arn} is disabled.`);
      }
      assert.equal((await status(key.KeyId!)).KeyRotationEnabled, true);
      assert.deepEqual(await rotations({ KeyId: key.KeyId }), []);
      assert.equal(await materialOf(key.KeyId!), key.CurrentKeyMaterialId);
    });

    it('a key pending deletion refuses rotation changes with KMSInvalidStateException', async () => {
      const key = await createKey();
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
      for (const call of [
        () => t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId })),
        () => t.kms.send(new DisableKeyRotationCommand({ KeyId: key.KeyId })),
        () => t.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })),
      ]) {
        const err = await errorOf(call);
        assert.equal(err.name, 'KMSInvalidStateException');
        assert.equal(err.message, `${key.Arn} is pending deletion.`);
      }
      assert.equal((await status(key.KeyId!)).KeyRotationEnabled, false);
    });

    it('a key pending deletion reports rotation off; cancelling the deletion shows its setting again', async () => {
      const key = await createKey();
      await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 100 }));
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 7 }));
      const pending = await status(key.KeyId!);
      assert.equal(pending.KeyRotationEnabled, false);
      assert.equal(pending.RotationPeriodInDays, undefined);
      assert.equal(pending.NextRotationDate, undefined);
      await t.kms.send(new CancelKeyDeletionCommand({ KeyId: key.KeyId }));
      const cancelled = await status(key.KeyId!);
      assert.equal(cancelled.KeyRotationEnabled, true);
      assert.equal(cancelled.RotationPeriodInDays, 100);
    });
  });

  describe('RotateKeyOnDemand', () => {
    it('makes new key material current and answers with the key ARN', async () => {
      const key = await createKey();
      const out = await t.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
      assert.equal(out.KeyId, key.Arn);
      const material = await materialOf(key.KeyId!);
      assert.match(material, /^[0-9a-f]{64}$/);
      assert.notEqual(material, key.CurrentKeyMaterialId);
      const st = await status(key.KeyId!);
      assert.equal(st.KeyRotationEnabled, false, 'on-demand rotation does not turn on automatic rotation');
      assert.equal(st.OnDemandRotationStartDate, undefined, 'the rotation has finished');
    });

    it('does not move the automatic rotation schedule', async () => {
      const key = await createKey();
      await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId }));
      const before_ = await status(key.KeyId!);
      clock += DAY_MS;
      await t.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
      const after_ = await status(key.KeyId!);
      assert.equal(after_.KeyRotationEnabled, true);
      assert.equal(after_.RotationPeriodInDays, 365);
      assert.deepEqual(after_.NextRotationDate, before_.NextRotationDate);
    });

    it('allows 25 rotations per key; the 26th is LimitExceededException', async () => {
      const key = await createKey();
      const materials = new Set([key.CurrentKeyMaterialId]);
      for (let i = 0; i < 25; i++) {
        await t.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
        materials.add(await materialOf(key.KeyId!));
      }
      assert.equal(materials.size, 26, 'every rotation made new material');
      const err = await errorOf(() => t.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId })));
      assert.equal(err.name, 'LimitExceededException');
      assert.equal(err.message, `The on-demand rotations limit has been reached for the given keyId. No more on-demand rotations can be performed for this key: ${key.Arn}`);
      const listed = await rotations({ KeyId: key.KeyId, Limit: 1000 });
      assert.equal(listed.length, 25);
      assert.ok(listed.every((r) => r.RotationType === 'ON_DEMAND'));
      // The quota is per key.
      const other = await createKey();
      await t.kms.send(new RotateKeyOnDemandCommand({ KeyId: other.KeyId }));
    });
  });

  describe('rotated material and ciphertexts', () => {
    let key: KeyMetadata;
    const materials: string[] = [];
    const blobs: Uint8Array[] = [];
    const rotatedAt: number[] = [];

    before(async () => {
      key = await createKey();
      materials.push(key.CurrentKeyMaterialId!);
      for (let i = 0; i < 3; i++) {
        const sealed = await t.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from(`generation ${i}`) }));
        blobs.push(sealed.CiphertextBlob!);
        if (i === 2) break;
        clock += DAY_MS;
        rotatedAt.push(clock);
        await t.kms.send(new RotateKeyOnDemandCommand({ KeyId: key.KeyId }));
        materials.push(await materialOf(key.KeyId!));
      }
    });

    it('every ciphertext decrypts after the rotations, under the material it was made with', async () => {
      assert.equal(new Set(materials).size, 3);
      for (let i = 0; i < 3; i++) {
        const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: blobs[i] }));
        assert.equal(Buffer.from(opened.Plaintext!).toString(), `generation ${i}`);
        assert.equal(opened.KeyId, key.Arn);
        assert.equal(opened.KeyMaterialId, materials[i]);
      }
    });

    it('new ciphertexts use the newest material', async () => {
      const dataKey = await t.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }));
      assert.equal(dataKey.KeyMaterialId, materials[2]);
      const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: dataKey.CiphertextBlob }));
      assert.equal(opened.KeyMaterialId, materials[2]);
      assert.deepEqual(opened.Plaintext, dataKey.Plaintext);
    });

    it('ReEncrypt moves an old ciphertext to the newest material', async () => {
      const moved = await t.kms.send(new ReEncryptCommand({ CiphertextBlob: blobs[0], DestinationKeyId: key.KeyId }));
      assert.equal(moved.SourceKeyId, key.Arn);
      assert.equal(moved.KeyId, key.Arn);
      assert.equal(moved.SourceKeyMaterialId, materials[0]);
      assert.equal(moved.DestinationKeyMaterialId, materials[2]);
      const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: moved.CiphertextBlob }));
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'generation 0');
      assert.equal(opened.KeyMaterialId, materials[2]);
    });

    it('ListKeyRotations lists the rotations, oldest first', async () => {
      const listed = await rotations({ KeyId: key.KeyId });
      assert.deepEqual(listed, [
        { KeyId: key.Arn, KeyMaterialId: materials[1], KeyMaterialState: 'NON_CURRENT', RotationDate: new Date(rotatedAt[0]!), RotationType: 'ON_DEMAND' },
        { KeyId: key.Arn, KeyMaterialId: materials[2], KeyMaterialState: 'CURRENT', RotationDate: new Date(rotatedAt[1]!), RotationType: 'ON_DEMAND' },
      ]);
      assert.deepEqual(await rotations({ KeyId: key.Arn, IncludeKeyMaterial: 'ROTATIONS_ONLY' }), listed);
    });

    it('ListKeyRotations with ALL_KEY_MATERIAL includes the original material, without a rotation date or type', async () => {
      const listed = await rotations({ KeyId: key.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL' });
      assert.equal(listed.length, 3);
      assert.deepEqual(listed[0], { KeyId: key.Arn, KeyMaterialId: materials[0], KeyMaterialState: 'NON_CURRENT' });
      assert.deepEqual(listed.slice(1), await rotations({ KeyId: key.KeyId }));
    });

    it('ListKeyRotations pages with Limit and Marker', async () => {
      const seen: string[] = [];
      let marker: string | undefined;
      for (let page = 1; ; page++) {
        const out = await t.kms.send(new ListKeyRotationsCommand({
          KeyId: key.KeyId, IncludeKeyMaterial: 'ALL_KEY_MATERIAL', Limit: 1, ...(marker ? { Marker: marker } : {}),
        }));
        assert.equal(out.Rotations!.length, 1);
        seen.push(out.Rotations![0]!.KeyMaterialId!);
        if (page < 3) {
          assert.equal(out.Truncated, true);
          assert.equal(typeof out.NextMarker, 'string');
          marker = out.NextMarker;
        } else {
          assert.equal(out.Truncated, false);
          assert.equal(out.NextMarker, undefined);
          break;
        }
      }
      assert.deepEqual(seen, materials);
    });

    it('ListKeyRotations accepts Limit 1 and 1000 and rejects 0, 1001 and a foreign marker', async () => {
      const one = await t.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 1 }));
      assert.equal(one.Rotations!.length, 1);
      assert.equal(one.Truncated, true);
      assert.equal((await rotations({ KeyId: key.KeyId, Limit: 1000 })).length, 2);
      const low = await errorOf(() => t.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 0 })));
      assert.equal(low.name, 'ValidationException');
      assert.equal(low.message, "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: Member must have value greater than or equal to 1");
      const high = await errorOf(() => t.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Limit: 1001 })));
      assert.equal(high.name, 'ValidationException');
      assert.equal(high.message, "1 validation error detected: Value '1001' at 'limit' failed to satisfy constraint: Member must have value less than or equal to 1000");
      const marker = await errorOf(() => t.kms.send(new ListKeyRotationsCommand({ KeyId: key.KeyId, Marker: 'bogus' })));
      assert.equal(marker.name, 'InvalidMarkerException');
    });

    it('a disabled key still lists its rotations', async () => {
      const other = await createKey();
      await t.kms.send(new RotateKeyOnDemandCommand({ KeyId: other.KeyId }));
      await t.kms.send(new DisableKeyCommand({ KeyId: other.KeyId }));
      assert.equal((await rotations({ KeyId: other.KeyId })).length, 1);
    });
  });

  describe('the scheduler', () => {
    it('rotates a key whose rotation date has passed, and moves the date on by the period', async () => {
      const key = await createKey();
      const blob = (await t.kms.send(new EncryptCommand({ KeyId: key.KeyId, Plaintext: Buffer.from('before') }))).CiphertextBlob!;
      await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
      const due = (await status(key.KeyId!)).NextRotationDate!.getTime();
      assert.equal(due, clock + 90 * DAY_MS);

      clock = due - 1000;
      await t.server.runScheduledWork();
      assert.deepEqual(await rotations({ KeyId: key.KeyId }), [], 'not rotated before its date');
      assert.equal(await materialOf(key.KeyId!), key.CurrentKeyMaterialId);

      // A pass a minute after the date, as the scheduler's passes come: the schedule stays.
      clock = due + 60_000;
      await t.server.runScheduledWork();
      const listed = await rotations({ KeyId: key.KeyId });
      const material = await materialOf(key.KeyId!);
      assert.notEqual(material, key.CurrentKeyMaterialId);
      assert.deepEqual(listed, [
        { KeyId: key.Arn, KeyMaterialId: material, KeyMaterialState: 'CURRENT', RotationDate: new Date(clock), RotationType: 'AUTOMATIC' },
      ]);
      const st = await status(key.KeyId!);
      assert.equal(st.KeyRotationEnabled, true);
      assert.equal(st.RotationPeriodInDays, 90);
      assert.deepEqual(st.NextRotationDate, new Date(due + 90 * DAY_MS));

      await t.server.runScheduledWork();
      assert.equal((await rotations({ KeyId: key.KeyId })).length, 1, 'a second pass at the same time does nothing');

      const opened = await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }));
      assert.equal(Buffer.from(opened.Plaintext!).toString(), 'before');
      assert.equal(opened.KeyMaterialId, key.CurrentKeyMaterialId);
      const fresh = await t.kms.send(new GenerateDataKeyCommand({ KeyId: key.KeyId, KeySpec: 'AES_256' }));
      assert.equal(fresh.KeyMaterialId, material);
    });

    it('does not rotate a disabled key, nor one with rotation turned off; rotates the disabled one once enabled', async () => {
      const disabled = await createKey();
      const turnedOff = await createKey();
      for (const key of [disabled, turnedOff]) {
        await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
      }
      const due = (await status(disabled.KeyId!)).NextRotationDate!.getTime();
      await t.kms.send(new DisableKeyCommand({ KeyId: disabled.KeyId }));
      await t.kms.send(new DisableKeyRotationCommand({ KeyId: turnedOff.KeyId }));

      clock = due + DAY_MS;
      await t.server.runScheduledWork();
      for (const key of [disabled, turnedOff]) {
        assert.deepEqual(await rotations({ KeyId: key.KeyId }), []);
        assert.equal(await materialOf(key.KeyId!), key.CurrentKeyMaterialId);
      }
      assert.deepEqual((await status(disabled.KeyId!)).NextRotationDate, new Date(due), 'the overdue date stays');

      // Enabled 80 days after its date, it rotates at once and then a whole period later, as AWS
      // does ("rotates it immediately, and every year thereafter"), not at the old date + 90 days.
      clock = due + 80 * DAY_MS;
      await t.kms.send(new EnableKeyCommand({ KeyId: disabled.KeyId }));
      await t.server.runScheduledWork();
      const listed = await rotations({ KeyId: disabled.KeyId });
      assert.equal(listed.length, 1);
      assert.equal(listed[0]!.RotationType, 'AUTOMATIC');
      const rotatedAt = clock;
      assert.deepEqual((await status(disabled.KeyId!)).NextRotationDate, new Date(rotatedAt + 90 * DAY_MS));
      clock = due + 91 * DAY_MS;
      await t.server.runScheduledWork();
      assert.equal((await rotations({ KeyId: disabled.KeyId })).length, 1, 'no second rotation at the old schedule\'s next date');
      clock = rotatedAt + 90 * DAY_MS + 60_000;
      await t.server.runScheduledWork();
      assert.equal((await rotations({ KeyId: disabled.KeyId })).length, 2);
      assert.deepEqual((await status(disabled.KeyId!)).NextRotationDate, new Date(rotatedAt + 180 * DAY_MS));
      assert.deepEqual(await rotations({ KeyId: turnedOff.KeyId }), []);
    });

    it('does not rotate a key pending deletion', async () => {
      const key = await createKey();
      await t.kms.send(new EnableKeyRotationCommand({ KeyId: key.KeyId, RotationPeriodInDays: 90 }));
      const due = (await status(key.KeyId!)).NextRotationDate!.getTime();
      // Scheduled late enough that the window is still open when the rotation falls due.
      clock = due - 10 * DAY_MS;
      await t.kms.send(new ScheduleKeyDeletionCommand({ KeyId: key.KeyId, PendingWindowInDays: 30 }));
      clock = due + DAY_MS;
      await t.server.runScheduledWork();
      assert.equal((await t.kms.send(new DescribeKeyCommand({ KeyId: key.KeyId }))).KeyMetadata!.KeyState, 'PendingDeletion');
      assert.equal(await materialOf(key.KeyId!), key.CurrentKeyMaterialId);
      assert.deepEqual(await rotations({ KeyId: key.KeyId }), []);
    });
  });
});
