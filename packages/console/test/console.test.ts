import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import {
  CreateGrantCommand, DescribeKeyCommand, DisableKeyCommand, EncryptCommand, GetKeyRotationStatusCommand, KMSClient, ListAliasesCommand,
  ListGrantsCommand, ListKeysCommand,
} from '@aws-sdk/client-kms';
import { startServer, type RunningServer } from '@coffer/server';
import type { Browser, Page } from 'playwright-core';
import { openConsolePage } from './support/browser.js';
import { readCredentials } from './support/credentials.js';

/**
 * The console end to end: a real server in this process, Debian's Chromium driven by
 * playwright-core, the official AWS SDK for the API calls a user's application would make.
 * Screenshots go to test-artifacts/console/; the keys page also to docs/console.png for the README.
 */
const REPO = fileURLToPath(new URL('../../../../', import.meta.url));
const ARTIFACTS = join(REPO, 'test-artifacts', 'console');
const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
// Key dates from a fixed clock, so the README's screenshot is the same from run to run.
const FIXED_NOW = Date.UTC(2026, 0, 15, 9, 30, 0);

const SEED = {
  keys: [
    { keyId: '0f6c2a8e-3b1d-4e59-9a7c-5d2e8f1b4c60', description: 'Payment card tokens', aliases: ['alias/payments'] },
    { keyId: '4a9d7e12-6c3f-4b8a-8e21-7f5c9d0a3b14', description: 'Nightly database backups', aliases: ['alias/backups'] },
    { keyId: '8c1e5f3a-2d7b-4f96-b0e4-3a6c8d9f2e71', description: 'Legacy session cookies', aliases: ['alias/sessions-legacy'] },
  ],
};

describe('console in Chromium', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let kms: KMSClient;
  let credentials: { accessKeyId: string; secretAccessKey: string };
  let url: string;
  let keyId = '';
  let userKey = { accessKeyId: '', secretAccessKey: '' };
  const pageErrors: string[] = [];

  const shot = async (name: string) => {
    await page.screenshot({ path: join(ARTIFACTS, `${name}.png`) });
  };
  /**
   * axe-core's WCAG 2.1 A and AA rules (contrast, names, roles, landmarks, ...) on the page as it is.
   * It is evaluated through the DevTools protocol, which the page's CSP does not govern.
   */
  const assertAccessible = async (what: string) => {
    await page.evaluate(AXE);
    const violations = await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(context: Document, options: object): Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }> } }).axe;
      const result = await axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } });
      return result.violations.map((v) => `${v.id}: ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
    });
    assert.deepEqual(violations, [], `accessibility of ${what}`);
  };
  /** Every form control on the page has a label a screen reader announces. */
  const assertLabelled = async () => {
    const unlabelled = await page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
      .filter((el) => !(el as HTMLInputElement).labels?.length && !el.getAttribute('aria-label'))
      .map((el) => el.outerHTML.slice(0, 80)));
    assert.deepEqual(unlabelled, []);
  };
  const goTo = async (linkName: string, heading: string) => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: linkName, exact: true }).click();
    await page.getByRole('heading', { level: 1, name: heading }).waitFor();
    await assertLabelled();
  };

  before(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-console-test-'));
    server = await startServer({ port: 0, dataDir, logger: () => {}, now: () => FIXED_NOW, seed: SEED });
    credentials = readCredentials(server.credentialsFile);
    kms = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials, maxAttempts: 1 });
    await kms.send(new DisableKeyCommand({ KeyId: SEED.keys[2]!.keyId }));
    url = `${server.endpoint}/console`;
    ({ browser, page } = await openConsolePage(pageErrors));
  });

  after(async () => {
    await browser?.close();
    kms?.destroy();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('signs in with an access key and keeps the secret out of every storage', async () => {
    await page.goto(url);
    await page.getByRole('heading', { name: 'Coffer console' }).waitFor();
    await assertLabelled();
    // By keyboard alone: the ID field has the focus, Tab reaches the secret, Enter signs in.
    await page.keyboard.type(credentials.accessKeyId);
    await page.keyboard.press('Tab');
    await page.keyboard.type(credentials.secretAccessKey);
    await shot('01-sign-in');
    await assertAccessible('the sign-in page');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: 'Dashboard' }).waitFor();
    assert.equal(await page.locator('header .who').textContent(), 'arn:aws:iam::111122223333:root');
    const stored = await page.evaluate(async () => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
      databases: (await indexedDB.databases()).length,
      caches: (await caches.keys()).length,
      href: location.href,
      html: document.documentElement.outerHTML,
    }));
    assert.deepEqual({ ...stored, href: undefined, html: undefined }, { local: 0, session: 0, cookie: '', databases: 0, caches: 0, href: undefined, html: undefined });
    assert.ok(!stored.href.includes(credentials.secretAccessKey));
    assert.ok(!stored.html.includes(credentials.secretAccessKey));
  });

  it('shows the dashboard: charts from the request metrics, or that there are none yet', async () => {
    await page.locator('figure.chart, .notice:has-text("No metrics yet")').first().waitFor();
    await shot('02-dashboard');
    await assertAccessible('the dashboard');
  });

  it('lists keys with their aliases and state badges, and filters them', async () => {
    await goTo('Keys', 'Keys');
    const rows = page.locator('table.data tbody tr[data-key-id]');
    await page.locator('tr', { hasText: 'alias/sessions-legacy' }).locator('.badge', { hasText: 'Disabled' }).waitFor();
    assert.equal(await rows.count(), 3);
    assert.equal(await page.locator('tr', { hasText: 'alias/payments' }).locator('.badge').textContent(), 'Enabled');
    await page.screenshot({ path: join(ARTIFACTS, 'keys.png') });
    copyFileSync(join(ARTIFACTS, 'keys.png'), join(REPO, 'docs', 'console.png'));
    await page.getByLabel('Filter').fill('backups');
    await page.waitForFunction(() => document.querySelectorAll('table.data tbody tr[data-key-id]').length === 1);
    assert.match(await rows.first().textContent() ?? '', /alias\/backups/);
    await page.getByLabel('Filter').fill('');
    await page.getByLabel('State').selectOption('Disabled');
    await page.waitForFunction(() => document.querySelectorAll('table.data tbody tr[data-key-id]').length === 1);
    assert.match(await rows.first().textContent() ?? '', /alias\/sessions-legacy/);
    await page.getByLabel('State').selectOption('');
    // Sort by alias, ascending: backups, payments, sessions-legacy.
    await page.getByRole('button', { name: 'Aliases' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelector('table.data tbody tr td')?.textContent === 'alias/backups');
    assert.equal(await page.locator('th[aria-sort="ascending"]').textContent(), 'Aliases ▲');
  });

  it('creates a key with a description, tags and an alias', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    const form = page.locator('form[aria-labelledby="create-key-title"]');
    await form.getByLabel('Description').fill('Created in the console');
    await form.getByLabel('Alias').fill('console-demo');
    await form.getByLabel('Tags').fill('team=console\nenv=test');
    await shot('03-create-key');
    await assertAccessible('the keys page with the create form');
    await form.getByRole('button', { name: 'Create key' }).click();
    await page.getByRole('status').filter({ hasText: 'with alias alias/console-demo' }).waitFor();
    const row = page.locator('tr', { hasText: 'alias/console-demo' });
    await row.waitFor();
    keyId = (await row.getAttribute('data-key-id')) ?? '';
    assert.match(keyId, /^[0-9a-f-]{36}$/);
    assert.equal(await row.locator('.badge').textContent(), 'Enabled');
    const described = await kms.send(new DescribeKeyCommand({ KeyId: 'alias/console-demo' }));
    assert.equal(described.KeyMetadata?.KeyId, keyId);
    assert.equal(described.KeyMetadata?.Description, 'Created in the console');
  });

  it('shows an Encrypt made through the API in the audit trail', async () => {
    const encrypted = await kms.send(new EncryptCommand({ KeyId: 'alias/console-demo', Plaintext: Buffer.from('hello from the API') }));
    assert.ok(encrypted.CiphertextBlob);
    await goTo('Audit trail', 'Audit trail');
    // The unfiltered first page has loaded before the filter is applied: its rows (this Encrypt's
    // among them) must not be taken for the filtered answer.
    await page.locator('table.data[aria-busy="false"]').waitFor();
    await page.getByLabel('Operation').fill('Encrypt');
    await page.getByRole('button', { name: 'Apply' }).click();
    const row = page.locator('tr[data-operation="Encrypt"]', { hasText: keyId });
    await page.waitForFunction(() => {
      const rows = document.querySelectorAll('tbody tr[data-operation]');
      return document.querySelector('table.data[aria-busy="false"]') !== null && rows.length === 1 && rows[0]!.getAttribute('data-operation') === 'Encrypt';
    });
    assert.match(await row.textContent() ?? '', /root.*Encrypt.*success/);
    await shot('04-audit');
    await assertAccessible('the audit page');
    // Each filter narrows: by principal, and by time (the browser runs in UTC). The table is read
    // once the server has answered this filter: until then it may still be the previous one's.
    const apply = async () => {
      const answered = page.waitForResponse((response) => response.request().headers()['x-amz-target'] === 'CofferAdmin.QueryAuditRecords');
      await page.getByRole('button', { name: 'Apply' }).click();
      await answered;
      await page.locator('table.data[aria-busy="false"]').waitFor();
    };
    await page.getByLabel('Principal ARN').fill('arn:aws:iam::111122223333:root');
    await page.getByLabel('Outcome').fill('success');
    await apply();
    assert.equal(await page.locator('tbody tr[data-operation="Encrypt"]').count(), 1);
    await page.getByLabel('Principal ARN').fill('arn:aws:iam::111122223333:user/nobody');
    await apply();
    await page.getByRole('cell', { name: 'No record matches.' }).waitFor();
    await page.getByLabel('Principal ARN').fill('');
    await page.getByLabel('From').fill(new Date(Date.now() + 3_600_000).toISOString().slice(0, 19));
    await apply();
    await page.getByRole('cell', { name: 'No record matches.' }).waitFor();
    await page.getByLabel('From').fill(new Date(Date.now() - 3_600_000).toISOString().slice(0, 19));
    await apply();
    await page.locator('tbody tr[data-operation="Encrypt"]').waitFor();
    assert.equal(await page.locator('tbody tr[data-operation]').count(), 1);
  });

  it('charts the requests on the dashboard, or says that the server reports no metrics', async () => {
    await goTo('Dashboard', 'Dashboard');
    const chart = page.locator('figure.chart').first();
    const none = page.getByText('No metrics yet: this server does not report request metrics.');
    await chart.or(none).waitFor();
    if (await none.isVisible()) return;
    // The table under the charts has every operation with its counts: the one Encrypt above among them.
    await page.getByText('Requests by operation (table)').click();
    const encrypt = page.locator('details tr', { has: page.locator('td', { hasText: /^Encrypt$/ }) });
    await encrypt.waitFor();
    assert.equal(await encrypt.locator('td').nth(1).textContent(), '1');
    assert.equal(await encrypt.locator('td').nth(2).textContent(), '0');
    const total = Number(await page.locator('.tiles li').first().locator('.tile-value').textContent());
    assert.ok(total >= 10, `requests in the last hour: ${total}`);
    assert.equal(await page.locator('figure.chart polyline').count() >= 2, true);
    await shot('04-dashboard-with-requests');
    await assertAccessible('the dashboard with charts');
    await goTo('Audit trail', 'Audit trail');
  });

  it('verifies the audit chain with one click', async () => {
    await page.getByRole('button', { name: 'Verify chain' }).click();
    const verdict = page.locator('#chain-verdict');
    await verdict.waitFor();
    assert.match(await verdict.textContent() ?? '', /^The audit chain is intact: \d+ records verified\.$/);
  });

  it('disables the key and shows its new state', async () => {
    await kms.send(new CreateGrantCommand({ KeyId: keyId, GranteePrincipal: 'arn:aws:iam::111122223333:root', Operations: ['Encrypt'], Name: 'console-grant' }));
    await goTo('Keys', 'Keys');
    await page.getByRole('link', { name: keyId }).click();
    await page.getByRole('heading', { level: 1, name: 'Key alias/console-demo' }).waitFor();
    await assertLabelled();
    assert.equal(await page.locator('.page-head .badge').textContent(), 'Enabled');
    // It asks first: told no, the key stays enabled.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await page.getByRole('button', { name: 'Disable key' }).click();
    assert.equal((await kms.send(new DescribeKeyCommand({ KeyId: keyId }))).KeyMetadata?.KeyState, 'Enabled');
    const asked = new Promise<string>((resolve) => page.once('dialog', (dialog) => { resolve(dialog.message()); void dialog.accept(); }));
    await page.getByRole('button', { name: 'Disable key' }).click();
    assert.match(await asked, /^Disable [0-9a-f-]{36}\? Nothing can encrypt or decrypt with it until it is enabled again\.$/);
    await page.locator('.page-head .badge', { hasText: 'Disabled' }).waitFor();
    await page.getByRole('button', { name: 'Enable key' }).waitFor();
    const described = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(described.KeyMetadata?.KeyState, 'Disabled');
    await shot('05-key-disabled');
    // The key's own audit records, one click away: its creation, the Encrypt, the DisableKey just made.
    await page.getByRole('link', { name: 'Requests that named this key' }).click();
    await page.getByRole('heading', { level: 1, name: 'Audit trail' }).waitFor();
    assert.equal(await page.getByLabel('Key ID or ARN').inputValue(), keyId);
    const disabled = page.locator('tr[data-operation="DisableKey"]');
    await disabled.waitFor();
    assert.match(await disabled.textContent() ?? '', /success/);
    assert.equal(await page.locator('tr[data-operation="Encrypt"]').count(), 1);
    assert.equal(await page.locator('tr[data-operation="CreateKey"]').count(), 1);
    // Every record names this key; CreateAlias names its alias after it, as CloudTrail lists them.
    const otherKeys = await page.locator('tbody tr[data-operation] a').evaluateAll((links, id) => links.filter((a) => a.textContent !== id && a.textContent !== 'alias/console-demo').length, keyId);
    assert.equal(otherKeys, 0);
    assert.deepEqual(await page.locator('tr[data-operation="CreateAlias"] a').allTextContents(), [keyId, 'alias/console-demo']);
    await disabled.getByRole('link', { name: keyId }).click();
    await page.getByRole('heading', { level: 1, name: 'Key alias/console-demo' }).waitFor();
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Keys', exact: true }).click();
    await page.locator('tr', { hasText: 'alias/console-demo' }).locator('.badge', { hasText: 'Disabled' }).waitFor();
  });

  it('shows a policy syntax error inline, and the server refusing a malformed policy', async () => {
    await page.getByRole('link', { name: keyId }).click();
    const editor = page.getByLabel('Key policy document (JSON)');
    await page.waitForFunction(() => (document.querySelector<HTMLTextAreaElement>('#policy-text')?.value ?? '').includes('"Statement"'));
    const original = await editor.inputValue();
    await editor.fill(original.replace('"Statement"', '"Statement" "oops"'));
    const problem = page.locator('#policy-problem');
    await problem.waitFor();
    assert.match(await problem.textContent() ?? '', /^Not valid JSON: .*line \d+ column \d+/);
    assert.equal(await editor.getAttribute('aria-invalid'), 'true');
    assert.equal(await editor.getAttribute('aria-describedby'), 'policy-problem');
    assert.equal(await page.getByRole('button', { name: 'Save policy' }).isDisabled(), true);
    await problem.scrollIntoViewIfNeeded();
    await shot('06-policy-syntax-error');
    await assertAccessible('a key with a policy error');

    // Valid JSON that is not a valid key policy: the server says why, in the same place.
    await editor.fill(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Perhaps', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' }] }, null, 2));
    await page.waitForFunction(() => !document.querySelector('#policy-problem'));
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.locator('#policy-problem', { hasText: 'MalformedPolicyDocumentException' }).waitFor();
    assert.match(await problem.textContent() ?? '', /^MalformedPolicyDocumentException: ./);
    await shot('07-policy-refused');
  });

  it('enables, rotates now (with the rotation in the history), schedules and cancels deletion', async () => {
    await page.getByRole('button', { name: 'Revert' }).click();
    await page.getByRole('button', { name: 'Enable key' }).click();
    await page.locator('.page-head .badge', { hasText: 'Enabled' }).waitFor();
    await page.getByRole('button', { name: 'Rotate now' }).click();
    const history = page.locator('table', { has: page.locator('caption', { hasText: 'Rotation history' }) });
    await history.locator('td', { hasText: 'ON_DEMAND' }).waitFor();
    assert.equal(await history.locator('tbody tr').count(), 1);
    await page.getByLabel('Waiting period (days)').fill('7');
    page.once('dialog', (dialog) => void dialog.accept());
    await page.getByRole('button', { name: 'Schedule deletion' }).click();
    await page.locator('.page-head .badge', { hasText: 'PendingDeletion' }).waitFor();
    const pending = await kms.send(new DescribeKeyCommand({ KeyId: keyId }));
    assert.equal(pending.KeyMetadata?.KeyState, 'PendingDeletion');
    assert.equal(pending.KeyMetadata?.DeletionDate?.getTime(), FIXED_NOW + 7 * 86_400_000);
    await shot('08-pending-deletion');
    await page.getByRole('button', { name: 'Cancel deletion' }).click();
    // As in AWS, a key whose deletion is cancelled comes back disabled.
    await page.locator('.page-head .badge', { hasText: 'Disabled' }).waitFor();
  });

  it('turns automatic rotation on, adds and deletes an alias, revokes a grant', async () => {
    // Rotation settings need an enabled key (DisabledException otherwise, as in AWS).
    await page.getByRole('button', { name: 'Enable key' }).click();
    await page.locator('.page-head .badge', { hasText: 'Enabled' }).waitFor();
    await page.getByLabel('Every (days)').fill('180');
    await page.getByRole('button', { name: 'Turn on' }).click();
    await page.getByText(/^Automatic rotation: every 180 days, next on 2026-07-14 09:30:00$/).waitFor();
    const rotation = await kms.send(new GetKeyRotationStatusCommand({ KeyId: keyId }));
    assert.equal(rotation.KeyRotationEnabled, true);
    assert.equal(rotation.RotationPeriodInDays, 180);

    await page.getByLabel('New alias').fill('console-demo-2');
    await page.getByRole('button', { name: 'Add alias' }).click();
    const second = page.getByRole('button', { name: 'Delete alias alias/console-demo-2' });
    await second.waitFor();
    const aliasesOf = async () => ((await kms.send(new ListAliasesCommand({ KeyId: keyId }))).Aliases ?? []).map((a) => a.AliasName).sort();
    assert.deepEqual(await aliasesOf(), ['alias/console-demo', 'alias/console-demo-2']);
    page.once('dialog', (dialog) => void dialog.accept());
    await second.click();
    await second.waitFor({ state: 'detached' });
    assert.deepEqual(await aliasesOf(), ['alias/console-demo']);

    const grant = page.locator('tr', { hasText: 'console-grant' });
    assert.match(await grant.textContent() ?? '', /arn:aws:iam::111122223333:root.*Encrypt/);
    page.once('dialog', (dialog) => void dialog.accept());
    await grant.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('cell', { name: 'No grants.' }).waitFor();
    assert.deepEqual((await kms.send(new ListGrantsCommand({ KeyId: keyId }))).Grants, []);
  });

  it('warns before switching off the access key the console signs with, and keeps it when told no', async () => {
    await goTo('Principals', 'Principals and access keys');
    const own = page.locator('tr', { hasText: credentials.accessKeyId });
    await own.waitFor();
    const warned = new Promise<string>((resolve) => page.once('dialog', (dialog) => { resolve(dialog.message()); void dialog.dismiss(); }));
    await own.getByRole('button', { name: 'Deactivate' }).click();
    assert.match(await warned, /is the access key you are signed in with: the console stops working until you sign in with another\. Deactivate it\?$/);
    assert.equal(await own.locator('.badge').textContent(), 'Active');
    await kms.send(new ListKeysCommand({}));
  });

  it('creates a user and an access key whose secret is shown once', async () => {
    await goTo('Principals', 'Principals and access keys');
    await page.getByLabel('Name').fill('console-user');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const row = page.locator('tr', { hasText: 'user/console-user' });
    await row.waitFor();
    await row.getByRole('button', { name: 'Access keys' }).click();
    await page.getByRole('heading', { name: 'Access keys: user/console-user' }).waitFor();
    await page.getByRole('button', { name: 'Create access key' }).click();
    const secret = await page.getByLabel('Secret access key').inputValue();
    assert.equal(secret.length, 40);
    const accessKeyId = (await page.locator('section.panel tbody td.mono').first().textContent()) ?? '';
    userKey = { accessKeyId, secretAccessKey: secret };
    await shot('09-principals');
    await assertAccessible('the principals page');
    // The new key is real: it authenticates, and the user, with no policy, may not list keys.
    const asUser = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials: { accessKeyId, secretAccessKey: secret }, maxAttempts: 1 });
    try {
      await assert.rejects(asUser.send(new ListKeysCommand({})), { name: 'AccessDeniedException' });
    } finally {
      asUser.destroy();
    }
    await page.getByRole('button', { name: 'I have copied it' }).click();
    assert.equal(await page.getByLabel('Secret access key').count(), 0);
  });

  it('gives the user an identity policy, the server refusing a malformed one inline', async () => {
    await page.getByRole('button', { name: 'Add policy' }).click();
    await page.getByLabel('Policy name').fill('read-keys');
    const editor = page.getByLabel('Policy document (JSON)');
    // An identity policy names no Principal: the server says so, under the editor.
    await editor.fill(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: '*', Action: 'kms:ListKeys', Resource: '*' }] }));
    await page.getByRole('button', { name: 'Save policy' }).click();
    const problem = page.locator('#identity-policy-problem');
    await problem.waitFor();
    assert.match(await problem.textContent() ?? '', /^MalformedPolicyDocumentException: ./);
    await editor.fill(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:ListKeys', 'kms:ListAliases', 'kms:DescribeKey'], Resource: '*' }] }));
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('button', { name: 'Edit policy read-keys' }).waitFor();
    await page.getByRole('button', { name: 'Edit policy read-keys' }).click();
    assert.match(await editor.inputValue(), /"kms:DescribeKey"/);
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  it('asks before a new policy replaces one of the same name, and keeps it when told no', async () => {
    const editor = page.getByLabel('Policy document (JSON)');
    const addOver = async (answer: 'accept' | 'dismiss') => {
      await page.getByRole('button', { name: 'Add policy' }).click();
      await page.getByLabel('Policy name').fill('read-keys');
      await editor.fill(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:ListKeys', Resource: '*' }] }));
      const asked = new Promise<string>((resolve) => page.once('dialog', (dialog) => {
        resolve(dialog.message());
        void (answer === 'accept' ? dialog.accept() : dialog.dismiss());
      }));
      await page.getByRole('button', { name: 'Save policy' }).click();
      assert.match(await asked, /^A policy named read-keys exists\. Replace it/);
    };
    await addOver('dismiss');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByRole('button', { name: 'Edit policy read-keys' }).click();
    assert.match(await editor.inputValue(), /"kms:DescribeKey"/, 'kept');
    await page.getByRole('button', { name: 'Cancel' }).click();
    await addOver('accept');
    await page.getByRole('button', { name: 'Edit policy read-keys' }).waitFor();
    await page.getByRole('button', { name: 'Edit policy read-keys' }).click();
    assert.doesNotMatch(await editor.inputValue(), /"kms:DescribeKey"/, 'replaced');
    // The user's policy as the next test expects it.
    await editor.fill(JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:ListKeys', 'kms:ListAliases', 'kms:DescribeKey'], Resource: '*' }] }));
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('button', { name: 'Add policy' }).waitFor();
  });

  it('forgets the credentials on sign-out and on reload', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Coffer console' }).waitFor();
    assert.equal(await page.getByLabel('Secret access key').inputValue(), '');
    await page.getByLabel('Access key ID').fill(credentials.accessKeyId);
    await page.getByLabel('Secret access key').fill(credentials.secretAccessKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Signed in again on the page the address names: the principals page.
    await page.getByRole('heading', { level: 1, name: 'Principals and access keys' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Coffer console' }).waitFor();
    assert.equal(await page.getByLabel('Secret access key').inputValue(), '');
  });

  it('signs in as that user: the keys its policy allows, AWS errors for what it does not', async () => {
    await page.getByLabel('Access key ID').fill(userKey.accessKeyId);
    await page.getByLabel('Secret access key').fill(userKey.secretAccessKey);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    assert.equal(await page.locator('header .who').textContent(), 'arn:aws:iam::111122223333:user/console-user');
    await goTo('Keys', 'Keys');
    await page.locator('tr', { hasText: 'alias/console-demo' }).waitFor();
    assert.equal(await page.locator('table.data tbody tr[data-key-id]').count(), 4);
    await goTo('Principals', 'Principals and access keys');
    // Two refusals, in whichever order the answers come: the principal list and the user's own keys.
    const alert = page.getByRole('alert').filter({ hasText: 'coffer:ListUsers' });
    await alert.waitFor();
    assert.match(await alert.textContent() ?? '',
      /^AccessDeniedException: User: arn:aws:iam::111122223333:user\/console-user is not authorized to perform: coffer:ListUsers on resource: \*/);
    await page.getByRole('alert').filter({ hasText: 'coffer:ListAccessKeys' }).waitFor();
    await shot('10-access-denied');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Coffer console' }).waitFor();
  });

  it('refuses a wrong secret with the AWS error', async () => {
    await page.getByLabel('Access key ID').fill(credentials.accessKeyId);
    await page.getByLabel('Secret access key').fill('not-the-secret-not-the-secret-not-the-se');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').waitFor();
    assert.match(await page.getByRole('alert').textContent() ?? '', /^SignatureDoesNotMatch: /);
  });

  /** A page of its own, its clock under the test's hand, signed in on the keys page; closed by `body`'s end. */
  async function withClockedPage(body: (idle: Page) => Promise<void>): Promise<void> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'UTC' });
    try {
      const idle = await context.newPage();
      await idle.clock.install();
      await idle.goto(`${url}/keys`);
      await idle.getByLabel('Access key ID').fill(credentials.accessKeyId);
      await idle.getByLabel('Secret access key').fill(credentials.secretAccessKey);
      await idle.getByRole('button', { name: 'Sign in' }).click();
      await idle.getByRole('heading', { level: 1, name: 'Keys' }).waitFor();
      await body(idle);
    } finally {
      await context.close();
    }
  }

  it('signs out by itself after 30 minutes without a key press or click', async () => {
    await withClockedPage(async (idle) => {
      await idle.clock.fastForward('29:00');
      await idle.keyboard.press('Shift');
      await idle.clock.fastForward('29:00');
      assert.equal(await idle.getByRole('button', { name: 'Sign out' }).isVisible(), true, 'a key press restarts the 30 minutes');
      await idle.clock.fastForward('02:00');
      await idle.getByText('Signed out after 30 minutes without activity.').waitFor();
      assert.equal(await idle.getByLabel('Secret access key').inputValue(), '');
    });
  });

  it('counts time the machine slept toward the 30 minutes: the wall clock decides, not a timer', async () => {
    for (const wake of ['a key press', 'the next tick'] as const) {
      await withClockedPage(async (idle) => {
        // A sleep: the wall clock moves an hour on, and no timer runs meanwhile.
        const now = await idle.evaluate(() => Date.now());
        await idle.clock.setSystemTime(now + 60 * 60_000);
        if (wake === 'a key press') await idle.keyboard.press('Shift');
        else await idle.clock.runFor(10_000);
        // Before, the one 30-minute timer had not run, and the console stayed signed in.
        await idle.getByText('Signed out after 30 minutes without activity.').waitFor();
        assert.equal(await idle.getByLabel('Secret access key').inputValue(), '', wake);
      });
    }
  });

  it('logged no script error and no Content-Security-Policy refusal', () => {
    assert.deepEqual(pageErrors, []);
  });
});
