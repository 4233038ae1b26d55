import { connect } from 'node:net';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { TestServer } from './server.js';

/** Writes `bytes` on one new connection to `endpoint` and reads everything the server sends until it closes. */
export function exchange(endpoint: string, bytes: string): Promise<string> {
  const url = new URL(endpoint);
  return new Promise((done, fail) => {
    const socket = connect(Number(url.port), url.hostname, () => socket.write(bytes));
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('close', () => done(text));
    socket.on('error', fail);
  });
}

/** A KMS request signed by the SDK's signer, as the bytes that go on the wire. */
export async function signedBytes(t: { readonly server: { readonly endpoint: string }; readonly credentials: TestServer['credentials'] }, operation: string, body: string): Promise<string> {
  const url = new URL(t.server.endpoint);
  const signer = new SignatureV4({ credentials: t.credentials, region: 'us-east-1', service: 'kms', sha256: Hash.bind(null, 'sha256') });
  const signed = await signer.sign(new HttpRequest({
    method: 'POST', protocol: url.protocol, hostname: url.hostname, port: Number(url.port), path: '/',
    headers: {
      host: url.host, 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': `TrentService.${operation}`, 'content-length': String(Buffer.byteLength(body)),
    },
    body,
  }));
  return `POST / HTTP/1.1\r\n${Object.entries(signed.headers).map(([name, value]) => `${name}: ${value}\r\n`).join('')}\r\n${body}`;
}
