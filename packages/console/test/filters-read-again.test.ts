import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, EnableKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { startServer, type RunningServer } from '@coffer/server';
import type { Browser, Page } from 'playwright-core';
import { openConsolePage, signIn, goInApp as goToRoute } from './support/browser.js';

/**
 * Filters that outlive what they matched: a state no key is in any more stays the filter shown,
 * and the audit page's Apply with the same filters reads the records made since.
 */
const OPERATOR = { accessKeyId: 'AKIAOPERATOR000000004', secretAccessKey: 'operator-secret-operator-secret-000000004' };
const SEED = {
  principals: [{
    user: 'operator',
    accessKeys: [OPERATOR],
    policies: { all: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['coffer:*', 'kms:*'], Resource: '*' }] } },
  }],
};

describe('console filters read again', () => {
  let dataDir: string;
  let server: RunningServer;
  let kms: KMSClient;
  let browser: Browser;
  let page: Page;
  const faults: string[] = [];
  const goInApp = (route: string) => goToRoute(page, route);

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-console-filters-'));
    server = await startServer({ port: 0, dataDir, logger: () => {}, quotas: false, seed: SEED });
    kms = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials: OPERATOR, maxAttempts: 1 });
    ({ browser, page } = await openConsolePage(faults));
    await signIn(page, server.endpoint, '/keys', OPERATOR, 'Keys');
  });

  after(async () => {
    kms?.destroy();
    await browser?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the state filter shown while no key is in that state any more', async () => {
    await kms.send(new CreateKeyCommand({}));
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new DisableKeyCommand({ KeyId: keyId }));
    await page.getByRole('button', { name: 'Refresh' }).click();
    const state = page.getByLabel('State');
    await state.locator('option', { hasText: 'Disabled' }).waitFor({ state: 'attached' });
    await state.selectOption('Disabled');
    await page.locator('tr', { hasText: keyId }).waitFor();
    await kms.send(new EnableKeyCommand({ KeyId: keyId }));
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.getByText('No key matches the filter.').waitFor();
    // Before, the list lost "Disabled" and showed "Any" over a table still filtered by it.
    assert.equal(await state.inputValue(), 'Disabled');
    await state.selectOption('');
    await page.locator('tr', { hasText: keyId }).waitFor();
  });

  it('reads the audit trail again when Apply is pressed with the same filters', async () => {
    const keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    await goInApp(`/audit?key=${keyId}&operation=DescribeKey`);
    const rows = page.locator('tr[data-operation="DescribeKey"]');
    await rows.first().waitFor();
    assert.equal(await rows.count(), 1);
    await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    await page.getByRole('button', { name: 'Apply' }).click();
    await rows.nth(1).waitFor();
    assert.equal(await rows.count(), 2);
  });

  it('raised no script or console errors', () => {
    assert.deepEqual(faults, []);
  });
});
