import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CreateKeyCommand, DecryptCommand, EncryptCommand, type KMSClient } from '@aws-sdk/client-kms';
import { changeUserPin, countTokenCalls, initSoftHsmToken, SOFTHSM_LIBRARY, takeTokenAway, type SoftHsmToken } from './support/softhsm.js';
import { errorOf, startTestServer, type TestServer } from './support/server.js';

// A token of this file's own, and every PKCS#11 call of this process counted, before any server
// loads the module (node --test runs each file in its own process).
const token: SoftHsmToken = initSoftHsmToken('coffer-readyz');
const tokenCalls = countTokenCalls();
const pkcs11 = { library: SOFTHSM_LIBRARY, tokenLabel: token.label, pin: token.pin };

/** The probe's interval; the tests move the probe's clock by hand, so no answer depends on how fast they run. */
const INTERVAL = 5_000;
/** A failed reopen of a root key is not tried again within a second (keyring-root-key.ts): wait that out. */
const pastReopenLimit = () => new Promise((done) => setTimeout(done, 1_100));

interface Logged { readonly level: string; readonly message: string; readonly fields: Record<string, unknown> }

async function probe(t: TestServer, path = '/readyz'): Promise<{ status: number; text: string }> {
  const response = await fetch(`${t.server.endpoint}${path}`);
  return { status: response.status, text: await response.text() };
}

/** The value of one sample in Prometheus text, or undefined when the series is absent. */
function sample(metrics: string, series: string): number | undefined {
  const line = metrics.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

/** How many calls of each PKCS#11 function `work` made (the server's module is this process's). */
async function callsDuring(work: () => Promise<unknown>): Promise<Record<string, number>> {
  const before = tokenCalls();
  await work();
  const after = tokenCalls();
  return Object.fromEntries(Object.entries(after).map(([name, n]) => [name, n - (before[name] ?? 0)]).filter(([, n]) => n !== 0));
}

async function newKey(kms: KMSClient): Promise<string> {
  return (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
}

describe('/readyz and a PKCS#11 root key whose token fails while serving (SoftHSM2)', () => {
  let clock = 0;
  const logged: Logged[] = [];
  /** Runs `test` with a fresh server whose root key is a new key on the token; the server is disposed after. */
  const withServer = async (keyLabel: string, test: (t: TestServer) => Promise<void>) => {
    const t = await startTestServer({
      rootKey: { provider: 'pkcs11', pkcs11: { ...pkcs11, keyLabel } },
      rootKeyWork: { probeIntervalMs: INTERVAL, probeClockForTests: () => clock },
      logger: (level, message, fields) => void logged.push({ level, message, fields: fields ?? {} }),
    });
    try {
      await test(t);
    } finally {
      await t.dispose();
    }
  };

  it('answers 503 naming the token\'s CKR_ code while the token is away, and 200 again once it is back and the root key opened again', () => withServer('readyz-root', async (t) => {
    const keyId = await newKey(t.kms);
    const blob = (await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('before the outage') }))).CiphertextBlob!;
    assert.deepEqual(await probe(t), { status: 200, text: 'ready\n' });
    assert.equal(sample(await (await probe(t, '/metrics')).text, 'coffer_root_key_usable'), 1);

    const putBack = takeTokenAway(token);
    try {
      clock += INTERVAL;
      const down = await probe(t);
      assert.equal(down.status, 503);
      assert.match(down.text, /^not ready: the pkcs11 root key cannot be used: .*the PKCS#11 token failed to unwrap with the key labelled 'readyz-root' \(CKR_[A-Z_]+;/);
      assert.ok(!down.text.includes(token.pin), 'the PIN is never shown');
      // The answer is the same through the outage: the code that began it stays named.
      await pastReopenLimit();
      clock += INTERVAL;
      const still = await probe(t);
      assert.equal(still.status, 503);
      assert.match(still.text, /\(CKR_[A-Z_]+;/);
      const metrics = (await probe(t, '/metrics')).text;
      assert.equal(sample(metrics, 'coffer_root_key_usable'), 0);
      assert.equal(sample(metrics, 'coffer_root_key_probes_total{outcome="unusable"}'), 2);
      // CreateKey wraps new material on the token: the node that /readyz took out cannot serve it.
      assert.equal((await errorOf(() => newKey(t.kms))).name, 'KMSInternalException');
    } finally {
      putBack();
    }
    await pastReopenLimit();
    clock += INTERVAL;
    // The probe opens the root key again: a new session and one login, proven by the check value.
    const recovery = await callsDuring(async () => assert.deepEqual(await probe(t), { status: 200, text: 'ready\n' }));
    assert.equal(recovery.C_Login, 1, JSON.stringify(recovery));
    assert.equal(recovery.C_OpenSession, 1, JSON.stringify(recovery));
    // Requests find the key open: no login of their own.
    const serving = await callsDuring(async () => {
      assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'before the outage');
      await newKey(t.kms);
    });
    assert.equal(serving.C_Login, undefined, JSON.stringify(serving));
    const metrics = (await probe(t, '/metrics')).text;
    assert.equal(sample(metrics, 'coffer_root_key_usable'), 1);
    // One warning when the node left /readyz, one line when it came back: not one per probe.
    assert.deepEqual(logged.filter((l) => l.message.includes('/readyz')).map((l) => [l.level, l.message]), [
      ['warn', 'root key unusable: /readyz answers 503'],
      ['info', 'root key usable again: /readyz answers 200'],
    ]);
    assert.ok(!JSON.stringify(logged).includes(token.pin), 'the PIN is never logged');
  }));

  it('costs the token one probe per interval however many ask: a flood of /readyz and /metrics shares it', () => withServer('flooded-root', async (t) => {
    const flood = async (expected: number) => {
      const answers = await Promise.all([
        ...Array.from({ length: 200 }, () => probe(t)),
        ...Array.from({ length: 20 }, () => probe(t, '/metrics')),
      ]);
      const readiness = answers.slice(0, 200);
      assert.deepEqual([...new Set(readiness.map((a) => a.status))], [expected]);
      assert.equal(new Set(readiness.map((a) => a.text)).size, 1, 'every caller gets the one answer');
      assert.ok(answers.slice(200).every((a) => a.status === 200));
    };

    clock += INTERVAL;
    const up = await callsDuring(() => flood(200));
    // One probe: the check value decrypted once on the token, nothing else.
    assert.deepEqual(up, { C_DecryptInit: 1, C_Decrypt: 1 });
    assert.deepEqual(await callsDuring(() => flood(200)), {}, 'within the interval the token is not asked');

    const putBack = takeTokenAway(token);
    let down: Record<string, number>;
    let again: Record<string, number>;
    try {
      clock += INTERVAL;
      down = await callsDuring(() => flood(503));
      assert.deepEqual(await callsDuring(() => flood(503)), {}, 'within the interval the token is not asked');
      await pastReopenLimit();
      clock += INTERVAL;
      again = await callsDuring(() => flood(503));
    } finally {
      putBack();
    }
    // The failed probe and its one reopen (the module initialised again once), whatever the flood's size.
    assert.equal(down.C_DecryptInit, 1, JSON.stringify(down));
    assert.equal(down.C_Initialize, 1, JSON.stringify(down));
    assert.ok(Object.values(down).reduce((a, b) => a + b, 0) <= 10, JSON.stringify(down));
    assert.ok(Object.values(again).reduce((a, b) => a + b, 0) <= 10, JSON.stringify(again));
    await pastReopenLimit();
    clock += INTERVAL;
    const back = await callsDuring(() => flood(200));
    assert.equal(back.C_Login, 1, JSON.stringify(back));
    assert.equal(back.C_OpenSession, 1, JSON.stringify(back));

    const metrics = (await probe(t, '/metrics')).text;
    // The start's probe is none: the first came with the first flood. Two floods each while up, away, back.
    assert.equal(sample(metrics, 'coffer_root_key_probes_total{outcome="usable"}'), 2);
    assert.equal(sample(metrics, 'coffer_root_key_probes_total{outcome="unusable"}'), 2);
  }));

  it('never tries again a PIN the token refused: a PIN changed during an outage keeps the node out of /readyz with one login, until a restart', () => withServer('pin-root', async (t) => {
    const newPin = '135792468';
    changeUserPin(token, token.pin, newPin);
    let putBack: (() => void) | undefined;
    try {
      // The logged-in session goes on: a PIN change alone stops nothing.
      clock += INTERVAL;
      assert.deepEqual(await probe(t), { status: 200, text: 'ready\n' });
      putBack = takeTokenAway(token);
      clock += INTERVAL;
      assert.equal((await probe(t)).status, 503);
      putBack();
      putBack = undefined;
      const answers: string[] = [];
      const calls = await callsDuring(async () => {
        for (let attempt = 0; attempt < 3; attempt++) {
          await pastReopenLimit();
          clock += INTERVAL;
          const [first] = await Promise.all(Array.from({ length: 50 }, () => probe(t)));
          assert.equal(first!.status, 503);
          answers.push(first!.text);
        }
      });
      assert.equal(calls.C_Login, 1, `one refused login, never another: ${JSON.stringify(calls)}`);
      assert.match(answers[0]!, /^not ready: the pkcs11 root key cannot be used: .*\(CKR_[A-Z_]+;.*The PKCS#11 PIN is wrong/);
      assert.match(answers[2]!, /The PKCS#11 PIN is wrong.*not tried again until a restart/);
      assert.ok(!answers.join('').includes(newPin) && !answers.join('').includes(token.pin), 'no PIN is shown');
    } finally {
      putBack?.();
      await t.stop();
      changeUserPin(token, newPin, token.pin);
    }
    // A restart with the PIN the token has now is ready again.
    const restarted = await t.restart();
    try {
      clock += INTERVAL;
      assert.deepEqual(await probe(restarted), { status: 200, text: 'ready\n' });
    } finally {
      await restarted.stop();
    }
  }));
});

describe('/readyz with a root key held in memory', () => {
  it('asks nothing of a remote KMS: a kms root key stays ready and serves after the remote goes away', async () => {
    const remote = await startTestServer();
    const remoteKeyId = await newKey(remote.kms);
    let clock = 0;
    const t = await startTestServer({
      rootKey: { provider: 'kms', kms: { endpoint: remote.server.endpoint, region: 'us-east-1', keyId: remoteKeyId, credentials: remote.credentials } },
      rootKeyWork: { probeIntervalMs: INTERVAL, probeClockForTests: () => clock },
    });
    try {
      await remote.dispose();
      clock += INTERVAL;
      assert.deepEqual(await probe(t), { status: 200, text: 'ready\n' });
      // The root key was decrypted at the start: the node wraps and unwraps without the remote.
      const keyId = await newKey(t.kms);
      const blob = (await t.kms.send(new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from('remote gone') }))).CiphertextBlob!;
      assert.equal(Buffer.from((await t.kms.send(new DecryptCommand({ CiphertextBlob: blob }))).Plaintext!).toString(), 'remote gone');
      const metrics = (await probe(t, '/metrics')).text;
      assert.equal(sample(metrics, 'coffer_root_key_usable'), 1);
      assert.equal(sample(metrics, 'coffer_root_key_probes_total{outcome="unusable"}'), 0);
    } finally {
      await t.dispose();
    }
  });
});
