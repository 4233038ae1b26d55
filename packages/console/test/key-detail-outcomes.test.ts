import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { startServer, type RunningServer } from '@coffer/server';
import type { Browser, Page } from 'playwright-core';
import { openConsolePage, signIn } from './support/browser.js';

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
  const faults: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-console-outcomes-'));
    server = await startServer({ port: 0, dataDir, logger: () => {}, quotas: false, seed: SEED });
    const kms = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials: OPERATOR, maxAttempts: 1 });
    try {
      keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
      const other = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
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

  it('raised no script or console errors', () => {
    assert.deepEqual(faults, []);
  });
});
