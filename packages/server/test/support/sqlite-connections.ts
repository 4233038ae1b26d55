import Database from 'better-sqlite3';

/**
 * Every SQLite connection opened in this test file's process (each test file runs in a process of
 * its own), so that a test can reach the store's own, e.g. to give it a page limit: past
 * `max_page_count` SQLite refuses a write with SQLITE_FULL, "database or disk is full", exactly as
 * it does on a file system without space. Recorded when the store sets journal_mode, its first act.
 */
export const sqliteConnections: Database.Database[] = [];
const realPragma = Database.prototype.pragma;
Database.prototype.pragma = function pragma(this: Database.Database, source: string, options?: Database.PragmaOptions) {
  if (source === 'journal_mode = WAL') sqliteConnections.push(this);
  return realPragma.call(this, source, options);
} as typeof Database.prototype.pragma;
