import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isGrantId } from './grant-record.js';

/**
 * Grant tokens are opaque to clients. Coffer's carry the grant id, so a request can find its
 * grant without a search, and 32 random bytes, so a token cannot be guessed from a grant id
 * (ListGrants shows grant ids to anyone allowed to list them).
 */
const PREFIX = 'cfgt1.';

export function newGrantToken(grantId: string): string {
  return `${PREFIX}${Buffer.from(grantId, 'utf8').toString('base64url')}.${randomBytes(32).toString('base64url')}`;
}

/** The grant id a token names, or undefined if it is not a Coffer grant token (its id is not a grant id). */
export function grantIdOfToken(token: string): string | undefined {
  if (!token.startsWith(PREFIX)) return undefined;
  const [id, secret, extra] = token.slice(PREFIX.length).split('.');
  if (!id || !secret || extra !== undefined || !/^[A-Za-z0-9_-]+$/.test(id)) return undefined;
  const grantId = Buffer.from(id, 'base64url').toString('utf8');
  return isGrantId(grantId) ? grantId : undefined;
}

/**
 * Another token for an existing grant (CreateGrant with a Name that matches it: AWS returns "a
 * grant token [that] is unique with every CreateGrant request ... All grant tokens for the same
 * grant ID can be used interchangeably"). It carries a fresh nonce and a MAC of the grant id and
 * nonce keyed by the grant's stored token, so the store keeps one token per grant and can check
 * any of them; retiring or revoking the grant ends them all.
 */
export function reissueGrantToken(grantId: string, storedToken: string): string {
  const nonce = randomBytes(REISSUE_NONCE_BYTES);
  const secret = Buffer.concat([nonce, reissueMac(grantId, storedToken, nonce)]);
  return `${PREFIX}${Buffer.from(grantId, 'utf8').toString('base64url')}.${secret.toString('base64url')}`;
}

/** Whether a token is the grant's stored token or one reissued for it. Constant-time comparisons. */
export function tokenMatches(token: string, grantId: string, storedToken: string): boolean {
  const given = Buffer.from(token, 'utf8');
  const stored = Buffer.from(storedToken, 'utf8');
  if (given.length === stored.length && timingSafeEqual(given, stored)) return true;
  const secret = Buffer.from(token.slice(token.lastIndexOf('.') + 1), 'base64url');
  if (secret.length !== REISSUE_NONCE_BYTES + 32 || grantIdOfToken(token) !== grantId) return false;
  const nonce = secret.subarray(0, REISSUE_NONCE_BYTES);
  return timingSafeEqual(secret.subarray(REISSUE_NONCE_BYTES), reissueMac(grantId, storedToken, nonce));
}

const REISSUE_NONCE_BYTES = 16;

function reissueMac(grantId: string, storedToken: string, nonce: Uint8Array): Buffer {
  return createHmac('sha256', storedToken).update('coffer grant token v1\0').update(grantId).update('\0').update(nonce).digest();
}
