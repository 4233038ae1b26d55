import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** The viewport the console tests render at. */
export const PAGE_WIDTH = 1280;

/**
 * Debian's Chromium, headless, with one page (1280×800, UTC, en-US). Script errors and console
 * errors land in `faults`, except a refused API call's logged 4xx: anything else there (a CSP
 * refusal, a React error) is a fault of the console.
 */
export async function openConsolePage(faults: string[]): Promise<{ browser: Browser; page: Page }> {
  assert.ok(existsSync(CHROMIUM), `no Chromium at ${CHROMIUM}: apt-get install chromium (Debian), or set CHROMIUM_PATH`);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  const context = await browser.newContext({ viewport: { width: PAGE_WIDTH, height: 800 }, timezoneId: 'UTC', locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  page.on('pageerror', (error) => faults.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error' && !/status of 4\d\d/.test(message.text())) faults.push(message.text());
  });
  return { browser, page };
}

/** Opens the console at `path`, signs in with the access key, and waits for the page's heading. */
export async function signIn(page: Page, endpoint: string, path: string, credentials: { accessKeyId: string; secretAccessKey: string }, heading: string): Promise<void> {
  await page.goto(`${endpoint}/console${path}`);
  await page.getByLabel('Access key ID').fill(credentials.accessKeyId);
  await page.getByLabel('Secret access key').fill(credentials.secretAccessKey);
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

/** Goes to a console route in the page, as its own links do (no reload: the session stays signed in). */
export function goInApp(page: Page, route: string): Promise<void> {
  return page.evaluate((to) => {
    history.pushState(null, '', `/console${to}`);
    dispatchEvent(new PopStateEvent('popstate'));
  }, route);
}
