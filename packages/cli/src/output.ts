/** How read commands print: a table for people, JSON (`--json`) for tools. */

/**
 * Control characters (C0, DEL, C1) and bidirectional embeddings, overrides and isolates, written
 * as `\x1b` or `\u202e`. Descriptions, tags and audit fields are whatever an API caller stored:
 * printed raw to a terminal they could clear the screen, retitle the window, forge a hyperlink, add
 * a line that looks like a field (`\n`), or reorder the rest of the line.
 */
const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}

export function printTable(rows: readonly Record<string, unknown>[], columns: readonly string[]): void {
  if (rows.length === 0) {
    process.stdout.write('(none)\n');
    return;
  }
  const cell = (v: unknown) => printable(v === undefined || v === null ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (values: string[]) => values.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd() + '\n';
  process.stdout.write(line([...columns]));
  for (const row of rows) process.stdout.write(line(columns.map((c) => cell(row[c]))));
}

/**
 * JSON for a terminal: JSON.stringify escapes C0 controls but writes DEL, C1 controls (U+009B is
 * CSI, U+009D OSC) and bidi overrides as they are. In JSON text they can only be inside strings,
 * so writing them as \\uXXXX is the same JSON: a parser reads back exactly the same values.
 */
export function terminalJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function printJson(value: unknown): void {
  process.stdout.write(terminalJson(value, 2) + '\n');
}

/** One record for people: a `Field  value` line for each field that has a value. */
export function printFields(record: Record<string, unknown>): void {
  const entries = Object.entries(record).filter(([, v]) => v !== undefined && v !== null && !(Array.isArray(v) && v.length === 0));
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  const cell = (v: unknown) => printable(Array.isArray(v) ? v.join(', ') : typeof v === 'object' ? JSON.stringify(v) : String(v));
  for (const [key, value] of entries) process.stdout.write(`${key.padEnd(width)}  ${cell(value)}\n`);
}

/**
 * An admin API answer for --json, its `...Date` members (epoch seconds on the wire) as ISO 8601,
 * as the KMS commands print theirs.
 */
export function withIsoDates(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withIsoDates);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, k.endsWith('Date') && typeof v === 'number' ? new Date(v * 1000).toISOString() : withIsoDates(v)]));
}

/** The admin API's epoch seconds, for a table. */
export const dateOf = (seconds: unknown): string =>
  typeof seconds === 'number' ? new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z') : '';
