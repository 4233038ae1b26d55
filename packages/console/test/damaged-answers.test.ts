import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { CreateAliasCommand, CreateKeyCommand, KMSClient, ListKeysCommand } from '@aws-sdk/client-kms';
import { startServer, type RunningServer } from '@coffer/server';
import type { Browser, Page } from 'playwright-core';
import { openConsolePage, signIn, goInApp as goToRoute } from './support/browser.js';
import { readCredentials } from './support/credentials.js';

/**
 * What the console is given that it did not expect: an audit record damaged in the store, an
 * answer of another shape, an address it cannot decode. Each is shown on its page; none blanks
 * the app, and none signs the operator out (the session lives in the app's state).
 */
describe('console with damaged answers', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let kms: KMSClient;
  let damaged = 0;
  const faults: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-console-damaged-'));
    server = await startServer({ port: 0, dataDir, logger: () => {}, quotas: false });
    const credentials = readCredentials(server.credentialsFile);
    kms = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials, maxAttempts: 1 });
    for (let i = 0; i < 3; i++) await kms.send(new ListKeysCommand({}));
    // A record in the middle of the trail made unreadable behind the server's back, as docs/audit.md's
    // tamper table does; the server answers it as {seq, unreadable}.
    const db = new Database(join(dataDir, 'coffer.db'));
    try {
      damaged = (db.prepare('SELECT max(seq) - 1 AS seq FROM audit').get() as { seq: number }).seq;
      db.prepare("UPDATE audit SET record = 'not json' WHERE seq = ?").run(damaged);
    } finally {
      db.close();
    }

    ({ browser, page } = await openConsolePage(faults));
    await signIn(page, server.endpoint, '/', credentials, 'Dashboard');
  });

  after(async () => {
    await browser?.close();
    kms?.destroy();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const signedIn = async () => assert.equal(await page.locator('header .who').textContent(), 'arn:aws:iam::111122223333:root');
  /** Moves within the app as its links do: a reload would drop the session by design. */
  const goInApp = (route: string) => goToRoute(page, route);

  it('shows an unreadable audit record as its number and the server\'s reason, the trail around it intact', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Audit trail', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit trail' }).waitFor();
    const row = page.locator(`tr[data-unreadable="${damaged}"]`);
    await row.waitFor();
    assert.equal(await row.locator('td').first().textContent(), String(damaged));
    assert.match(await row.locator('td').nth(1).textContent() ?? '', new RegExp(`^Audit record ${damaged} cannot be read \\(it is not JSON\\); VerifyAuditChain checks the whole trail\\.$`));
    // The records before and after it are shown as usual.
    const seqs = await page.locator('tbody tr[data-operation] td:first-child').allTextContents();
    assert.ok(seqs.includes(String(damaged - 1)) && seqs.includes(String(damaged + 1)), `rows shown: ${seqs.join(', ')}`);
    await signedIn();
    await page.getByRole('button', { name: 'Verify chain' }).click();
    assert.match(await page.locator('#chain-verdict').textContent() ?? '', new RegExp(`^The audit chain is broken at record ${damaged}: record ${damaged} cannot be read`));
    assert.deepEqual(faults, []);
  });

  it('shows a page that fails to render as an error on that page, still signed in, the other pages working', async () => {
    // An answer the page does not expect (no userIdentity): reading it throws while rendering.
    await page.route(`${server.endpoint}/`, (route) => (route.request().headers()['x-amz-target'] === 'CofferAdmin.QueryAuditRecords'
      ? route.fulfill({ contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ Records: [{ seq: 1, eventID: 'e1', eventName: 'Encrypt' }] }) })
      : route.continue()));
    try {
      await goInApp('/audit?operation=Encrypt');
      await page.getByRole('heading', { level: 1, name: 'This page could not be shown' }).waitFor();
      assert.match(await page.getByRole('alert').textContent() ?? '', /^The console failed while showing this page: .+/);
      await signedIn();
    } finally {
      await page.unroute(`${server.endpoint}/`);
    }
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Keys', exact: true }).click();
    await page.getByRole('heading', { level: 1, name: 'Keys' }).waitFor();
    // React reports the error it caught to the browser's console; nothing else may be there.
    const unexpected = faults.filter((fault) => !/userIdentity|reading 'arn'/.test(fault));
    assert.deepEqual(unexpected, []);
    faults.length = 0;
  });

  it('says on a key\'s page why its aliases could not be listed, rather than showing none', async () => {
    const { KeyMetadata } = await kms.send(new CreateKeyCommand({ Description: 'aliases refused' }));
    await kms.send(new CreateAliasCommand({ AliasName: 'alias/refused-listing', TargetKeyId: KeyMetadata!.KeyId! }));
    const refusal = 'User: arn:aws:iam::111122223333:user/narrow is not authorized to perform: kms:ListAliases';
    await page.route(`${server.endpoint}/`, (route) => (route.request().headers()['x-amz-target'] === 'TrentService.ListAliases'
      ? route.fulfill({ status: 400, contentType: 'application/x-amz-json-1.1', body: JSON.stringify({ __type: 'AccessDeniedException', message: refusal }) })
      : route.continue()));
    try {
      await goInApp(`/keys/${KeyMetadata!.KeyId!}`);
      const panel = page.locator('section[aria-labelledby="aliases-title"]');
      // Before: the panel showed its heading and the form only, as if the key had no aliases.
      await panel.getByRole('alert').waitFor();
      assert.equal(await panel.getByRole('alert').textContent(), `AccessDeniedException: ${refusal}`);
      await signedIn();
    } finally {
      await page.unroute(`${server.endpoint}/`);
    }
    assert.deepEqual(faults.filter((fault) => !/status of 400/.test(fault)), []);
    faults.length = 0;
  });

  it('answers a key address with a malformed escape as not found, still signed in', async () => {
    await goInApp('/keys/%E0%A4%A');
    await page.getByRole('heading', { level: 1, name: 'Not found' }).waitFor();
    await signedIn();
    assert.equal(await page.title(), 'Not found · Coffer console');
    assert.deepEqual(faults, []);
  });

  it('shows the record of a request that named no operation (anyone can send one, unsigned) as such, the page intact', async () => {
    const sent = await fetch(`${server.endpoint}/`, {
      method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.NoSuchOperation' }, body: '{}',
    });
    assert.equal(sent.status, 400);
    await goInApp('/audit');
    await page.getByRole('heading', { level: 1, name: 'Audit trail' }).waitFor();
    await page.locator('tbody tr', { hasText: '(unknown operation)' }).first().waitFor();
    await signedIn();
    assert.deepEqual(faults, []);
  });
});
