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
 * Text a caller chose with its bidirectional controls shown as `<U+202E>`: an override inside a
 * value reorders the value itself, which isolation (`<bdi>`) cannot stop, so `report‮fdp.exe`
 * would read as another name. Every text the console shows that did not come from the console
 * itself goes through here: descriptions, tags, names, ARNs, grant constraints, audit records,
 * the server's error messages (which quote what was asked), and the address bar's key id.
 */
export function visibleText(text: string | null | undefined): string {
  // Absent in an answer of an unexpected shape: nothing to show, rather than a failed page.
  if (text === null || text === undefined) return '';
  return text.replace(/[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => `<U+${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}>`);
}
