import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, DescribeKeyCommand, GetKeyPolicyCommand, KMSClient, TagResourceCommand, type CreateKeyCommandInput,
} from '@aws-sdk/client-kms';
import { startServer, type RunningServer } from '@coffer/server';
import type { Browser, Page } from 'playwright-core';
import { openConsolePage, PAGE_WIDTH, signIn, goInApp as goToRoute } from './support/browser.js';
import { readCredentials } from './support/credentials.js';

/**
 * What API callers store (descriptions, aliases, tags, grants, key policies) or ask (what the audit
 * trail and error messages quote) shown to an operator in the console: inert, inside the page's
 * width, bidirectional controls shown rather than obeyed, and one unreadable key never hiding the others.
 */
const MARKUP = '<img src=x onerror=alert(1)><script>alert(2)</script>"\'><svg onload=alert(3)>';
// A right-to-left override left open: without isolation it would reorder the tags shown after it.
const OVERRIDE = '\u202egpj.exe';
// As a caller stored it: compact, with a number JSON.parse cannot hold (it reads 12345678901234567000).
const BIG_NUMBER_POLICY = '{"Version":"2012-10-17","Statement":[{"Sid":"Root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"},"Action":"kms:*","Resource":"*"},'
  + '{"Sid":"X","Effect":"Deny","Principal":"*","Action":"kms:Decrypt","Resource":"*","Condition":{"NumericLessThan":{"kms:GrantConstraintType":12345678901234567890}}}]}';
const BIG_NUMBER_IDENTITY_POLICY = '{"Version":"2012-10-17","Statement":[{"Sid":"X","Effect":"Allow","Action":"kms:Decrypt","Resource":"*",'
  + '"Condition":{"NumericLessThan":{"kms:GrantConstraintType":12345678901234567890}}}]}';

describe('console with hostile values', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let kms: KMSClient;
  const ids = { long: '', markup: '', undescribable: '', bigNumber: '' };
  // Pairs that read the same when tags are joined as `k=v, k=v`: one tag passing for two, and a
  // `=` moving from the key into the value.
  const spoofs = { oneTag: '', twoTags: '', keyWithEquals: '', valueWithEquals: '' };
  const faults: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-console-hostile-'));
    server = await startServer({ port: 0, dataDir, logger: () => {}, quotas: false });
    const credentials = readCredentials(server.credentialsFile);
    kms = new KMSClient({ endpoint: server.endpoint, region: server.config.region, credentials, maxAttempts: 1 });
    const create = async (input: CreateKeyCommandInput) =>
      (await kms.send(new CreateKeyCommand(input))).KeyMetadata!.KeyId!;
    ids.long = await create({ Description: 'L'.repeat(8192) });
    await kms.send(new CreateAliasCommand({ AliasName: `alias/${'a'.repeat(250)}`, TargetKeyId: ids.long }));
    ids.markup = await create({ Description: MARKUP });
    await kms.send(new TagResourceCommand({
      KeyId: ids.markup,
      Tags: [{ TagKey: 'label', TagValue: OVERRIDE }, { TagKey: 'owner', TagValue: 'alice' }, { TagKey: MARKUP.slice(0, 60), TagValue: MARKUP }],
    }));
    // Grant constraints are the caller's own text; so is a key named in a refused request.
    const grant = { KeyId: ids.markup, GranteePrincipal: 'arn:aws:iam::111122223333:root', Operations: ['Decrypt' as const] };
    await kms.send(new CreateGrantCommand({ ...grant, Constraints: { EncryptionContextEquals: { tenant: OVERRIDE } } }));
    await kms.send(new CreateGrantCommand({ ...grant, Constraints: { SourceArn: `arn:aws:s3:::bucket${OVERRIDE}` } }));
    await kms.send(new DescribeKeyCommand({ KeyId: `alias/${OVERRIDE}` })).catch((error: Error) => assert.equal(error.name, 'NotFoundException'));
    ids.bigNumber = await create({ Description: 'big number', Policy: BIG_NUMBER_POLICY });
    spoofs.oneTag = await create({ Tags: [{ TagKey: 'env', TagValue: 'dev, owner=security' }] });
    spoofs.twoTags = await create({ Tags: [{ TagKey: 'env', TagValue: 'dev' }, { TagKey: 'owner', TagValue: 'security' }] });
    spoofs.keyWithEquals = await create({ Tags: [{ TagKey: 'team=ops', TagValue: 'x' }] });
    spoofs.valueWithEquals = await create({ Tags: [{ TagKey: 'team', TagValue: 'ops=x' }] });
    // Listed, but DescribeKey is denied to everyone by its key policy.
    ids.undescribable = await create({
      Description: 'not for describing',
      Policy: JSON.stringify({
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: 'arn:aws:iam::111122223333:root' }, Action: 'kms:*', Resource: '*' },
          { Effect: 'Deny', Principal: '*', Action: 'kms:DescribeKey', Resource: '*' },
        ],
      }),
    });

    ({ browser, page } = await openConsolePage(faults));
    page.on('dialog', (dialog) => { faults.push(`dialog: ${dialog.message()}`); void dialog.dismiss(); });
    await signIn(page, server.endpoint, '/keys', credentials, 'Keys');
  });

  after(async () => {
    await browser?.close();
    kms?.destroy();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** Moves within the app as its links do: a reload would drop the session by design. */
  const goInApp = (route: string) => goToRoute(page, route);
  /** Every bidirectional control in the page's text, its title, and its elements' titles and labels. */
  const rawControls = () => page.evaluate(() => {
    const texts = [document.body.innerText, document.title, ...[...document.querySelectorAll('[title], [aria-label]')]
      .flatMap((el) => [el.getAttribute('title') ?? '', el.getAttribute('aria-label') ?? ''])];
    return texts.filter((text) => /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/.test(text)).map((text) => text.slice(0, 120));
  });
  const shown = OVERRIDE.replace('\u202e', '<U+202E>');

  const pageWidth = () => page.evaluate(() => document.documentElement.scrollWidth);

  it('lists every key, a key it may not describe as a row saying why, within the page width', async () => {
    for (const id of Object.values(ids)) await page.locator(`tr[data-key-id="${id}"]`).waitFor();
    // A row shows "Loading…" until its DescribeKey answers: wait for the answers, not just the rows.
    await page.locator(`tr[data-key-id="${ids.undescribable}"]`, { hasText: /Not described: AccessDeniedException/ }).waitFor();
    await page.locator(`tr[data-key-id="${ids.markup}"]`, { hasText: '<img src=x onerror=alert(1)>' }).waitFor();
    assert.match(await page.locator(`tr[data-key-id="${ids.undescribable}"]`).innerText(), /Not described: AccessDeniedException/);
    assert.ok(await pageWidth() <= PAGE_WIDTH, `the keys page is ${await pageWidth()} px wide`);
    // The key id links of every row are on screen, not pushed off by a long description.
    const box = await page.locator(`tr[data-key-id="${ids.markup}"] a`).boundingBox();
    assert.ok(box && box.x + box.width <= PAGE_WIDTH);
    assert.equal(await page.locator('main img, main svg, main script').count(), 0);
    assert.match(await page.locator(`tr[data-key-id="${ids.markup}"]`).innerText(), /<img src=x onerror=alert\(1\)>/);
  });

  it('says why the alias of a key it created was not made', async () => {
    await page.getByRole('button', { name: 'Create key' }).click();
    await page.getByLabel('Description').fill('alias refused');
    await page.getByLabel('Alias').fill('alias/aws/reserved');
    await page.locator('form.panel button[type=submit]').click();
    await page.getByText(/^Created key [0-9a-f-]{36}, but not its alias alias\/aws\/reserved\.$/).waitFor();
    assert.match(await page.getByRole('alert').innerText(), /^NotAuthorizedException: .*alias\/aws\//);
  });

  it('shows a key with a long alias and description within the page width', async () => {
    await page.locator(`tr[data-key-id="${ids.long}"] a`).click();
    await page.getByRole('heading', { level: 1, name: /^Key alias\/a+$/ }).waitFor();
    assert.ok(await pageWidth() <= PAGE_WIDTH, `the key page is ${await pageWidth()} px wide`);
  });

  it('shows markup as text, isolates each tag and shows an override rather than obeying it, so it reorders nothing', async () => {
    await page.goto(`${server.endpoint}/console/keys`).catch(() => {});
    await page.getByLabel('Access key ID').waitFor();
    // A reload forgets the session by design: sign in again through the same form.
    const credentials = readCredentials(server.credentialsFile);
    await page.getByLabel('Access key ID').fill(credentials.accessKeyId);
    await page.getByLabel('Secret access key').fill(credentials.secretAccessKey);
    await page.keyboard.press('Enter');
    await page.locator(`tr[data-key-id="${ids.markup}"] a`).click();
    await page.getByRole('heading', { level: 1, name: `Key ${ids.markup}` }).waitFor();
    const tags = page.locator('dl.meta dt:has-text("Tags") + dd');
    await tags.locator('bdi').first().waitFor();
    // The override is shown, not obeyed: it would reverse the value itself, which isolation cannot stop.
    assert.deepEqual((await tags.locator('bdi').allTextContents()).sort(),
      ['label', OVERRIDE.replace('\u202e', '<U+202E>'), 'owner', 'alice', MARKUP.slice(0, 60), MARKUP].map((text) => JSON.stringify(text)).sort());
    assert.equal(await page.locator('main img, main svg, main script').count(), 0);
    assert.deepEqual(faults, []);
  });

  it('shows the bidirectional controls of grant constraints as <U+202E>', async () => {
    const grants = page.locator('section[aria-labelledby=grants-title]');
    await grants.locator('td.free', { hasText: /^equals / }).waitFor();
    assert.equal(await grants.locator('td.free', { hasText: /^equals / }).textContent(), `equals {"tenant"=${JSON.stringify(shown)}}`);
    assert.equal(await grants.locator('td.free', { hasText: /^source / }).textContent(), `source arn:aws:s3:::bucket${shown}`);
    assert.deepEqual(await rawControls(), []);
  });

  it('shows the bidirectional controls of audit records as <U+202E>', async () => {
    await goInApp('/audit?operation=DescribeKey&outcome=NotFoundException');
    const row = page.locator('tr[data-operation="DescribeKey"]');
    await row.first().waitFor();
    assert.equal(await row.count(), 1);
    assert.equal(await row.locator('.hint').textContent(), ` Alias arn:aws:kms:us-east-1:111122223333:alias/${shown} is not found.`);
    assert.deepEqual(await rawControls(), []);
  });

  it('shows the bidirectional controls of a key id in the address, and of the error quoting it, as <U+202E>', async () => {
    await goInApp(`/keys/${encodeURIComponent(`alias/${OVERRIDE}`)}`);
    await page.getByRole('heading', { level: 1, name: `Key alias/${shown}` }).waitFor();
    // A key page by alias asks DescribeKey alone (which takes an alias), and shows its refusal.
    const notFound = page.getByRole('alert').filter({ hasText: 'is not found' });
    await notFound.first().waitFor();
    assert.equal(await notFound.first().textContent(), `NotFoundException: Alias arn:aws:kms:us-east-1:111122223333:alias/${shown} is not found.`);
    assert.equal(await page.title(), `Key alias/${shown} · Coffer console`);
    assert.deepEqual(await rawControls(), []);
    assert.deepEqual(faults, []);
  });

  it('shows a key policy exactly as stored and saves exactly what the editor holds', async () => {
    await goInApp(`/keys/${ids.bigNumber}`);
    const editor = page.locator('#policy-text:enabled');
    await editor.waitFor();
    assert.equal(await editor.inputValue(), BIG_NUMBER_POLICY);
    const edited = BIG_NUMBER_POLICY.replace('"Sid":"X"', '"Sid":"Y"');
    await editor.fill(edited);
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('status').filter({ hasText: 'Key policy saved.' }).waitFor();
    assert.equal((await kms.send(new GetKeyPolicyCommand({ KeyId: ids.bigNumber, PolicyName: 'default' }))).Policy, edited);
    await editor.fill('{}');
    await page.getByRole('button', { name: 'Revert' }).click();
    await page.waitForFunction((text) => (document.getElementById('policy-text') as HTMLTextAreaElement).value === text, edited);
  });

  it('shows an identity policy exactly as stored', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Principals', exact: true }).click();
    await page.getByLabel('Name', { exact: true }).fill('numbers');
    await page.getByRole('button', { name: 'Create', exact: true }).click();
    await page.locator('tr', { hasText: 'user/numbers' }).getByRole('button', { name: 'Access keys' }).click();
    await page.getByRole('heading', { name: 'Access keys: user/numbers' }).waitFor();
    await page.getByRole('button', { name: 'Add policy' }).click();
    await page.getByLabel('Policy name').fill('big-number');
    await page.getByLabel('Policy document (JSON)').fill(BIG_NUMBER_IDENTITY_POLICY);
    await page.getByRole('button', { name: 'Save policy' }).click();
    await page.getByRole('button', { name: 'Edit policy big-number' }).click();
    await page.waitForFunction(() => (document.getElementById('identity-policy-name') as HTMLInputElement | null)?.value === 'big-number');
    assert.equal(await page.getByLabel('Policy document (JSON)').inputValue(), BIG_NUMBER_IDENTITY_POLICY);
    assert.deepEqual(faults, []);
  });

  it('shows each tag so that no tag passes for two, and no = moves between key and value', async () => {
    const tagsOf = async (keyId: string) => {
      await goInApp(`/keys/${keyId}`);
      await page.getByRole('heading', { level: 1, name: `Key ${keyId}` }).waitFor();
      const tags = page.locator('dl.meta dt:has-text("Tags") + dd');
      await tags.locator('bdi').first().waitFor();
      return { text: await tags.innerText(), count: await tags.locator('li').count() };
    };
    const oneTag = await tagsOf(spoofs.oneTag);
    const twoTags = await tagsOf(spoofs.twoTags);
    assert.deepEqual([oneTag.count, twoTags.count], [1, 2]);
    assert.notEqual(oneTag.text, twoTags.text);
    assert.equal(oneTag.text, '"env" = "dev, owner=security"');
    const keyWithEquals = await tagsOf(spoofs.keyWithEquals);
    const valueWithEquals = await tagsOf(spoofs.valueWithEquals);
    assert.notEqual(keyWithEquals.text, valueWithEquals.text);
    assert.deepEqual([keyWithEquals.text, valueWithEquals.text], ['"team=ops" = "x"', '"team" = "ops=x"']);
    assert.deepEqual(faults, []);
  });
});
