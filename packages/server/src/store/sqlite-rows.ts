import type Database from 'better-sqlite3';

/** The most rows one statement inserts; 32 audit rows bind 192 values, far below SQLite's limit. */
const MOST_ROWS = 32;

/**
 * Inserts many rows into one table with few statements: a multi-row INSERT of 32 rows while 32 are
 * left, then one each of 16, 8, 4, 2 and 1 as the remainder needs, every size prepared once. An
 * audit batch of 64 records takes two statements instead of 64: each `run` crosses into SQLite
 * and binds and resets a statement, which cost more than the row itself.
 */
export class RowInserter {
  readonly #db: Database.Database;
  readonly #insert: string;
  readonly #width: number;
  readonly #statements = new Map<number, Database.Statement>();

  /** `insert` is the statement up to VALUES (`INSERT INTO t (a, b) VALUES`); `width` its column count. */
  constructor(db: Database.Database, insert: string, width: number) {
    this.#db = db;
    this.#insert = insert;
    this.#width = width;
  }

  /** Inserts the rows whose values, row after row, `values` holds. */
  run(values: readonly unknown[]): void {
    const width = this.#width;
    const rows = values.length / width;
    let done = 0;
    for (let size = MOST_ROWS; size >= 1; size >>= 1) {
      while (rows - done >= size) {
        this.#statement(size).run(values.slice(done * width, (done + size) * width));
        done += size;
      }
    }
  }

  #statement(rows: number): Database.Statement {
    let statement = this.#statements.get(rows);
    if (!statement) {
      const row = `(${new Array<string>(this.#width).fill('?').join(', ')})`;
      statement = this.#db.prepare(`${this.#insert} ${new Array<string>(rows).fill(row).join(', ')}`);
      this.#statements.set(rows, statement);
    }
    return statement;
  }
}
