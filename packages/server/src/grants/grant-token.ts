import { randomBytes } from 'node:crypto';

/**
 * Grant tokens are opaque to clients. Coffer's carry the grant id, so a request can find its
 * grant without a search, and 32 random bytes, so a token cannot be guessed from a grant id
 * (ListGrants shows grant ids to anyone allowed to list them).
 */
const PREFIX = 'cfgt1.';

export function newGrantToken(grantId: string): string {
  return `${PREFIX}${Buffer.from(grantId, 'utf8').toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

/** The grant id a token names, or undefined if it is not a Coffer grant token. */
export function grantIdOfToken(token: string): string | undefined {
  if (!token.startsWith(PREFIX)) return undefined;
  const [id, secret, extra] = token.slice(PREFIX.length).split('.');
  if (!id || !secret || extra !== undefined || !/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
  return Buffer.from(id, 'base64url').toString('utf8');
}
