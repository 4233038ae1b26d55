import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { StartupError } from '../root/root-key.js';
import { prepareDataDirectory } from '../store/data-dir-access.js';
import { certificateFingerprint, selfSignedPair, type TlsPair } from './self-signed.js';
import { createSecureContext } from 'node:tls';

/**
 * The cipher suites offered: TLS 1.3's, and TLS 1.2's with ECDHE key exchange and an AEAD cipher.
 * Node's default list also takes TLS 1.2 suites with static RSA key exchange (AES*-GCM-SHA*,
 * AES*-SHA), which have no forward secrecy: a client offering only those got one. AWS KMS asks
 * its clients for suites with perfect forward secrecy, so every AWS SDK offers these.
 */
const CIPHERS = [
  'TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-RSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-AES256-GCM-SHA384', 'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305', 'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The TLS options of a pair, for the server and for a reload (setSecureContext) alike. */
export function secureContextOptions(pair: TlsPair) {
  return { cert: pair.cert, key: pair.key, ciphers: CIPHERS, honorCipherOrder: true, minVersion: 'TLSv1.2' } as const;
}

/** `--tls-cert`/`--tls-key` files, or `--tls-self-signed`. */
export type TlsSettings =
  | { readonly certFile: string; readonly keyFile: string }
  | { readonly selfSigned: true };

export interface Transport {
  /** Absent: plain HTTP. `validity` is the certificate's, in epoch milliseconds. */
  readonly tls?: TlsPair & { readonly fingerprint: string; readonly validity: { readonly from: number; readonly to: number } };
}

/** Addresses only this machine can reach: plain HTTP there shows secrets to no one else. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  // ::1 however written (0:0:0:0:0:0:0:1): the URL parser writes an IPv6 address in its shortest form.
  if (isIP(bare) === 6 && new URL(`http://[${bare}]/`).hostname === '[::1]') return true;
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice('::ffff:'.length) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

function readPem(file: string, what: 'certificate' | 'key'): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'EISDIR' ? 'it is a directory' : code ?? (error as Error).message;
    throw new StartupError(`Cannot read the TLS ${what} file '${file}': ${reason}.`);
  }
}

/**
 * The key file's private key. Refused here rather than left to OpenSSL: createSecureContext takes
 * an empty key file (it skips an empty key) and the server then fails every handshake, and it
 * reports an encrypted key as a "bad decrypt" that reads like a key of another certificate.
 */
function privateKeyOf(pem: string): KeyObject {
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,ENCRYPTED/.test(pem)) {
    throw new StartupError('The TLS key file holds an encrypted private key; the server takes an unencrypted one (openssl pkey -in KEY -out PLAIN writes one; keep it readable by the server only).');
  }
  try {
    return createPrivateKey(pem);
  } catch {
    throw new StartupError('The TLS key file does not hold a PEM private key.');
  }
}

/**
 * Decides how the server listens, before anything is opened: TLS with the given or generated pair;
 * plain HTTP on a loopback address; plain HTTP elsewhere only when explicitly allowed, since
 * every request carries key material or plaintext and a signature anyone on the path could replay.
 */
export async function openTransport(host: string, dataDir: string, tls: TlsSettings | undefined, allowInsecureHttp: boolean): Promise<Transport> {
  if (!tls) {
    if (!isLoopbackHost(host) && !allowInsecureHttp) {
      throw new StartupError(
        `Refusing to serve plain HTTP on ${host}, which is not a loopback address: requests carry plaintexts and data keys. ` +
        'Give a certificate (--tls-cert FILE --tls-key FILE, or --tls-self-signed for local use), ' +
        'listen on 127.0.0.1, or accept the risk with --allow-insecure-http (e.g. behind a TLS-terminating proxy).');
    }
    return {};
  }
  // The generated pair lives in the data directory; given files need none, so a refused pair leaves nothing behind.
  if ('selfSigned' in tls) prepareDataDirectory(dataDir);
  const pair: TlsPair = 'selfSigned' in tls
    ? await selfSignedPair(dataDir)
    : { cert: readPem(tls.certFile, 'certificate'), key: readPem(tls.keyFile, 'key') };
  let fingerprint: string;
  try {
    fingerprint = certificateFingerprint(pair.cert);
  } catch {
    throw new StartupError('The TLS certificate file does not hold a PEM certificate.');
  }
  // Tried here, before the store is opened: a pair that cannot serve must not leave a fresh data directory behind.
  // OpenSSL compares a key with the certificate only when both are of one type: an RSA key beside
  // an EC certificate (or a chain whose first certificate is not the key's) loads, and then every
  // handshake fails. The server's certificate is the file's first; its public key must be the key's.
  const certificate = new X509Certificate(pair.cert);
  const key = privateKeyOf(pair.key);
  if (!certificate.checkPrivateKey(key)) {
    throw new StartupError(
      'The TLS key is not the private key of the certificate (the first certificate in the file, which the server presents; put the chain after it).');
  }
  try {
    createSecureContext(secureContextOptions(pair));
  } catch (error) {
    throw new StartupError(`The TLS certificate and key cannot be used together: ${(error as Error).message}.`);
  }
  return { tls: { ...pair, fingerprint, validity: { from: Date.parse(certificate.validFrom), to: Date.parse(certificate.validTo) } } };
}
