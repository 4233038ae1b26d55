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
