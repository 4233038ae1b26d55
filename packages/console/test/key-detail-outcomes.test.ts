import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateKeyCommand, DeleteAliasCommand, DisableKeyCommand, GetKeyPolicyCommand, KMSClient,
  PutKeyPolicyCommand, ScheduleKeyDeletionCommand,
} from '@aws-sdk/client-kms';
import { startServer, type RunningServer } from '@coffer/server';
import type { Browser, Page } from 'playwright-core';
import { goInApp, openConsolePage, signIn } from './support/browser.js';

/**
 * The key page's outcome line ("Key disabled.") is about the last action only: once the operator
 * starts another, in any panel, it goes, so it can never stand beside a later refusal as if it
 * were that action's outcome.
 */
const OPERATOR = { accessKeyId: 'AKIAOPERATOR000000003', secretAccessKey: 'operator-secret-operator-secret-000000003' };
const SEED = {
  principals: [{
    user: 'operator',
    accessKeys: [OPERATOR],
    policies: { all: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['coffer:*', 'kms:*'], Resource: '*' }] } },
  }],
};

describe('key page outcomes', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let keyId: string;
  let other: string;
  const faults: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-console-outcomes-'));
    server = await startServer({ port: 0, dataDir, logger: () => {}, quotas: false, seed: SEED });
    const kms = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials: OPERATOR, maxAttempts: 1 });
    try {
      keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      other = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/taken', TargetKeyId: other }));
    } finally {
      kms.destroy();
    }
    ({ browser, page } = await openConsolePage(faults));
    await signIn(page, server.endpoint, `/keys/${keyId}`, OPERATOR, `Key ${keyId}`);
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('drops "Key disabled." when an alias is then refused in the aliases panel', async () => {
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Disable key' }).click();
    const done = page.getByRole('status').filter({ hasText: 'Key disabled.' });
    await done.waitFor();

    await page.getByLabel('New alias').fill('taken');
    await page.getByRole('button', { name: 'Add alias' }).click();
    await page.getByRole('alert').filter({ hasText: 'AlreadyExistsException' }).waitFor();
    assert.equal(await done.count(), 0, 'the earlier outcome is still shown beside the refusal');
  });

  it('drops it when the policy is saved', async () => {
    await page.getByRole('button', { name: 'Enable key' }).click();
    const done = page.getByRole('status').filter({ hasText: 'Key enabled.' });
    await done.waitFor();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Key policy saved.' }).waitFor();
    assert.equal(await done.count(), 0);
  });

  it('drops a refusal shown in one panel once an action starts in another', async () => {
    await page.getByLabel('New alias').fill('taken');
    await page.getByRole('button', { name: 'Add alias' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'AlreadyExistsException' });
    await refusal.waitFor();
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Key policy saved.' }).waitFor();
    assert.equal(await refusal.count(), 0, 'the aliases panel still shows its refusal beside the saved policy');
    // And the other way: the policy's "saved" goes when the aliases panel acts again.
    await page.getByLabel('New alias').fill('taken');
    await page.getByRole('button', { name: 'Add alias' }).click();
    await refusal.waitFor();
    assert.equal(await page.getByRole('status').filter({ hasText: 'Key policy saved.' }).count(), 0);
  });

  it('shows no outcome of an action answered after a later one started in another panel', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    await page.route(`${server.endpoint}/`, async (route) => {
      if (route.request().headers()['x-amz-target'] === 'TrentService.DisableKey') await held;
      await route.continue();
    });
    try {
      page.once('dialog', (dialog) => void dialog.accept());
      await page.getByRole('button', { name: 'Disable key' }).click();
      await page.getByRole('button', { name: 'Save policy' }).click();
      const saved = page.getByRole('status').filter({ hasText: 'Key policy saved.' });
      await saved.waitFor();
      release();
      // The key changed (the page reads it again), but its "Key disabled." came after the save began.
      await page.getByRole('button', { name: 'Enable key' }).waitFor();
      assert.equal(await page.getByRole('status').filter({ hasText: 'Key disabled.' }).count(), 0);
      assert.equal(await saved.count(), 1);
    } finally {
      release();
      await page.unroute(`${server.endpoint}/`);
    }
  });

  it('opens the key\'s own page from an alias in the address, where every panel works', async () => {
    await goInApp(page, `/keys/${encodeURIComponent('alias/taken')}`);
    await page.waitForURL(new RegExp(`/console/keys/${other}$`));
    await page.getByRole('heading', { level: 1, name: 'Key alias/taken' }).waitFor();
    // Before, the panels that take a key id only (policy, grants, aliases, tags) each showed NotFoundException.
    await page.locator('#policy-text:not([disabled])').waitFor();
    assert.equal(await page.getByRole('alert').count(), 0);
    // The same with the alias's slash left as it is.
    await goInApp(page, '/keys/alias/taken');
    await page.waitForURL(new RegExp(`/console/keys/${other}$`));
    await page.locator('#policy-text:not([disabled])').waitFor();
  });

  it('reads again what a refusal says changed elsewhere: an alias deleted, a key scheduled for deletion', async () => {
    const kms = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials: OPERATOR, maxAttempts: 1 });
    try {
      await kms.send(new DisableKeyCommand({ KeyId: keyId }));
      await kms.send(new CreateAliasCommand({ AliasName: 'alias/gone', TargetKeyId: keyId }));
      await goInApp(page, `/keys/${keyId}`);
      const deleteGone = page.getByRole('button', { name: 'Delete alias alias/gone' });
      await deleteGone.waitFor();
      await page.getByRole('button', { name: 'Enable key' }).waitFor();
      // Behind the page's back, as from another tab or the CLI.
      await kms.send(new DeleteAliasCommand({ AliasName: 'alias/gone' }));

      page.once('dialog', (dialog) => void dialog.accept());
      await deleteGone.click();
      await page.getByRole('alert').filter({ hasText: 'NotFoundException' }).waitFor();
      // Before, the alias stayed listed with its Delete button, refused the same way at each click.
      await deleteGone.waitFor({ state: 'detached' });

      await page.getByRole('button', { name: 'Enable key' }).waitFor();
      await kms.send(new ScheduleKeyDeletionCommand({ KeyId: keyId, PendingWindowInDays: 7 }));
      await page.getByRole('button', { name: 'Enable key' }).click();
      await page.getByRole('alert').filter({ hasText: 'KMSInvalidStateException' }).waitFor();
      // Before, the page went on showing Disabled, and Enable; Cancel deletion came only with a reload.
      await page.getByRole('button', { name: 'Cancel deletion' }).waitFor();
      assert.equal(await page.getByRole('button', { name: 'Enable key' }).count(), 0);
      assert.equal(await page.getByRole('alert').filter({ hasText: 'KMSInvalidStateException' }).count(), 1, 'the refusal stays as the outcome');
    } finally {
      await kms.send(new CancelKeyDeletionCommand({ KeyId: keyId })).catch(() => {});
      kms.destroy();
    }
  });

  it('reverts the policy editor to the policy stored now, not the copy read when the page opened', async () => {
    const editor = page.locator('#policy-text:not([disabled])');
    await editor.waitFor();
    const kms = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials: OPERATOR, maxAttempts: 1 });
    try {
      const stored = (await kms.send(new GetKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default' }))).Policy!;
      const elsewhere = JSON.stringify({ ...JSON.parse(stored) as object, Id: 'changed-elsewhere' });
      assert.notEqual(elsewhere, stored);
      await kms.send(new PutKeyPolicyCommand({ KeyId: keyId, PolicyName: 'default', Policy: elsewhere }));
      await editor.fill(`${stored}\n// an edit to drop`);
      await page.getByRole('button', { name: 'Revert' }).click();
      // Before, Revert brought back the copy read with the page, and a save then undid the change.
      await page.waitForFunction((text) => (document.querySelector('#policy-text') as HTMLTextAreaElement).value === text, elsewhere);
    } finally {
      kms.destroy();
    }
    assert.deepEqual(faults, []);
  });

  it('offers no automatic rotation for a key with imported key material, which could only be refused', async () => {
    const kms = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials: OPERATOR, maxAttempts: 1 });
    let external: string;
    try {
      external = (await kms.send(new CreateKeyCommand({ Origin: 'EXTERNAL' }))).KeyMetadata!.KeyId!;
    } finally {
      kms.destroy();
    }
    await goInApp(page, `/keys/${external}`);
    await page.getByText('Automatic rotation: off').waitFor();
    await page.getByText('(not available for imported key material: Origin EXTERNAL)').waitFor();
    // Before, Turn on was offered and answered UnsupportedOperationException.
    assert.equal(await page.getByRole('button', { name: 'Turn on' }).count(), 0);
    assert.equal(await page.getByRole('button', { name: 'Rotate now' }).count(), 0);
    assert.deepEqual(faults, []);
  });

  it('raised no script or console errors', () => {
    assert.deepEqual(faults, []);
  });
});
