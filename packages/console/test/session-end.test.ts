import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startServer, type RunningServer } from '@coffer/server';
import type { Browser, Page } from 'playwright-core';
import { openConsolePage } from './support/browser.js';
import { readCredentials } from './support/credentials.js';

/**
 * What is left in a tab once its session ends, for whoever sits at it with DevTools: the signed-in
 * app's API client can be reached through React's own bookkeeping on any element, and a copy of
 * it taken while signed in must sign nothing after sign-out or the idle sign-out.
 */
describe('console session end', () => {
  let dataDir: string;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let credentials: { accessKeyId: string; secretAccessKey: string };
  const faults: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-console-session-end-'));
    server = await startServer({ port: 0, dataDir, logger: () => {}, quotas: false });
    credentials = readCredentials(server.credentialsFile);
    ({ browser, page } = await openConsolePage(faults));
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const signIn = async (tab: Page) => {
    await tab.getByLabel('Access key ID').fill(credentials.accessKeyId);
    await tab.getByLabel('Secret access key').fill(credentials.secretAccessKey);
    await tab.getByRole('button', { name: 'Sign in' }).click();
    await tab.getByRole('button', { name: 'Sign out' }).waitFor();
  };
  /** Keeps the session's API client in `window.kept`, found as DevTools would: from the header's React fiber up to the session's provider. */
  const keepApi = (tab: Page) => tab.evaluate(() => {
    type Fiber = { return: Fiber | null; memoizedProps?: { value?: { api?: unknown } } };
    const header = document.querySelector('header .who')! as unknown as Record<string, Fiber>;
    let fiber: Fiber | null = header[Object.keys(header).find((name) => name.startsWith('__reactFiber$'))!]!;
    while (fiber && !fiber.memoizedProps?.value?.api) fiber = fiber.return;
    (window as unknown as { kept: unknown }).kept = fiber?.memoizedProps?.value?.api;
  });
  /** What the kept client gets for CofferAdmin.ListUsers: `answered`, or the name of its error. */
  const callKept = (tab: Page) => tab.evaluate(() => {
    const kept = (window as unknown as { kept: { admin(op: string): Promise<unknown> } }).kept;
    return kept.admin('ListUsers').then(() => 'answered', (error: Error) => error.name);
  });

  it('a client kept from the session signs nothing after Sign out', async () => {
    await page.goto(`${server.endpoint}/console/`);
    await signIn(page);
    await keepApi(page);
    assert.equal(await callKept(page), 'answered', 'the kept client is the session\'s');
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Coffer console' }).waitFor();
    assert.equal(await callKept(page), 'SignedOut');
    // Signing in again makes a new session that works; the old client stays refused.
    await signIn(page);
    assert.equal(await callKept(page), 'SignedOut');
    assert.deepEqual(faults, []);
  });

  it('a client kept from the session signs nothing after the idle sign-out', async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, timezoneId: 'UTC' });
    try {
      const idle = await context.newPage();
      await idle.clock.install();
      await idle.goto(`${server.endpoint}/console/keys`);
      await signIn(idle);
      await keepApi(idle);
      assert.equal(await callKept(idle), 'answered');
      await idle.clock.fastForward('31:00');
      await idle.getByText('Signed out after 30 minutes without activity.').waitFor();
      assert.equal(await callKept(idle), 'SignedOut');
    } finally {
      await context.close();
    }
  });
});
