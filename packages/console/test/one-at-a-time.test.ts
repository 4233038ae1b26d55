import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { startServer, type RunningServer } from '@coffer/server';
import type { Browser, Page, Route } from 'playwright-core';
import { openConsolePage, signIn } from './support/browser.js';

/**
 * Changes and pages asked for twice, or under filters changed meanwhile. A double click on Create
 * access key made two keys and showed one secret; on Load older records it loaded a page twice; a
 * page of older records asked for before Apply was added under the new filters.
 */
const OPERATOR = { accessKeyId: 'AKIAOPERATOR000000002', secretAccessKey: 'operator-secret-operator-secret-000000002' };
const SEED = {
  principals: [
    {
      user: 'operator',
      accessKeys: [OPERATOR],
      policies: { all: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['coffer:*', 'kms:*'], Resource: '*' }] } },
    },
    { user: 'holder' },
  ],
};

const targetOf = (route: { request(): { headers(): Record<string, string> } }) => route.request().headers()['x-amz-target'];

describe('console actions one at a time', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const faults: string[] = [];
  /** The API calls the page sent, by X-Amz-Target, with their bodies. */
  const sent: Array<{ target: string; body: string }> = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-console-once-'));
    server = await startServer({ port: 0, dataDir, logger: () => {}, quotas: false, seed: SEED });
    // Over two pages of audit records (50 a page), three of them CreateKey.
    const kms = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials: OPERATOR, maxAttempts: 1 });
    try {
      for (let i = 0; i < 3; i++) await kms.send(new CreateKeyCommand({}));
      for (let i = 0; i < 110; i++) await kms.send(new ListKeysCommand({}));
    } finally {
      kms.destroy();
    }
    ({ browser, page } = await openConsolePage(faults));
    page.on('request', (request) => {
      const target = request.headers()['x-amz-target'];
      if (target) sent.push({ target, body: request.postData() ?? '' });
    });
    await signIn(page, server.endpoint, '/principals', OPERATOR, 'Principals and access keys');
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('sends one CreateAccessKey for a double click, and shows the secret of the key it made', async () => {
    await page.locator('tr', { hasText: 'user/holder' }).getByRole('button', { name: 'Access keys' }).click();
    await page.getByRole('heading', { level: 2, name: 'Access keys: user/holder' }).waitFor();
    sent.length = 0;
    await page.getByRole('button', { name: 'Create access key' }).dblclick();
    await page.getByLabel('Secret access key').waitFor();
    // Both clicks come before the first answer: a second request would have been sent by now.
    assert.equal(sent.filter((call) => call.target === 'CofferAdmin.CreateAccessKey').length, 1);
    const shown = await page.locator('main p', { hasText: 'New access key' }).textContent() ?? '';
    const rows = page.locator('section.panel tbody td.mono');
    await page.waitForFunction(() => document.querySelectorAll('section.panel tbody td.mono').length > 0);
    assert.deepEqual((await rows.allTextContents()).map((id) => shown.includes(id)), [true]);
    assert.deepEqual(faults, []);
  });

  it('loads a page of older audit records once for a double click', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit trail', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit trail' }).waitFor();
    const seqs = page.locator('tbody tr[data-operation] td:first-child');
    await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-operation]').length === 50);
    sent.length = 0;
    await page.getByRole('button', { name: 'Load older records' }).dblclick();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-operation]').length > 50);
    assert.equal(sent.filter((call) => call.target === 'CofferAdmin.QueryAuditRecords' && call.body.includes('NextToken')).length, 1);
    const shown = await seqs.allTextContents();
    assert.equal(shown.length, 100);
    assert.equal(new Set(shown).size, shown.length, 'a record shown twice');
    assert.deepEqual(faults, []);
  });

  it('drops a page of older records asked for under the filters that Apply replaced', async () => {
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.waitForFunction(() => document.querySelectorAll('tbody tr[data-operation]').length === 50);
    // The older page is held until the new filters' first page is shown.
    let release!: () => void;
    const held = new Promise<void>((resolve) => { release = resolve; });
    let asked!: () => void;
    const olderAsked = new Promise<void>((resolve) => { asked = resolve; });
    const hold = async (route: Route) => {
      if (targetOf(route) === 'CofferAdmin.QueryAuditRecords' && (route.request().postData() ?? '').includes('NextToken')) {
        asked();
        await held;
      }
      await route.continue();
    };
    await page.route(`${server.endpoint}/`, hold);
    try {
      await page.getByRole('button', { name: 'Load older records' }).click();
      await olderAsked;
      await page.getByLabel('Operation').fill('CreateKey');
      await page.getByRole('button', { name: 'Apply' }).click();
      await page.waitForFunction(() => {
        const rows = [...document.querySelectorAll('tbody tr[data-operation]')];
        return rows.length > 0 && rows.every((row) => row.getAttribute('data-operation') === 'CreateKey');
      });
      const answered = page.waitForResponse((response) => (response.request().postData() ?? '').includes('NextToken'));
      release();
      await answered;
      // A tick for the page to have added the answer, had it kept it.
      await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 100)));
      const operations = await page.locator('tbody tr[data-operation]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-operation')));
      assert.deepEqual(operations, ['CreateKey', 'CreateKey', 'CreateKey']);
      assert.equal(await page.getByRole('button', { name: 'Load older records' }).count(), 0);
      assert.equal(await page.getByRole('alert').count(), 0);
    } finally {
      await page.unroute(`${server.endpoint}/`, hold);
    }
    assert.deepEqual(faults, []);
  });
});
