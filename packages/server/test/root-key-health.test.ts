import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RootKeyHealth, type ProbedRootKey } from '../src/root/root-key-health.js';

/** A root key whose probe answers what the test says, counting the probes, and settling when the test lets it. */
function fakeRootKey() {
  const state = {
    probes: 0,
    answer: undefined as string | undefined,
    fails: undefined as Error | undefined,
    unusableReason: undefined as string | undefined,
    release: undefined as (() => void) | undefined,
  };
  const root: ProbedRootKey = {
    get unusableReason() {
      return state.unusableReason;
    },
    async probe() {
      state.probes++;
      await new Promise<void>((done) => (state.release = done));
      if (state.fails) throw state.fails;
      return state.answer;
    },
  };
  return { root, state };
}

describe('RootKeyHealth: one probe of the root keys shared by every caller', () => {
  it('callers during a probe wait for that probe; callers within the interval get its answer; after it, a new probe', async () => {
    const { root, state } = fakeRootKey();
    let clock = 0;
    const health = new RootKeyHealth(root, () => {}, { probeIntervalMs: 5_000, probeClockForTests: () => clock });
    const waiting = Array.from({ length: 100 }, () => health.check());
    assert.equal(state.probes, 1);
    state.release!();
    assert.deepEqual(new Set(await Promise.all(waiting)), new Set([undefined]));
    clock += 4_999;
    state.answer = 'the pkcs11 root key cannot be used: (CKR_DEVICE_REMOVED)';
    assert.equal(await health.check(), undefined, 'the last answer, within the interval');
    assert.equal(state.probes, 1);
    clock += 1;
    const next = health.check();
    state.release!();
    assert.equal(await next, 'the pkcs11 root key cannot be used: (CKR_DEVICE_REMOVED)');
    assert.equal(state.probes, 2);
    assert.deepEqual(health.probes, { usable: 1, unusable: 1 });
  });

  it('answers the keyring\'s own reason (a root key this node cannot open) at once, without a probe', async () => {
    const { root, state } = fakeRootKey();
    const health = new RootKeyHealth(root, () => {});
    state.unusableReason = 'the current root key cannot be opened on this node: wrong passphrase';
    assert.equal(await health.check(), state.unusableReason);
    assert.equal(state.probes, 0);
  });

  it('a probe that throws is a reason that names no detail, and the detail is logged; a later probe runs', async () => {
    const { root, state } = fakeRootKey();
    let clock = 0;
    const logged: [string, string, Record<string, unknown> | undefined][] = [];
    const health = new RootKeyHealth(root, (level, message, fields) => void logged.push([level, message, fields]), { probeIntervalMs: 1, probeClockForTests: () => clock });
    state.fails = new TypeError('a bug of ours at /srv/coffer');
    const failing = health.check();
    state.release!();
    assert.equal(await failing, 'the root key could not be checked');
    assert.deepEqual(logged, [
      ['error', 'root key probe failed', { error: 'a bug of ours at /srv/coffer' }],
      ['warn', 'root key unusable: /readyz answers 503', { reason: 'the root key could not be checked' }],
    ]);
    state.fails = undefined;
    clock += 1;
    const recovered = health.check();
    state.release!();
    assert.equal(await recovered, undefined);
    assert.deepEqual(logged.at(-1), ['info', 'root key usable again: /readyz answers 200', {}]);
  });
});
