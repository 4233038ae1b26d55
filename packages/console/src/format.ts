/** Dates as the console shows them: local time, to the second, sortable. */
export function formatTime(value: number | string | undefined): string {
  if (value === undefined) return '';
  const date = typeof value === 'number' ? new Date(value * 1000) : new Date(value);
  if (Number.isNaN(date.getTime())) return '';
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}

/** The last path part of an ARN (`key/<id>` -> `<id>`, `user/alice` -> `user/alice`). */
export function shortArn(arn: string | undefined): string {
  if (!arn) return '';
  const resource = arn.split(':').slice(5).join(':');
  return resource.startsWith('key/') ? resource.slice(4) : resource || arn;
}

/**
 * Characters that change how text reads while showing nothing of themselves:
 * - format characters (General_Category Cf): the bidirectional controls, whose override inside a
 *   value reorders the value itself, which isolation (`<bdi>`) cannot stop, so `report‮fdp.exe`
 *   would read as another name; zero-width spaces and joiners, word joiner, byte-order mark, soft
 *   hyphen, tag characters, and the rest, by which `pro\u200Bd` looks like `prod`;
 * - the other default-ignorable code points (Default_Ignorable_Code_Point), which Unicode tells
 *   renderers to show as nothing: variation selectors, the combining grapheme joiner, Hangul
 *   fillers, and the unassigned ones set aside for more of the same;
 * - control characters (Cc) other than tab, line feed and carriage return: a box at best, and one
 *   box looks like another.
 * An emoji's own joiner or variation selector is shown too: a safe console cannot tell it from a trick.
 */
const HIDDEN = /[\p{Cf}\p{Default_Ignorable_Code_Point}\p{Cc}]/gu;
const LAYOUT = new Set(['\t', '\n', '\r']);

/**
 * Text a caller chose with its invisible characters (HIDDEN) shown as `<U+202E>`, so that two
 * different texts never look the same. Every text the console shows that did not come from the
 * console itself goes through here: descriptions, tags, names, ARNs, grant constraints, audit
 * records, the server's error messages (which quote what was asked), and the address bar's key id.
 */
export function visibleText(text: string | null | undefined): string {
  // Absent in an answer of an unexpected shape: nothing to show, rather than a failed page.
  if (text === null || text === undefined) return '';
  return text.replace(HIDDEN, (c) => (LAYOUT.has(c) ? c : `<U+${c.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')}>`));
}
