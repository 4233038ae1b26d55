/** How read commands print: a table for people, JSON (`--json`) for tools. */
export function printTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  process.stdout.write(line([...columns]));
  for (const row of rows) process.stdout.write(line(columns.map((c) => cell(row[c]))));
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

/** One record for people: a `Field  value` line for each field that has a value. */
export function printFields(record: Record<string, unknown>): void {
  const entries = Object.entries(record).filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0));
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  const cell = (v: unknown) => (Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v));
  for (const [key, value] of entries) process.stdout.write(`${key.padEnd(width)}  ${cell(value)}\n`);
}
