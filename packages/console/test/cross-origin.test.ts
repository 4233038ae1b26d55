import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import { startServer, type RunningServer } from '@coffer/server';
import { SignatureV4 } from '@smithy/signature-v4';
import type { Browser, Page } from 'playwright-core';
import { openConsolePage } from './support/browser.js';
import { readCredentials } from './support/credentials.js';

/**
 * A browser app on another origin calling Coffer's KMS protocol, as one using an AWS SDK calls AWS
 * KMS (a CORS service of the JavaScript SDK): the browser's preflight is answered, and the page
 * reads the answers, a signed request's and an error's. The probes stay closed to other origins.
 */
describe('KMS calls from a page of another origin (CORS)', () => {
  let dataDir: string;
  let server: RunningServer;
  let app: Server;
  let browser: Browser;
  let page: Page;
  const faults: string[] = [];

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'coffer-cors-'));
    server = await startServer({ port: 0, dataDir, logger: () => {}, quotas: false });
    // The app's own origin: another port is another origin.
    app = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end('<!doctype html><title>app</title>'));
    app.listen(0, '127.0.0.1');
    await once(app, 'listening');
    ({ browser, page } = await openConsolePage(faults));
    await page.goto(`http://127.0.0.1:${(app.address() as AddressInfo).port}/`);
  });

  after(async () => {
    await browser?.close();
    app?.close();
    await server?.close();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  /** What the page's fetch saw, or the error it threw (a CORS refusal is a TypeError). */
  const fetchFromPage = (url: string, init: { method: string; headers?: Record<string, string>; body?: string }) =>
    page.evaluate(async ([to, options]) => {
      try {
        const res = await fetch(to, options);
        return { status: res.status, requestId: res.headers.get('x-amzn-RequestId'), body: await res.text() };
      } catch (error) {
        return { error: String(error) };
      }
    }, [url, init] as const);

  it('answers a signed GenerateRandom the page sends, and the page reads it', async () => {
    const url = new URL(server.endpoint);
    const body = JSON.stringify({ NumberOfBytes: 16 });
    const signer = new SignatureV4({ credentials: readCredentials(server.credentialsFile), region: server.config.region, service: 'kms', sha256: Sha256 });
    const signed = await signer.sign({
      method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/', query: {},
      headers: { host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'TrentService.GenerateRandom' },
      body,
    });
    // The browser sets Host itself; the custom headers make it send a preflight first.
    const { host: _host, ...headers } = signed.headers;
    const answer = await fetchFromPage(server.endpoint, { method: 'POST', headers, body });
    assert.equal('error' in answer ? answer.error : answer.status, 200);
    assert.ok(!('error' in answer));
    assert.equal(Buffer.from(String(JSON.parse(answer.body).Plaintext), 'base64').length, 16);
    assert.match(String(answer.requestId), /^[0-9a-f-]{36}$/);
  });

  it('lets the page read an error (an unsigned call), with its request id', async () => {
    const answer = await fetchFromPage(server.endpoint, {
      method: 'POST', headers: { 'Content-Type': 'application/x-amz-json-1.1', 'X-Amz-Target': 'TrentService.ListKeys' }, body: '{}',
    });
    assert.ok(!('error' in answer), 'error' in answer ? answer.error : '');
    assert.equal(answer.status, 400);
    assert.equal(JSON.parse(answer.body).__type, 'MissingAuthenticationTokenException');
    assert.match(String(answer.requestId), /^[0-9a-f-]{36}$/);
  });

  it('keeps /metrics closed to other origins', async () => {
    const answer = await fetchFromPage(`${server.endpoint}/metrics`, { method: 'GET' });
    assert.ok('error' in answer, 'the page could read /metrics');
  });
});
