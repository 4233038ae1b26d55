/** Whether a `--store` value names a PostgreSQL database rather than the embedded SQLite file. */
export function isPostgresUrl(store: string): boolean {
  return /^postgres(ql)?:\/\/./.test(store);
}

/** A connection string with its password replaced, for messages and logs. */
export function redactConnectionString(connectionString: string): string {
  try {
    const url = new URL(connectionString);
    if (url.password) url.password = '***';
    return url.toString();
  } catch {
    return connectionString.replace(/\/\/[^@/]*@/, '//***@');
  }
}
