import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ServerHandle } from './open-server.js';

const BODY = '{"ok":true}';

/**
 * The ceiling every workload is compared with: a bare `node:http` server, configured as Coffer's
 * is (keep-alive), that reads each request body to its end and answers a fixed small JSON body.
 * Nothing a KMS must do is done, so no server built on node:http can be faster.
 */
export async function startBareServer(): Promise<ServerHandle> {
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1', 'Content-Length': BODY.length });
      res.end(BODY);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    credentialsFile: '',
    close: () => new Promise<void>((done) => {
      server.close(() => done());
      server.closeAllConnections();
    }),
  };
}
