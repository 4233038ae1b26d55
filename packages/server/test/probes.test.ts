/**
 * GET /metrics needs no credentials and renders every series: a client that pipelines hundreds of
 * scrapes must not make a rendering each (one rendering is milliseconds of the event loop; a
 * flood of them held every other client's request for tens of seconds). Scrapes that arrive while
 * one renders share it; a scrape after that one is answered gets a new rendering.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, it } from 'node:test';
import { createProbeHandler } from '../src/http/probes.js';

describe('probes: /metrics scrapes', () => {
  it('renders once for the scrapes that arrive while one renders, and anew for a scrape after they are answered', async () => {
    const SCRAPES = 40;
    let renderings = 0;
    let received = 0;
    // The first rendering ends only once every scrape has reached the handler: no race with the clock.
    let allArrived!: () => void;
    const arrived = new Promise<void>((done) => (allArrived = done));
    const probes = createProbeHandler({
      metrics: {
        async exposition() {
          renderings++;
          if (renderings === 1) await arrived;
          return { contentType: 'text/plain; version=0.0.4', text: `rendering ${renderings}\n` };
        },
      },
      readiness: async () => undefined,
    });
    const server = createServer((req, res) => {
      void probes(req, res);
      if (++received === SCRAPES) allArrived();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    try {
      const scrape = async () => (await fetch(url)).text();
      const texts = await Promise.all(Array.from({ length: SCRAPES }, scrape));
      assert.deepEqual(new Set(texts), new Set(['rendering 1\n']), 'every scrape got the one rendering');
      assert.equal(renderings, 1);
      // Nothing is kept once answered: what a later scrape shows is current.
      assert.equal(await scrape(), 'rendering 2\n');
      assert.equal(renderings, 2);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('a failed rendering fails only the scrapes that shared it', async () => {
    let renderings = 0;
    const probes = createProbeHandler({
      metrics: {
        async exposition() {
          renderings++;
          if (renderings === 1) throw new Error('the store did not answer');
          return { contentType: 'text/plain; version=0.0.4', text: 'ok\n' };
        },
      },
      readiness: async () => undefined,
    });
    const server = createServer((req, res) => void probes(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
    try {
      assert.equal((await fetch(url)).status, 503);
      const again = await fetch(url);
      assert.equal(again.status, 200);
      assert.equal(await again.text(), 'ok\n');
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('/readyz: calls that arrive while a readiness check runs share it, even past their 2 s answer, so a slow store is asked once', async () => {
    let checks = 0;
    let finish!: () => void;
    const slow = new Promise<void>((done) => (finish = done));
    const probes = createProbeHandler({
      metrics: { async exposition() { return { contentType: 'text/plain', text: '' }; } },
      readiness: async () => {
        checks++;
        // The first check outlives every answer below (each gives up after 2 s), as a locked table would.
        if (checks === 1) await slow;
        return undefined;
      },
    });
    const server = createServer((req, res) => void probes(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
    try {
      const answers = await Promise.all(Array.from({ length: 12 }, async () => (await fetch(url)).text()));
      assert.deepEqual(new Set(answers), new Set(['not ready: the store did not answer in time\n']));
      // A call after those answers, while the first check still runs: it waits on that one too.
      assert.equal(await (await fetch(url)).text(), 'not ready: the store did not answer in time\n');
      // Before, one check (one pooled connection) per call: 13.
      assert.equal(checks, 1);
      finish();
      await new Promise((done) => setImmediate(done));
      assert.equal(await (await fetch(url)).text(), 'ready\n');
      assert.equal(checks, 2);
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });

  it('/readyz: a call after the stop began says so at once, though a check that began before it still runs', async () => {
    let stopping = false;
    let finish!: () => void;
    const slow = new Promise<void>((done) => (finish = done));
    const probes = createProbeHandler({
      metrics: { async exposition() { return { contentType: 'text/plain', text: '' }; } },
      readiness: async () => { await slow; return undefined; },
      unready: () => (stopping ? 'shutting down' : undefined),
    });
    const server = createServer((req, res) => void probes(req, res));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/readyz`;
    try {
      const before = fetch(url).then((res) => res.text());
      await new Promise((done) => setTimeout(done, 50));
      stopping = true;
      const after = fetch(url).then((res) => res.text());
      await new Promise((done) => setTimeout(done, 50));
      finish();
      // Before, the second call joined the check that began before the stop, and said ready.
      assert.equal(await after, 'not ready: shutting down\n');
      assert.equal(await before, 'ready\n');
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});
