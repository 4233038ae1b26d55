import assert from 'node:assert/strict';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, mock } from 'node:test';
import { FileRootKey } from '../src/root/file-root-key.js';
import { fileProvider } from '../src/root/providers/file.js';

/**
 * Records the path of every fsync, through the `node:fs` object that every ESM import of it is
 * bound to (syncBuiltinESMExports carries the mock over to the named imports).
 */
function recordFsyncs(): string[] {
  const open = fs.openSync;
  const fsync = fs.fsyncSync;
  const paths = new Map<number, string>();
  const synced: string[] = [];
  mock.method(fs, 'openSync', (...args: Parameters<typeof fs.openSync>) => {
    const fd = open(...args);
    paths.set(fd, String(args[0]));
    return fd;
  });
  mock.method(fs, 'fsyncSync', (fd: number) => {
    synced.push(paths.get(fd) ?? `fd ${fd}`);
    fsync(fd);
  });
  syncBuiltinESMExports();
  return synced;
}

describe('a new root key file', () => {
  afterEach(() => {
    mock.restoreAll();
    syncBuiltinESMExports();
  });

  it('is synced, and then its directory entry, before the store can name it (root.key of a fresh store)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-root-file-'));
    try {
      const synced = recordFsyncs();
      FileRootKey.create(join(dir, 'root.key'));
      assert.deepEqual(synced, [join(dir, 'root.key'), dir]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is synced, and then its directory entry, before the keyring names it (root-<id>.key of a rotation)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-root-file-'));
    try {
      const synced = recordFsyncs();
      const created = await fileProvider.create('0123456789abcdef', { dataDir: dir, options: {} });
      await created.sealer.close();
      assert.deepEqual(synced, [join(dir, 'root-0123456789abcdef.key'), dir]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
