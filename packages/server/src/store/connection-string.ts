/** Whether a `--store` value names a PostgreSQL database rather than the embedded SQLite file. */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\/./.test(store);
}

/** Query parameters the PostgreSQL driver (pg-connection-string) reads as secrets. */
const SECRET_PARAMETERS = ['password', 'sslpassword'];

/**
 * A connection string with its passwords replaced, for messages and logs: the one in the user
 * part (`user:password@`) and those given as query parameters (`?password=`), which the driver
 * takes too.
 */
export function redactConnectionString(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    for (const name of [...url.searchParams.keys()]) {
      if (SECRET_PARAMETERS.includes(name.toLowerCase())) url.searchParams.set(name, '***');
    }
    return url.toString();
  } catch {
    return connectionString
      .replace(/\/\/[^@/]*@/, '//***@')
      .replace(/([?&](?:ssl)?password=)[^&#]*/gi, '$1***');
  }
}
