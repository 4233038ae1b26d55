import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import { CONSOLE_CSP, createConsoleHandler, findConsoleDir, isConsoleRequest } from '../src/http/console.js';
import { startTestServer, type TestServer } from './support/server.js';

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A request with the path exactly as given: fetch() would normalise `..` away before sending. */
function get(base: string, path: string, headers: Record<string, string> = {}, method = 'GET'): Promise<Answer> {
  const url = new URL(base);
  return new Promise((done, fail) => {
    const req = httpRequest({ host: url.hostname, port: url.port, path, method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

async function serve(handler: ReturnType<typeof createConsoleHandler>): Promise<{ base: string; server: Server }> {
  const server = createServer((req, res) => {
    if (isConsoleRequest(req)) return handler(req, res);
    res.writeHead(418).end();
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

const SECRET = 'not-for-the-console-0a1b2c';
const INDEX = '<!doctype html><title>fixture</title><div id="root"></div><script type="module" src="/console/assets/app-1234.js"></script>';

describe('console files', () => {
  let root: string;
  let web: string;
  let base: string;
  let server: Server;

  before(async () => {
    // <root>/secret.txt beside <root>/web, the console's directory: what traversal would reach.
    root = mkdtempSync(join(tmpdir(), 'coffer-console-'));
    web = join(root, 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(root, 'secret.txt'), SECRET);
    writeFileSync(join(web, 'index.html'), INDEX);
    writeFileSync(join(web, 'assets', 'app-1234.js'), `console.log(${JSON.stringify('x'.repeat(4000))});`);
    writeFileSync(join(web, 'assets', 'app-1234.css'), 'body{color:#000}');
    symlinkSync(join(root, 'secret.txt'), join(web, 'assets', 'linked.txt'));
    ({ base, server } = await serve(createConsoleHandler(web)));
  });

  after(() => {
    server.close();
    rmSync(root, { recursive: true, force: true });
  });

  it('serves index.html at /console, /console/ and client-side routes, not cached, with the security headers', async () => {
    for (const path of ['/console', '/console/', '/console/keys', '/console/keys/1234abcd-12ab-34cd-56ef-1234567890ab?tab=policy']) {
      const answer = await get(base, path);
      assert.equal(answer.status, 200, path);
      assert.equal(answer.body.toString(), INDEX, path);
      assert.equal(answer.headers['content-type'], 'text/html; charset=utf-8');
      assert.equal(answer.headers['cache-control'], 'no-cache');
      assert.equal(answer.headers['content-security-policy'], CONSOLE_CSP);
      assert.equal(answer.headers['x-content-type-options'], 'nosniff');
      assert.equal(answer.headers['referrer-policy'], 'no-referrer');
      assert.equal(answer.headers['x-frame-options'], 'DENY');
    }
    assert.match(CONSOLE_CSP, /script-src 'self'(;|$)/);
    assert.match(CONSOLE_CSP, /frame-ancestors 'none'/);
    assert.doesNotMatch(CONSOLE_CSP, /unsafe-inline|unsafe-eval/);
  });

  it('serves hashed assets with their type and a year of caching, gzipped when asked, 304 on a matching ETag', async () => {
    const plain = await get(base, '/console/assets/app-1234.js');
    assert.equal(plain.status, 200);
    assert.equal(plain.headers['content-type'], 'text/javascript; charset=utf-8');
    assert.equal(plain.headers['cache-control'], 'public, max-age=31536000, immutable');
    assert.equal(plain.headers['content-encoding'], undefined);
    const zipped = await get(base, '/console/assets/app-1234.js', { 'accept-encoding': 'gzip, deflate, br' });
    assert.equal(zipped.headers['content-encoding'], 'gzip');
    assert.ok(zipped.body.length < plain.body.length / 10);
    assert.deepEqual(gunzipSync(zipped.body), plain.body);
    const again = await get(base, '/console/assets/app-1234.js', { 'if-none-match': String(plain.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const css = await get(base, '/console/assets/app-1234.css');
    assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
    const head = await get(base, '/console/assets/app-1234.js', {}, 'HEAD');
    assert.equal(head.status, 200);
    assert.equal(head.headers['content-length'], String(plain.body.length));
    assert.equal(head.body.length, 0);
  });

  it('answers 404 for a missing file with an extension', async () => {
    const answer = await get(base, '/console/assets/missing-5678.js');
    assert.equal(answer.status, 404);
    assert.doesNotMatch(answer.body.toString(), /fixture/);
  });

  it('never serves a file outside the console directory, however the path is written', async () => {
    const paths = [
      '/console/../secret.txt', '/console/../../etc/passwd', '/console/assets/../../secret.txt',
      '/console/%2e%2e/secret.txt', '/console/%2E%2E%2Fsecret.txt', '/console/..%2fsecret.txt', '/console/..%5csecret.txt',
      '/console/..\\secret.txt', '/console/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '/console/%252e%252e/secret.txt',
      '/console//etc/passwd', '/console/%2fetc%2fpasswd', '/console/assets/linked.txt', '/console/secret.txt%00.js',
      '/console/%c0%ae%c0%ae/secret.txt', '/console/%E0%A4%A', '/console/./index.html',
    ];
    for (const path of paths) {
      const answer = await get(base, path);
      const text = answer.body.toString();
      assert.ok(!text.includes(SECRET) && !/root:.*:0:0:/.test(text), `${path} leaked a file`);
      assert.ok(answer.status === 404 || (answer.status === 200 && text === INDEX), `${path}: ${answer.status} ${text.slice(0, 80)}`);
    }
    // The ones that name a file by a parent segment are refused outright, not routed to the app.
    for (const path of ['/console/../secret.txt', '/console/%2e%2e/secret.txt', '/console/..%2fsecret.txt', '/console/assets/linked.txt']) {
      assert.equal((await get(base, path)).status, 404, path);
    }
  });

  it('says how to build the console when it is not built', async () => {
    const { base: bare, server: bareServer } = await serve(createConsoleHandler(join(root, 'no-such-build')));
    try {
      const answer = await get(bare, '/console');
      assert.equal(answer.status, 404);
      assert.match(answer.body.toString(), /The console is not built: run <code>npm run build<\/code>/);
      assert.equal(answer.headers['content-security-policy'], CONSOLE_CSP);
    } finally {
      bareServer.close();
    }
  });

  it('claims only GET and HEAD of /console and below', () => {
    const req = (method: string, url: string) => ({ method, url }) as Parameters<typeof isConsoleRequest>[0];
    assert.equal(isConsoleRequest(req('GET', '/console')), true);
    assert.equal(isConsoleRequest(req('HEAD', '/console/keys')), true);
    assert.equal(isConsoleRequest(req('POST', '/console')), false);
    assert.equal(isConsoleRequest(req('GET', '/')), false);
    assert.equal(isConsoleRequest(req('GET', '/consoles')), false);
    assert.equal(isConsoleRequest(req('GET', '/metrics')), false);
  });
});

describe('console on the server', () => {
  let t: TestServer;
  before(async () => { t = await startTestServer(); });
  after(async () => { await t.dispose(); });

  it('serves the built console at /console, and the API stays at POST /', async () => {
    const dir = findConsoleDir();
    assert.ok(dir && existsSync(join(dir, 'index.html')), 'the console is built by npm run build before the tests');
    const page = await get(t.server.endpoint, '/console/keys');
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<div id="root"><\/div>/);
    assert.match(page.body.toString(), /<script type="module" crossorigin src="\/console\/assets\/[\w-]+\.js"><\/script>/);
    assert.doesNotMatch(page.body.toString(), /<script>|<script type="module">/, 'no inline script: the CSP would refuse it');
    const api = await get(t.server.endpoint, '/');
    assert.equal(api.status, 400);
    assert.equal(JSON.parse(api.body.toString()).__type, 'UnknownOperationException');
  });
});
