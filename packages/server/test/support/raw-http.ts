import { connect } from 'node:net';

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
