import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { startServer, type RunningServer } from '@coffer/server';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Browser, Page } from 'playwright-core';
import { openConsolePage, signIn } from './support/browser.js';
import { readCredentials } from './support/credentials.js';

/**
 * The principals page when the server refuses: what the operator typed and what they were looking
 * at stay as they were, beside the error. An operator who may list and create users but not delete
 * them makes both refusals real: a name already taken, and a delete their policy does not allow.
 */
const OPERATOR = { accessKeyId: 'AKIAOPERATOR000000001', secretAccessKey: 'operator-secret-operator-secret-000000001' };
const SEED = {
  principals: [
    {
      user: 'operator',
      accessKeys: [OPERATOR],
      policies: { operate: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['coffer:List*', 'coffer:CreateUser', 'coffer:PutPrincipalPolicy'], Resource: '*' }] } },
    },
    { user: 'taken', policies: { old: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: 'kms:DescribeKey', Resource: '*' }] } } },
  ],
};

describe('principals page refusals', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  const faults: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-console-principals-'));
    server = await startServer({ port: 0, dataDir, logger: () => {}, quotas: false, seed: SEED });
    ({ browser, page } = await openConsolePage(faults));
    await signIn(page, server.endpoint, '/principals', OPERATOR, 'Principals and access keys');
    await page.locator('tr', { hasText: 'user/taken' }).waitFor();
  });

  /** Opens the access-key panel (and the identity policies) of user `name`. */
  async function showAccessKeysOf(name: string): Promise<void> {
    await page.locator('tr', { hasText: `user/${name}` }).getByRole('button', { name: 'Access keys' }).click();
    await page.getByRole('heading', { level: 2, name: `Access keys: user/${name}` }).waitFor();
  }

  /** An admin call made behind the page's back (as from another tab or the CLI), as the account's root. */
  async function adminElsewhere(operation: string, body: object): Promise<void> {
    const url = new URL(server.endpoint);
    const signer = new SignatureV4({ credentials: readCredentials(server.credentialsFile), region: server.config.region, service: 'kms', sha256: Sha256 });
    const signed = await signer.sign({
      method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', query: {},
      headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `CofferAdmin.${operation}` },
      body: JSON.stringify(body),
    });
    const answer = await fetch(server.endpoint, { method: 'POST', headers: signed.headers, body: signed.body as string });
    assert.equal(answer.status, 200, await answer.text());
  }

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('lists the signed-in user once, marked as the caller', async () => {
    const rows = page.locator('tbody tr', { hasText: '(you)' });
    assert.equal(await rows.count(), 1);
    assert.match(String(await rows.locator('td').first().textContent()), /^user\/operator \(you\)$/);
    // Before, a row of its own ("user/operator (you)", with no id) came above the listed one.
    assert.equal(await page.locator('tbody tr', { hasText: 'user/operator' }).count(), 1);
  });

  it('moves the access-key panel off a user deleted elsewhere once the list is read again', async () => {
    await adminElsewhere('CreateUser', { UserName: 'doomed' });
    await page.getByLabel('Name', { exact: true }).fill('witness');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await showAccessKeysOf('doomed');
    await adminElsewhere('DeleteUser', { UserName: 'doomed' });
    // The next read of the list (here, after another Create) finds the user gone.
    await page.getByLabel('Name', { exact: true }).fill('witness-2');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Created user/witness-2.' }).waitFor();
    await page.locator('tr', { hasText: 'user/doomed' }).waitFor({ state: 'detached' });
    // Before, the panel stayed on user/doomed, each of its actions refused as NotFoundException.
    await page.getByRole('heading', { level: 2, name: 'Access keys: your own access keys' }).waitFor();
    assert.deepEqual(faults, []);
  });

  it('reads the list again when an action of the panel is refused because its user was deleted elsewhere, and says why the panel moved', async () => {
    await adminElsewhere('CreateUser', { UserName: 'vanished' });
    await page.getByLabel('Name', { exact: true }).fill('witness-3');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await showAccessKeysOf('vanished');
    await adminElsewhere('DeleteUser', { UserName: 'vanished' });
    // Saving a policy for the user now is refused (NotFoundException); nothing else reads the list.
    await page.getByRole('button', { name: 'Add policy' }).click();
    await page.getByLabel('Policy name').fill('late');
    await page.getByRole('button', { name: 'Save policy' }).click();
    // Before, the panel stayed on user/vanished and the user stayed listed until another change.
    await page.locator('tr', { hasText: 'user/vanished' }).waitFor({ state: 'detached' });
    await page.getByRole('heading', { level: 2, name: 'Access keys: your own access keys' }).waitFor();
    await page.getByRole('status').filter({ hasText: 'user/vanished no longer exists: it was deleted elsewhere.' }).waitFor();
    assert.deepEqual(faults, []);
  });

  it('keeps the typed name when Create is refused, and clears it when a principal is made', async () => {
    const name = page.getByLabel('Name', { exact: true });
    await name.fill('taken');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('alert').filter({ hasText: 'AlreadyExistsException' }).waitFor();
    assert.equal(await name.inputValue(), 'taken');
    await name.fill('fresh');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Created user/fresh.' }).waitFor();
    assert.equal(await name.inputValue(), '');
  });

  it('keeps the access-key panel on its principal when Delete is refused', async () => {
    const row = page.locator('tr', { hasText: 'user/taken' });
    await row.getByRole('button', { name: 'Access keys' }).click();
    const panel = page.getByRole('heading', { level: 2, name: /^Access keys: / });
    await page.getByRole('heading', { level: 2, name: 'Access keys: user/taken' }).waitFor();
    page.once('dialog', (dialog) => void dialog.accept());
    await row.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('alert').filter({ hasText: 'coffer:DeleteUser' }).waitFor();
    assert.equal(await panel.textContent(), 'Access keys: user/taken');
    assert.equal(await row.count(), 1);
    assert.deepEqual(faults, []);
  });

  it('drops a refusal shown above once the operator moves on to a principal\'s access keys', async () => {
    await page.getByLabel('Name', { exact: true }).fill('taken');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'AlreadyExistsException' });
    await refusal.waitFor();
    await showAccessKeysOf('operator');
    await refusal.waitFor({ state: 'detached' });
    assert.equal(await page.getByRole('alert').count(), 0);
    assert.deepEqual(faults, []);
  });

  it('drops a refusal in the access-key panel once the operator acts above it', async () => {
    await showAccessKeysOf('taken');
    await page.getByRole('button', { name: 'Create access key' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'coffer:CreateAccessKey' });
    await refusal.waitFor();
    await page.getByLabel('Name', { exact: true }).fill('later');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.getByRole('status').filter({ hasText: 'Created user/later.' }).waitFor();
    // Before, the panel's refusal stayed beside the later success.
    assert.equal(await refusal.count(), 0);
    assert.deepEqual(faults, []);
  });

  it('drops the identity-policy panel\'s own refusal when a later action of that panel starts', async () => {
    await showAccessKeysOf('taken');
    // Edit reads the policy, which this operator may not (no coffer:GetPrincipalPolicy).
    await page.getByRole('button', { name: 'Edit policy old' }).click();
    const refusal = page.getByRole('alert').filter({ hasText: 'coffer:GetPrincipalPolicy' });
    await refusal.waitFor();
    await page.getByRole('button', { name: 'Add policy' }).click();
    // Before, the refusal of Edit stayed through Add and a successful Save, the only message shown.
    assert.equal(await refusal.count(), 0);
    await page.getByLabel('Policy name').fill('new');
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('button', { name: 'Edit policy new' }).waitFor();
    assert.equal(await page.getByRole('alert').count(), 0);
    assert.deepEqual(faults, []);
  });
});
