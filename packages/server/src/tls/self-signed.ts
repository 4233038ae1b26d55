import { createPrivateKey, webcrypto, X509Certificate } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** The files of the generated pair, in the data directory. */
export const SELF_SIGNED_CERT_FILE = 'tls-self-signed.crt';
export const SELF_SIGNED_KEY_FILE = 'tls-self-signed.key';

/** Names the certificate holds: only loopback, so it can never pass for another host. */
const SUBJECT_ALT_NAMES = [{ type: 'dns', value: 'localhost' }, { type: 'ip', value: '127.0.0.1' }, { type: 'ip', value: '::1' }] as const;
const VALIDITY_DAYS = 397;
/** Renewed this long before it expires, so a server started today runs on a valid certificate for a while. */
const RENEW_DAYS = 30;
const DAY_MS = 86_400_000;

export interface TlsPair {
  /** PEM. */
  readonly cert: string;
  /** PEM (PKCS#8). */
  readonly key: string;
}

/**
 * The self-signed pair of `--tls-self-signed`: read from the data directory when a valid one is
 * there, otherwise made (ECDSA P-256, SHA-256) and written, the key owner-only. For local use: a
 * client trusts it by being given the certificate as its CA, or by checking its fingerprint.
 *
 * Generating the X.509 structure needs a library (node:crypto signs and parses certificates but
 * cannot build one): @peculiar/x509, on the platform's WebCrypto, loaded only on this path
 * (it needs the reflect-metadata polyfill, which should not touch a server that does not use it).
 */
export async function selfSignedPair(dataDir: string, now = Date.now()): Promise<TlsPair> {
  const certPath = join(dataDir, SELF_SIGNED_CERT_FILE);
  const keyPath = join(dataDir, SELF_SIGNED_KEY_FILE);
  if (existsSync(certPath) && existsSync(keyPath)) {
    const pair = { cert: readFileSync(certPath, 'utf8'), key: readFileSync(keyPath, 'utf8') };
    let usable: boolean;
    try {
      const parsed = new X509Certificate(pair.cert);
      usable = Date.parse(parsed.validTo) - now > RENEW_DAYS * DAY_MS && parsed.checkPrivateKey(createPrivateKey(pair.key));
    } catch {
      // Damaged files of this server's own making: made again, as an expiring pair is.
      usable = false;
    }
    if (usable) return pair;
  }
  const pair = await generatePair(now);
  // The key first, owner-only, then renamed into place: no moment where a readable key exists.
  writeFileSync(`${keyPath}.tmp`, pair.key, { mode: 0o600 });
  chmodSync(`${keyPath}.tmp`, 0o600);
  renameSync(`${keyPath}.tmp`, keyPath);
  writeFileSync(certPath, pair.cert, { mode: 0o644 });
  return pair;
}

async function generatePair(now: number): Promise<TlsPair> {
  await import('reflect-metadata');
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']) as webcrypto.CryptoKeyPair;
  const serial = Buffer.from(webcrypto.getRandomValues(new Uint8Array(16)));
  serial[0] = serial[0]! & 0x7f; // a positive INTEGER
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial.toString('hex'),
    name: 'CN=localhost, O=Coffer (self-signed, local use)',
    notBefore: new Date(now - DAY_MS),
    // Back-dated a day for clock skew, so the span is VALIDITY_DAYS in all (browsers refuse longer).
    notAfter: new Date(now - DAY_MS + VALIDITY_DAYS * DAY_MS),
    signingAlgorithm: algorithm,
    keys: keys as unknown as Parameters<typeof x509.X509CertificateGenerator.createSelfSigned>[0]['keys'],
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyCertSign, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(SUBJECT_ALT_NAMES.map((name) => ({ ...name }))),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey));
  const key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' }).export({ format: 'pem', type: 'pkcs8' }) as string;
  pkcs8.fill(0);
  return { cert: certificate.toString('pem'), key };
}

/** The SHA-256 fingerprint of a PEM certificate, as browsers and `openssl x509 -fingerprint -sha256` show it. */
export function certificateFingerprint(certPem: string): string {
  return new X509Certificate(certPem).fingerprint256;
}
