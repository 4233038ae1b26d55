/** Whether a `--store` value names a PostgreSQL database rather than the embedded SQLite file. */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\/./.test(store);
}

/**
 * A connection string with its passwords replaced, for messages and logs: the one in the user
 * part (`user:password@`), those given as query parameters (`?password=`), which the driver takes
 * too, and a `password=` of the keyword form (`host=db password=...`), which is refused but named.
 *
 * Read as text, not as a URL: a password with `/`, `?`, `#` or `@` left unencoded makes a string
 * node's URL parser refuses, or reads otherwise (`user:123?x@db` as a host and port), and a
 * parser's idea of the user part would let the rest of the password show. The user part is all up
 * to the last `@`, so more is hidden rather than less.
 */
export function redactConnectionString(connectionString: string): string {
  // What comes before the user part: a scheme, typed right (`postgres://`) or not (`postgres//`,
  // `postgres:`). Without one, the keyword form: its passwords quoted, or up to white space that
  // no backslash escapes.
  const prefix = /^[a-z][a-z0-9+.-]*(?::\/{0,2}|\/\/)/i.exec(connectionString)?.[0];
  if (prefix === undefined) return connectionString.replace(/\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'|(?:\\.|\S)*)/gi, '$1***');
  // Query parameters the driver (pg-connection-string) reads as passwords.
  const withoutParameters = (text: string) => text.replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
  const at = connectionString.lastIndexOf('@');
  if (at < prefix.length) return withoutParameters(connectionString);
  const userPart = connectionString.slice(prefix.length, at);
  const colon = userPart.indexOf(':');
  // A user alone is shown; anything past its first colon is the password, and a user part that
  // holds what no user name does is hidden whole.
  const user = colon < 0 ? userPart : userPart.slice(0, colon);
  const hidden = /[/?#\s=]/.test(user) ? '***' : colon < 0 ? user : `${user}:***`;
  return withoutParameters(`${prefix}${hidden}${connectionString.slice(at)}`);
}
