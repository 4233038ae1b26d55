import { createRequire } from 'node:module';

/**
 * This package's version, from its package.json (beside dist/, which this module is in);
 * `unknown` where there is none (a bundle).
 */
export function cliVersion(): string {
  try {
    const { version } = createRequire(import.meta.url)('../../package.json') as { version?: unknown };
    return typeof version === 'string' ? version : 'unknown';
  } catch {
    return 'unknown';
  }
}
