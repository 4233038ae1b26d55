/**
 * Two nodes that make a root key at the same moment (the first one of a fresh store, or the new
 * one of a rotation): one keyring write wins, and the loser's key, which no keyring names, must
 * not stay behind: no orphan key file, no token object holding a label nobody can use again.
 */
import assert from 'node:assert/strict';
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openRootKey } from '../src/root/open-root-key.js';
import { SqliteStore } from '../src/store/sqlite.js';
import { initSoftHsmToken, SOFTHSM_LIBRARY, withLabelledObjects, type SoftHsmToken } from './support/softhsm.js';
import { tempDataDir } from './support/server.js';

// A token of this file's own (node --test runs each file in its own process).
const token: SoftHsmToken = initSoftHsmToken('coffer-race');

/** Two stores on one SQLite file: two nodes on one database, as far as the keyring is concerned. */
function twoNodes(): { dataDir: string; stores: [SqliteStore, SqliteStore] } {
  const dataDir = tempDataDir();
  mkdirSync(dataDir, { recursive: true });
  const path = join(dataDir, 'coffer.db');
  return { dataDir, stores: [new SqliteStore(path), new SqliteStore(path)] };
}

const keyFiles = (dataDir: string) => readdirSync(dataDir).filter((name) => /^root(-.*)?\.key$/.test(name)).sort();

/** Objects on this file's token labelled `label`. */
const objectsLabelled = (label: string): number => withLabelledObjects(token, label, (_module, _session, objects) => objects.length);

describe('two nodes making a root key at once', () => {
  it('the first root key of a fresh store, on a token: the loser\'s token object goes', async () => {
    const { dataDir, stores } = twoNodes();
    const onToken = (keyLabel: string) => ({ provider: 'pkcs11' as const, pkcs11: { library: SOFTHSM_LIBRARY, tokenLabel: token.label, pin: token.pin, keyLabel } });
    const roots = await Promise.all([openRootKey(dataDir, stores[0], onToken('first-a')), openRootKey(dataDir, stores[1], onToken('first-b'))]);
    const kept = String(roots[0].currentDescriptor.settings.keyLabel);
    try {
      assert.equal(roots[0].currentDescriptor.id, roots[1].currentDescriptor.id, 'both nodes use the one key');
    } finally {
      for (const root of roots) await root.close();
      for (const store of stores) await store.close();
    }
    // Counted once no root key holds the module (one initialisation per process).
    assert.equal(objectsLabelled(kept), 1);
    assert.equal(objectsLabelled(kept === 'first-a' ? 'first-b' : 'first-a'), 0, 'the loser\'s key is gone (or was never made)');
  });

  it('a rotation begun on both nodes at once: the loser\'s key file goes', async () => {
    const { dataDir, stores } = twoNodes();
    const first = await openRootKey(dataDir, stores[0], { provider: 'file' });
    const second = await openRootKey(dataDir, stores[1], {});
    try {
      const begun = await Promise.allSettled([first, second].map((root) => root.beginRotation('file', { dataDir, options: {} }, Date.now())));
      assert.deepEqual(begun.map((b) => b.status).sort(), ['fulfilled', 'rejected']);
      const lost = begun.find((b) => b.status === 'rejected') as PromiseRejectedResult;
      assert.match(String(lost.reason), /the root keyring changed while the rotation began/, 'both made a key (the race this is about)');
      const winner = (begun.find((b) => b.status === 'fulfilled') as PromiseFulfilledResult<{ settings: Record<string, unknown> }>).value;
      assert.deepEqual(keyFiles(dataDir), ['root.key', String(winner.settings.path)].sort(), 'the first key and the winner\'s, no other');
    } finally {
      await first.close();
      await second.close();
      for (const store of stores) await store.close();
    }
  });

  it('a rotation to PKCS#11 begun on both nodes at once: the loser\'s token object goes, and its label is free again', async () => {
    const { dataDir, stores } = twoNodes();
    const first = await openRootKey(dataDir, stores[0], { provider: 'file' });
    const second = await openRootKey(dataDir, stores[1], {});
    const onToken = (keyLabel: string) => ({ dataDir, options: { pkcs11: { library: SOFTHSM_LIBRARY, tokenLabel: token.label, pin: token.pin, keyLabel } } });
    let lost = -1;
    try {
      const begun = await Promise.allSettled([
        first.beginRotation('pkcs11', onToken('race-a'), Date.now()),
        second.beginRotation('pkcs11', onToken('race-b'), Date.now()),
      ]);
      lost = begun.findIndex((b) => b.status === 'rejected');
      assert.notEqual(lost, -1);
      assert.match(String((begun[lost] as PromiseRejectedResult).reason), /the root keyring changed while the rotation began/);
      assert.equal(begun[1 - lost]!.status, 'fulfilled');
    } finally {
      await first.close();
      await second.close();
      for (const store of stores) await store.close();
    }
    assert.equal(objectsLabelled(lost === 0 ? 'race-a' : 'race-b'), 0, 'the loser\'s key is gone');
    assert.equal(objectsLabelled(lost === 0 ? 'race-b' : 'race-a'), 1, 'the winner\'s key stays');
  });
});
