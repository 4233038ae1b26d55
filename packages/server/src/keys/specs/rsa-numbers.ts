import type { KeyObject } from 'node:crypto';

/**
 * Whether an RSA private key's numbers agree with each other: the public exponent is an odd
 * number from 3 up to 2^256 (FIPS 186-5's upper bound; 1 would make every message its own
 * signature), the primes multiply to the modulus, d inverts e, and the CRT values are those of d
 * and the primes. Checked on import: a round trip of one signature (pkcs8.ts) cannot see an
 * inconsistent key, because OpenSSL, finding its CRT result wrong, quietly signs again with d
 * alone. A key of more than two primes (OpenSSL makes them) names only the first two here, so
 * for it the primes must divide the modulus.
 */
export function rsaNumbersAgree(key: KeyObject): boolean {
  const jwk = key.export({ format: 'jwk' });
  const [n, e, d, p, q, dp, dq, qi] = [jwk.n, jwk.e, jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map(toBigInt);
  if (!n || !e || !d || !p || !q || !dp || !dq || !qi) return false;
  if (e % 2n === 0n || e < 3n || e >= 1n << 256n) return false;
  if (p < 3n || q < 3n || n % (p * q) !== 0n) return false;
  // d inverts e modulo lcm(p-1, q-1): for two primes that is the whole condition, and for more it
  // still holds (the modulus's λ is a multiple of it).
  if (d >= n || (d * e) % lcm(p - 1n, q - 1n) !== 1n) return false;
  return dp === d % (p - 1n) && dq === d % (q - 1n) && qi < p && (qi * q) % p === 1n;
}

function toBigInt(base64url: string | undefined): bigint | undefined {
  if (base64url === undefined || base64url === '') return undefined;
  const hex = Buffer.from(base64url, 'base64url').toString('hex');
  return hex === '' ? undefined : BigInt(`0x${hex}`);
}

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

const lcm = (a: bigint, b: bigint): bigint => (a / gcd(a, b)) * b;
