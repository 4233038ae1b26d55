import assert from 'node:assert/strict';
import fs, { chmodSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, it, mock } from 'node:test';
import { startServer } from '../src/index.js';
import { FileRootKey } from '../src/root/file-root-key.js';
import { fileProvider } from '../src/root/providers/file.js';
import { tempDataDir } from './support/server.js';

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

/** Every write to a file whose name starts with `prefix` fails as on a full disk (ENOSPC). */
function failWritesTo(prefix: string): void {
  const open = fs.openSync;
  const write = fs.writeSync;
  const failing = new Set<number>();
  mock.method(fs, 'openSync', (...args: Parameters<typeof fs.openSync>) => {
    const fd = open(...args);
    if (String(args[0]).startsWith(prefix)) failing.add(fd);
    return fd;
  });
  mock.method(fs, 'writeSync', (fd: number, ...rest: unknown[]) => {
    if (failing.has(fd)) throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC', errno: -28, syscall: 'write' });
    return (write as (...args: unknown[]) => number)(fd, ...rest);
  });
  syncBuiltinESMExports();
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
      // The bytes are synced under a temporary name that becomes root.key, then the directory.
      assert.deepEqual(synced, [join(dir, `root.key.${process.pid}.tmp`), dir]);
      assert.deepEqual(readdirSync(dir), ['root.key']);
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
      assert.deepEqual(synced, [join(dir, `root-0123456789abcdef.key.${process.pid}.tmp`), dir]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('that cannot be written (a full disk) leaves nothing behind, and is made at the next try', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-root-file-'));
    try {
      failWritesTo(join(dir, 'root.key'));
      assert.throws(() => FileRootKey.create(join(dir, 'root.key')), { code: 'ENOSPC' });
      assert.deepEqual(readdirSync(dir), []);
      mock.restoreAll();
      syncBuiltinESMExports();
      FileRootKey.create(join(dir, 'root.key'));
      assert.equal(FileRootKey.load(join(dir, 'root.key')) instanceof FileRootKey, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('that cannot be written at a first start does not stop the next start, once there is space', async () => {
    const dataDir = tempDataDir();
    try {
      failWritesTo(join(dataDir, 'root.key'));
      await assert.rejects(startServer({ dataDir, port: 0, logger: () => {}, quotas: false }), { code: 'ENOSPC' });
      mock.restoreAll();
      syncBuiltinESMExports();
      // Before the fix an empty root.key was left, and this start was refused: "holds 0 bytes, not 32".
      const server = await startServer({ dataDir, port: 0, logger: () => {}, quotas: false });
      await server.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('is written although a crash left a temporary file of this pid (a container\'s server has the same pid at every start)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'coffer-root-file-'));
    try {
      writeFileSync(join(dir, `root.key.${process.pid}.tmp`), Buffer.alloc(7));
      FileRootKey.create(join(dir, 'root.key'));
      assert.deepEqual(readdirSync(dir), ['root.key']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('readable by other users: the server starts, and says so in a warning log line, not a bare process warning on stderr', async () => {
    const dataDir = tempDataDir();
    const warnings: unknown[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on('warning', onWarning);
    try {
      await (await startServer({ dataDir, port: 0, logger: () => {}, quotas: false })).close();
      chmodSync(join(dataDir, 'root.key'), 0o644);
      const lines: { level: string; message: string }[] = [];
      const server = await startServer({ dataDir, port: 0, logger: (level, message) => lines.push({ level, message }), quotas: false });
      await server.close();
      assert.deepEqual(lines.filter((line) => /readable by other users/.test(line.message)),
        [{ level: 'warn', message: `The root key file ${join(dataDir, 'root.key')} is readable by other users; restrict it with chmod 600.` }]);
      await new Promise((done) => setImmediate(done));
      assert.deepEqual(warnings, []);
    } finally {
      process.off('warning', onWarning);
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
