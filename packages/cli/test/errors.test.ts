import assert from 'node:assert/strict';
import { closeSync, copyFileSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateKeyCommand, ListKeysCommand, ListResourceTagsCommand } from '@aws-sdk/client-kms';
import { cleanEnv, coffer, cofferAgainst, jsonOf, MAIN, removeTempDirs, startTestServer, tempDir, type TestServer } from './support/cli.js';

let served: TestServer;
let keyId: string;
before(async () => {
  served = await startTestServer();
  keyId = (await served.kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
});
after(async () => {
  await served.dispose();
  removeTempDirs();
});

const endpoint = () => ['--endpoint-url', served.server.endpoint];
const withKeys = (secret: string, accessKeyId = served.credentials.accessKeyId) =>
  cleanEnv({ AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secret });

/** A port nobody listens on: bound, noted, closed. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** An endpoint that speaks raw TCP: each connection is `onSocket`'s (one that never answers, hangs up, or cuts an answer off). */
async function rawEndpoint(onSocket: (socket: Socket) => void): Promise<{ url: string; close(): void }> {
  const server = createTcpServer((socket) => {
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, close: () => server.close() };
}

/** An endpoint that answers every request with one AWS error, as the KMS JSON protocol shapes it. */
async function answeringWith(errorName: string, message?: string): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    request.resume().on('end', () => {
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': errorName });
      response.end(JSON.stringify({ __type: errorName, message }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server };
}

describe('coffer exit codes and connections', { concurrency: 4 }, () => {
  it('exits 0 when the command succeeds', async () => {
    const finished = await cofferAgainst(served)(['keys', 'describe', keyId]);
    assert.equal(finished.code, 0, finished.stderr);
    assert.equal(finished.stderr, '');
  });

  it('exits 2 with an error and a hint for every kind of bad command line', async () => {
    const cases: [string[], RegExp, RegExp][] = [
      [['keys', 'list', '--bogus'], /^error: unknown option '--bogus'$/m, /^hint: run `coffer keys list --help` for its options and an example$/m],
      [['keys', 'lst'], /^error: unknown command 'coffer keys lst'$/m, /^hint: did you mean `coffer keys list`\?/m],
      // A typo of a top-level command gets the same offer (it got none).
      [['kys', 'list'], /^error: unknown command 'kys'$/m, /^hint: did you mean `coffer keys`\? `coffer --help` lists the commands$/m],
      // A name every object has is no command (`constructor` ran Object's).
      [['constructor'], /^error: unknown command 'constructor'$/m, /^hint: run `coffer --help` for the list of commands$/m],
      [['aliases', 'remove', 'alias/x'], /^error: unknown command 'coffer aliases remove'$/m, /^hint: run `coffer aliases --help`/m],
      [['keys', 'describe'], /^error: coffer keys describe: missing KEY$/m, /^hint: usage: coffer keys describe KEY; for example `coffer keys describe /m],
      [['keys', 'describe', 'a', 'b'], /^error: coffer keys describe: unexpected argument 'b'$/m, /^hint: usage: /m],
      [['keys', 'schedule-deletion', keyId, '--days'], /^error: option '--days' needs a value$/m, /^hint: run `coffer keys schedule-deletion --help`/m],
      [['keys', 'list', '--json=yes'], /^error: option '--json' takes no value$/m, /^hint: /m],
      // serve parses its own options, in the same words (it printed parseArgs' three lines as one, with \x0a between).
      [['serve', '--data-dir', '-x'], /^error: the value after '--data-dir' begins with a dash$/m, /^hint: to give it as the value, write --data-dir=-x$/m],
      [['serve', '--port'], /^error: option '--port' needs a value$/m, /^hint: run `coffer serve --help` for the options$/m],
      [['serve', 'now'], /^error: unexpected argument 'now'$/m, /^hint: run `coffer serve --help` for the options$/m],
      // An option with a short form is named by its long name (it was '-h,', '-o,').
      [['serve', '--help=x'], /^error: option '--help' takes no value$/m, /^hint: /m],
      [['encrypt', '-o'], /^error: option '--output' needs a value$/m, /^hint: /m],
      [['encrypt', 'in.txt', '-o', '-x'], /^error: the value after '-o' begins with a dash$/m, /^hint: to give it as the value, write --output=-x$/m],
      [['encrypt', 'in.txt', '-ro', '-x'], /^error: the value after '-o' begins with a dash$/m, /^hint: to give it as the value, write --output=-x$/m],
      // An argument with a quote in it is named whole.
      [['serve', "it's"], /^error: unexpected argument 'it's'$/m, /^hint: /m],
      [['keys', 'list', "--it's"], /^error: unknown option '--it's'$/m, /^hint: /m],
      [['keys', 'create', '--description', '-legacy key-'], /^error: the value after '--description' begins with a dash$/m, /^hint: to give it as the value, write --description=-legacy key-$/m],
      [['keys', 'list', '--endpoint-url', 'not a url'], /^error: the endpoint 'not a url' is not a URL$/m, /^hint: pass a URL such as --endpoint-url /m],
      // The admin API's commands alike (they said ConnectionError, exit 1).
      [['principals', 'list', '--endpoint-url', 'localhost:7720'], /^error: the endpoint 'localhost:7720' is not an http or https URL$/m, /^hint: pass a URL such as --endpoint-url /m],
      [['audit', 'query', '--endpoint-url', 'http://127.0.0.1:99999'], /^error: the endpoint 'http:\/\/127\.0\.0\.1:99999' is not a URL$/m, /^hint: pass a URL such as --endpoint-url /m],
      [['completion', 'fish'], /^error: no completion for the shell 'fish'$/m, /^hint: use `coffer completion bash`/m],
      [['keys', 'list', '--region', ''], /^error: the region '' is not a region name$/m, /^hint: pass one such as --region us-east-1/m],
      [['keys', 'list', '--region', 'us east 1'], /^error: the region 'us east 1' is not a region name$/m, /^hint: pass one such as --region us-east-1/m],
      // A value given twice is refused rather than the last one kept: which was meant is a guess.
      [['keys', 'schedule-deletion', keyId, '--days', '30', '--days', '7'], /^error: option '--days' is given more than once$/m, /^hint: give it once; run `coffer keys schedule-deletion --help`/m],
      [['keys', 'list', '--endpoint-url', 'http://127.0.0.1:1', '--endpoint-url', 'http://127.0.0.1:2'], /^error: option '--endpoint-url' is given more than once$/m, /^hint: give it once/m],
      // An argument's control characters are shown escaped, as a server message's are (sent raw before: this one clears the screen).
      [['keys', 'list', '--x\u001b[2J'], /^error: unknown option '--x\\x1b\[2J'$/m, /^hint: run `coffer keys list --help`/m],
    ];
    for (const [args, error, hint] of cases) {
      const finished = await coffer(args, { env: withKeys(served.credentials.secretAccessKey) });
      assert.equal(finished.code, 2, `coffer ${args.join(' ')}: ${finished.stderr}`);
      assert.match(finished.stderr, error, args.join(' '));
      assert.match(finished.stderr, hint, args.join(' '));
      assert.equal(finished.stdout, '');
      assert.doesNotMatch(finished.stderr, /\u001b/, args.join(' '));
    }
  });

  it('exits 2 and prints the group help for a group without a command', async () => {
    const finished = await coffer(['keys']);
    assert.equal(finished.code, 2);
    assert.match(finished.stdout, /^Usage: coffer keys <command>/);
  });

  it('exits 3 for a wrong secret (InvalidSignatureException), with a hint', async () => {
    const finished = await coffer(['keys', 'list', ...endpoint()], { env: withKeys('wrong-secret-wrong-secret-wrong-secret1') });
    assert.equal(finished.code, 3);
    assert.match(finished.stderr, /^error: InvalidSignatureException: The request signature we calculated does not match the signature you provided\. .*details\.$/m);
    // The canonical request the server expected helps the author of a signer; this one is right, the secret is not.
    assert.equal(finished.stderr.includes('Canonical String'), false, finished.stderr);
    assert.match(finished.stderr, /^hint: check --profile/m);
  });

  it('exits 3 for a caller no policy allows (AccessDeniedException), with a hint', async () => {
    const admin = cofferAgainst(served);
    assert.equal((await admin(['principals', 'create-user', 'nobody'])).code, 0);
    const key = jsonOf(await admin(['access-keys', 'create', 'user/nobody', '--json'])).AccessKey as Record<string, string>;
    const finished = await coffer(['keys', 'describe', keyId, ...endpoint()], { env: withKeys(key.SecretAccessKey!, key.AccessKeyId!) });
    assert.equal(finished.code, 3, finished.stderr);
    assert.match(finished.stderr, /^error: AccessDeniedException: /m);
    assert.match(finished.stderr, /^hint: check --profile and the credentials it names; the caller needs a policy that allows this$/m);
  });

  it('exits 1 after --cli-connect-timeout when nothing takes the connection, and says which timeout it was', async () => {
    // A listener whose process is stopped: the kernel queues two connections for it, then drops the
    // handshakes of the next, which wait as those to an unreachable host do.
    const stopped = spawn(process.execPath, ['-e', "require('net').createServer().listen({ port: 0, host: '127.0.0.1', backlog: 1 }, function () { console.log(this.address().port) })"],
      { stdio: ['ignore', 'pipe', 'inherit'] });
    const held: Socket[] = [];
    try {
      const port = await new Promise<number>((done) => stopped.stdout.once('data', (d: Buffer) => done(Number(String(d).trim()))));
      stopped.kill('SIGSTOP');
      for (let queued = true; queued;) {
        const socket = connect(port, '127.0.0.1');
        socket.on('error', () => {});
        held.push(socket);
        queued = await new Promise<boolean>((done) => {
          const waiting = setTimeout(() => done(false), 300);
          socket.once('connect', () => { clearTimeout(waiting); done(true); });
        });
      }
      for (const args of [['keys', 'list'], ['principals', 'list']]) {
        const finished = await coffer([...args, '--endpoint-url', `http://127.0.0.1:${port}`, '--cli-connect-timeout', '1'], { env: { ...withKeys('secret'), AWS_MAX_ATTEMPTS: '1' } });
        assert.equal(finished.code, 1, finished.stderr);
        assert.match(finished.stderr, /^error: Timeout: no connection to http:\/\/127\.0\.0\.1:\d+ in time /m);
        assert.match(finished.stderr, /^hint: nothing took the connection; .* --cli-connect-timeout SECONDS/m);
      }
    } finally {
      for (const socket of held) socket.destroy();
      stopped.kill('SIGKILL');
    }
  });

  it('keys create --alias refuses an alias that exists to a caller without kms:DescribeKey too, before it makes the key', async () => {
    // KMS answers DescribeKey of a missing alias NotFoundException whoever asks, and AccessDenied only for one that exists.
    const admin = cofferAgainst(served);
    assert.equal((await admin(['aliases', 'create', 'alias/held-elsewhere', keyId])).code, 0);
    assert.equal((await admin(['principals', 'create-user', 'aliaser'])).code, 0);
    const policy = join(tempDir(), 'aliaser.json');
    writeFileSync(policy, JSON.stringify({ Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['kms:CreateKey', 'kms:CreateAlias', 'kms:TagResource'], Resource: '*' }] }));
    assert.equal((await admin(['principals', 'put-policy', 'user/aliaser', 'create-only', '--document', policy])).code, 0);
    const key = jsonOf(await admin(['access-keys', 'create', 'user/aliaser', '--json'])).AccessKey as Record<string, string>;
    const marker = `made-by-aliaser-${Date.now()}`;
    const finished = await coffer(['keys', 'create', '--alias', 'alias/held-elsewhere', '--tag', `probe=${marker}`, ...endpoint()],
      { env: withKeys(key.SecretAccessKey!, key.AccessKeyId!) });
    assert.equal(finished.code, 1, finished.stderr);
    assert.match(finished.stderr, /^error: AlreadyExistsException: the alias alias\/held-elsewhere exists already \(it names a key you may not describe\); no key was created$/m);
    // No key carries the tag the refused command would have given it.
    const listed = await served.kms.send(new ListKeysCommand({ Limit: 1000 }));
    for (const { KeyId } of listed.Keys ?? []) {
      const tags = await served.kms.send(new ListResourceTagsCommand({ KeyId }));
      assert.ok(!(tags.Tags ?? []).some((t) => t.TagValue === marker), `key ${KeyId} was made`);
    }
  });

  it('exits 3 for an unknown access key (UnrecognizedClientException)', async () => {
    const finished = await coffer(['keys', 'list', ...endpoint()], { env: withKeys('any', 'AKIAUNKNOWNUNKNOWN00') });
    assert.equal(finished.code, 3);
    assert.match(finished.stderr, /^error: UnrecognizedClientException: /m);
  });

  it('says ConnectionError with the hint on the scheme when https:// is asked of a plain-http server', async () => {
    const plainAsTls = endpoint()[1]!.replace(/^http:/, 'https:');
    const finished = await coffer(['keys', 'list', '--endpoint-url', plainAsTls], { env: withKeys(served.credentials.secretAccessKey) });
    assert.equal(finished.code, 1);
    assert.match(finished.stderr, /^error: ConnectionError: cannot reach https:/m);
    assert.match(finished.stderr, /^hint: .*http:\/\/ for one without\)$/m);
  });

  it('reads AWS_CA_BUNDLE only for https, as the AWS CLI does: one left set (even to a missing file) does not stop a plain-http command', async () => {
    const finished = await coffer(['keys', 'list', ...endpoint()], { env: { ...withKeys(served.credentials.secretAccessKey), AWS_CA_BUNDLE: '/nonexistent/ca.pem' } });
    assert.equal(finished.code, 0, finished.stderr);
  });

  it('exits 3 for a --region the server does not sign for', async () => {
    const finished = await coffer(['keys', 'list', ...endpoint(), '--region', 'eu-west-3'], { env: withKeys(served.credentials.secretAccessKey) });
    assert.equal(finished.code, 3);
    assert.match(finished.stderr, /^error: InvalidSignatureException: /m);
    // The region is what to fix, not the credentials or a policy.
    assert.match(finished.stderr, /^hint: pass --region us-east-1 \(or set AWS_REGION\): the request was signed for another region$/m);
  });

  it('signs for the region of the profile in the shared config file, as the AWS CLI does', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'config'), '[profile far]\nregion = eu-west-3\n');
    writeFileSync(join(dir, 'credentials'), `[far]\naws_access_key_id = ${served.credentials.accessKeyId}\naws_secret_access_key = ${served.credentials.secretAccessKey}\n`);
    const env = cleanEnv({ AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials') });
    // The server signs for its own region only: the profile's region is what was signed for.
    const far = await coffer(['keys', 'list', ...endpoint(), '--profile', 'far'], { env });
    assert.equal(far.code, 3, far.stderr);
    assert.match(far.stderr, /not 'eu-west-3'/);
    // A region given wins over the profile's.
    assert.equal((await coffer(['keys', 'list', ...endpoint(), '--profile', 'far', '--region', 'us-east-1'], { env })).code, 0);
  });

  it('connects to the endpoint_url the shared config file gives the profile (its own, or its services section\'s kms), as the AWS CLI does', async () => {
    const dir = tempDir();
    const closed = `http://127.0.0.1:${await closedPort()}`;
    writeFileSync(join(dir, 'credentials'), `[near]\naws_access_key_id = ${served.credentials.accessKeyId}\naws_secret_access_key = ${served.credentials.secretAccessKey}\n`);
    const run = (config: string, extra: Record<string, string> = {}) => {
      writeFileSync(join(dir, 'config'), config);
      return coffer(['keys', 'list', '--profile', 'near'], { env: cleanEnv({ AWS_CONFIG_FILE: join(dir, 'config'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'credentials'), ...extra }) });
    };
    const own = await run(`[profile near]\nregion = us-east-1\nendpoint_url = ${served.server.endpoint}\n`);
    assert.equal(own.code, 0, own.stderr);
    // The services section's kms endpoint wins over the profile's own; the environment's over both.
    const services = await run(`[profile near]\nendpoint_url = ${closed}\nservices = local\n\n[services local]\nkms =\n  endpoint_url = ${served.server.endpoint}\n`);
    assert.equal(services.code, 0, services.stderr);
    const env = await run(`[profile near]\nendpoint_url = ${closed}\n`, { AWS_ENDPOINT_URL_KMS: served.server.endpoint });
    assert.equal(env.code, 0, env.stderr);
    const ignored = await run(`[profile near]\nendpoint_url = ${served.server.endpoint}\n`, { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' });
    // Gone to the default endpoint instead (nothing there, or another server that knows no such key).
    assert.notEqual(ignored.code, 0, ignored.stderr);
    assert.match(ignored.stderr, /127\.0\.0\.1:4600|UnrecognizedClientException/);
  });

  it('exits 3 with a hint when no credentials can be found at all', async () => {
    const finished = await coffer(['keys', 'list', ...endpoint()], { env: cleanEnv(), cwd: tempDir() });
    assert.equal(finished.code, 3);
    assert.match(finished.stderr, /^error: CredentialsProviderError: /m);
    assert.match(finished.stderr, /^hint: pass --profile, set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/m);
  });

  it('exits 4 for the crypto errors a server answers (InvalidCiphertextException, IncorrectKeyException, KMSInvalidMacException)', async () => {
    for (const name of ['InvalidCiphertextException', 'IncorrectKeyException', 'KMSInvalidMacException', 'KMSInvalidSignatureException']) {
      const fake = await answeringWith(name);
      try {
        const finished = await coffer(['data-key', keyId, '--endpoint-url', fake.url], { env: withKeys('secret') });
        assert.equal(finished.code, 4, `${name}: ${finished.stderr}`);
        assert.match(finished.stderr, new RegExp(`^error: ${name}: the server gave no detail$`, 'm'));
      } finally {
        fake.server.close();
      }
    }
  });

  it('shows control characters in a server\'s error message escaped, never sends them to the terminal', async () => {
    // A message quotes what callers stored (an alias name, a description): another caller's bytes.
    for (const command of [['data-key', keyId], ['principals', 'list']]) {
      const fake = await answeringWith('ValidationException', 'bad value \x1b]0;PWNED\x07\x1b[2J\r\nerror: forged\u202e');
      try {
        const finished = await coffer([...command, '--endpoint-url', fake.url], { env: withKeys('secret') });
        assert.equal(finished.code, 1, finished.stderr);
        assert.match(finished.stderr, /^error: ValidationException: bad value \\x1b\]0;PWNED\\x07\\x1b\[2J\\x0d\\x0aerror: forged\\u202e$/m);
        assert.equal(finished.stderr.match(/^error: /gm)?.length, 1, finished.stderr);
        assert.doesNotMatch(finished.stderr, /[\x00-\x09\x0b-\x1f\u202e]/);
      } finally {
        fake.server.close();
      }
    }
  });

  it('exits 1 for other server errors: NotFoundException, with a hint', async () => {
    const finished = await coffer(['keys', 'describe', 'alias/no-such-alias', ...endpoint()], { env: withKeys(served.credentials.secretAccessKey) });
    assert.equal(finished.code, 1);
    assert.match(finished.stderr, /^error: NotFoundException: /m);
    assert.match(finished.stderr, /^hint: `coffer keys list` and `coffer aliases list`/m);
  });

  it('exits 1 for an endpoint that answers in the shape of no Coffer server: a page marker given twice, a list or verdict missing', { timeout: 180_000 }, async () => {
    const answers: Record<string, object> = {
      'TrentService.ListKeys': { Keys: [], Truncated: true, NextMarker: 'm' },
      'CofferAdmin.ListUsers': { Users: [], IsTruncated: true, Marker: 'm' },
      'CofferAdmin.QueryAuditRecords': {},
      'CofferAdmin.VerifyAuditChain': {},
    };
    const server = createServer((request, response) => {
      request.resume().on('end', () => {
        const target = String(request.headers['x-amz-target']);
        if (target === 'TrentService.DescribeKey') {
          response.writeHead(404, { 'content-type': 'text/html' });
          return response.end('<html><body>not here</body></html>');
        }
        // An error with an empty body, as a proxy or load balancer answers.
        if (target === 'TrentService.ListAliases' || target === 'CofferAdmin.ListRoles') {
          response.writeHead(503);
          return response.end();
        }
        // A proxy's refusal: a message, no error named.
        if (target === 'CofferAdmin.ListAccessKeys') {
          response.writeHead(403, { 'content-type': 'application/json' });
          return response.end('{"message":"Forbidden"}');
        }
        response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
        response.end(JSON.stringify(answers[target] ?? {}));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    try {
      const env = cleanEnv({ AWS_ACCESS_KEY_ID: 'AKIAEXAMPLEEXAMPLE12', AWS_SECRET_ACCESS_KEY: 'x'.repeat(40) });
      const expected: [string[], RegExp][] = [
        // Asked again and again for ever before: the AWS CLI refuses a token given twice too.
        [['keys', 'list'], /^error: MalformedResponse: the server gave the same list page marker twice/m],
        [['principals', 'list', '--users'], /^error: MalformedResponse: the server gave the same ListUsers page marker twice/m],
        [['audit', 'query'], /^error: MalformedResponse: the server's QueryAuditRecords answer has no Records list/m],
        // Said to be a broken chain (exit 4) before, of a server that gave no verdict at all.
        [['audit', 'verify'], /^error: MalformedResponse: the server's VerifyAuditChain answer has no verdict/m],
        // An HTML page: the JSON parser's "Unexpected token '<'" before.
        [['keys', 'describe', 'alias/x'], /^error: MalformedResponse: the server at http:\/\/127\.0\.0\.1:\d+ did not answer with JSON \(HTTP 404\): is it a Coffer server\?$/m],
        // "Unknown: the server gave no detail" and "UnknownError: UnknownError" before.
        [['aliases', 'list'], /^error: MalformedResponse: the server at http:\/\/127\.0\.0\.1:\d+ answered HTTP 503 naming no error: is it a Coffer server\?$/m],
        [['principals', 'list', '--roles'], /^error: MalformedResponse: the server at http:\/\/127\.0\.0\.1:\d+ answered HTTP 503 naming no error: is it a Coffer server\?$/m],
        [['access-keys', 'list'], /^error: Unknown: Forbidden$/m],
        // `{}` with a 200: an empty file and exit 0 for `random` before, `undefined` printed or a TypeError for the others.
        [['random', '32'], /^error: MalformedResponse: the server's GenerateRandom answer has no Plaintext: is the endpoint a Coffer server\?$/m],
        [['keys', 'create'], /^error: MalformedResponse: the server's CreateKey answer has no KeyMetadata/m],
        [['principals', 'create-user', 'bob'], /^error: MalformedResponse: the server's CreateUser answer has no User/m],
        [['principals', 'get-policy', 'user/bob', 'p'], /^error: MalformedResponse: the server's GetPrincipalPolicy answer has no PolicyDocument/m],
        [['access-keys', 'create'], /^error: MalformedResponse: the server's CreateAccessKey answer has no AccessKey/m],
        [['root', 'status'], /^error: MalformedResponse: the server's GetRootKeyStatus answer has no CurrentRootKeyId, RootKeys/m],
      ];
      for (const [args, message] of expected) {
        const finished = await coffer([...args, '--endpoint-url', url], { env });
        assert.equal(finished.code, 1, `${args.join(' ')}: ${finished.stderr}`);
        assert.match(finished.stderr, message, args.join(' '));
        assert.equal(finished.stdout, '', args.join(' '));
      }
    } finally {
      server.close();
    }
  });

  it('exits 1 when nothing listens at the endpoint, with a hint to start coffer serve', async () => {
    const port = await closedPort();
    const finished = await coffer(['keys', 'list', '--endpoint-url', `http://127.0.0.1:${port}`], { env: withKeys('secret') });
    assert.equal(finished.code, 1);
    assert.match(finished.stderr, /^error: ConnectionError: cannot reach http:\/\/127\.0\.0\.1:\d+ \(.*ECONNREFUSED/m);
    assert.match(finished.stderr, /^hint: is the server running\? start one with `coffer serve`, or pass --endpoint-url \(https:\/\/ for a server with TLS, http:\/\/ for one without\)$/m);
  });

  it('exits 1 when the server takes the connection and never answers, after --cli-read-timeout, for KMS and admin commands alike', async () => {
    // Without a timeout the command waited for good: a CI job hung until its own limit.
    const silent = await rawEndpoint(() => {});
    const { url } = silent;
    try {
      for (const args of [['keys', 'list'], ['principals', 'list']]) {
        const finished = await coffer([...args, '--endpoint-url', url, '--cli-read-timeout', '1'], { env: { ...withKeys('secret'), AWS_MAX_ATTEMPTS: '1' } });
        assert.equal(finished.code, 1, finished.stderr);
        assert.match(finished.stderr, /^error: Timeout: no answer from http:\/\/127\.0\.0\.1:\d+ in time /m);
        assert.match(finished.stderr, /^hint: the server took the connection but did not answer; check it, or pass --cli-read-timeout SECONDS/m);
      }
      const bad = await coffer(['keys', 'list', '--endpoint-url', url, '--cli-read-timeout', 'soon'], { env: withKeys('secret') });
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /^error: --cli-read-timeout must be a whole number of seconds from 0 to 2147483, not 'soon'$/m);
      // Past Node's longest timer a timeout would fire at once: refused, not a command that fails at once.
      const long = await coffer(['keys', 'list', '--endpoint-url', url, '--cli-connect-timeout', '2147484'], { env: withKeys('secret') });
      assert.equal(long.code, 2, long.stderr);
      assert.match(long.stderr, /^error: --cli-connect-timeout must be a whole number of seconds from 0 to 2147483, not '2147484'$/m);
    } finally {
      silent.close();
    }
  });

  it('says the server closed the connection, not that it timed out, when it hangs up without answering (plain HTTP to a TLS port)', async () => {
    // The SDK names such a reset a TimeoutError so that it retries; the hint was --cli-read-timeout, which cannot help.
    const hangingUp = await rawEndpoint((socket) => socket.once('data', () => socket.destroy()));
    try {
      for (const args of [['keys', 'list'], ['principals', 'list']]) {
        const finished = await coffer([...args, '--endpoint-url', hangingUp.url], { env: { ...withKeys('secret'), AWS_MAX_ATTEMPTS: '1' } });
        assert.equal(finished.code, 1, finished.stderr);
        assert.match(finished.stderr, /^error: ConnectionError: http:\/\/127\.0\.0\.1:\d+ closed the connection without answering \(socket hang up\)$/m);
        assert.match(finished.stderr, /^hint: is the server running\? .*https:\/\/ for a server with TLS/m);
      }
    } finally {
      hangingUp.close();
    }
  });

  it('says the server cut its answer off when the connection closes in the middle of one, not that it cannot be reached', async () => {
    const cutting = await rawEndpoint((socket) => socket.once('data', () => {
      socket.end('HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ncontent-length: 1000\r\n\r\n{"Keys":[');
    }));
    try {
      for (const args of [['keys', 'list'], ['principals', 'list']]) {
        const finished = await coffer([...args, '--endpoint-url', cutting.url], { env: { ...withKeys('secret'), AWS_MAX_ATTEMPTS: '1' } });
        assert.equal(finished.code, 1, finished.stderr);
        assert.match(finished.stderr, /^error: ConnectionError: http:\/\/127\.0\.0\.1:\d+ closed the connection before its answer was complete \(aborted\)$/m);
        assert.match(finished.stderr, /^hint: the server \(or a proxy before it\) cut its answer off/m);
      }
    } finally {
      cutting.close();
    }
  });

  it('exits 5 with one error line when standard output cannot be written (redirected to a full disk)', async () => {
    // /dev/full fails every write with ENOSPC, as a file on a full disk does. Before, the failed
    // write was an unhandled 'error' event: a stack trace and exit code 1.
    for (const args of [['keys', 'list'], ['keys', 'describe', keyId, '--json'], ['audit', 'query', '--json']]) {
      const full = openSync('/dev/full', 'w');
      const child = spawn(process.execPath, [MAIN, ...args, ...endpoint()], { env: withKeys(served.credentials.secretAccessKey), stdio: ['ignore', full, 'pipe'] });
      closeSync(full);
      let stderr = '';
      child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
      const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
      assert.equal(code, 5, `${args.join(' ')}: ${stderr}`);
      assert.equal(stderr, 'error: cannot write to standard output: ENOSPC\n', args.join(' '));
    }
  });

  it("falls back to ./.coffer/credentials with profile [coffer] when no AWS credentials are set", async () => {
    const cwd = tempDir();
    mkdirSync(join(cwd, '.coffer'));
    copyFileSync(served.server.credentialsFile, join(cwd, '.coffer', 'credentials'));
    const listed = jsonOf(await coffer(['keys', 'list', '--json', ...endpoint()], { env: cleanEnv(), cwd }));
    assert.ok((listed.Keys as { KeyId: string }[]).some((k) => k.KeyId === keyId));
    // The endpoint from the environment works the same as the flag.
    const fromEnv = await coffer(['keys', 'describe', keyId], { env: cleanEnv({ COFFER_ENDPOINT: served.server.endpoint }), cwd });
    assert.equal(fromEnv.code, 0, fromEnv.stderr);
    // A [default] profile's endpoint_url (another emulator's) never gets the local administrator's signed requests.
    let reached = 0;
    const other = await rawEndpoint((socket) => {
      reached += 1;
      socket.destroy();
    });
    try {
      const env = cleanEnv();
      writeFileSync(env.AWS_CONFIG_FILE!, `[default]\nendpoint_url = ${other.url}\n`);
      const local = await coffer(['keys', 'list'], { env, cwd });
      assert.notEqual(local.code, 0, local.stderr); // nothing of this test's at 127.0.0.1:4600
      assert.equal(reached, 0, local.stderr);
    } finally {
      other.close();
    }
  });

  it('uses a named profile from --profile or AWS_PROFILE in the shared credentials file', async () => {
    const env = cleanEnv();
    mkdirSync(join(env.HOME!, '.aws'));
    writeFileSync(join(env.HOME!, '.aws', 'credentials'), [
      '[ops]', `aws_access_key_id = ${served.credentials.accessKeyId}`, `aws_secret_access_key = ${served.credentials.secretAccessKey}`,
      '[wrong]', `aws_access_key_id = ${served.credentials.accessKeyId}`, 'aws_secret_access_key = not-the-secret', '',
    ].join('\n'));
    const cwd = tempDir();
    assert.equal((await coffer(['keys', 'describe', keyId, '--profile', 'ops', ...endpoint()], { env, cwd })).code, 0);
    assert.equal((await coffer(['keys', 'describe', keyId, ...endpoint()], { env: { ...env, AWS_PROFILE: 'ops' }, cwd })).code, 0);
    assert.equal((await coffer(['keys', 'describe', keyId, '--profile', 'wrong', ...endpoint()], { env, cwd })).code, 3);
    // A profile that is nowhere is named, with where it was looked for, for KMS and admin commands alike.
    for (const command of [['keys', 'describe', keyId, '--profile', 'opz'], ['principals', 'list', '--profile', 'opz']]) {
      const missing = await coffer([...command, ...endpoint()], { env, cwd });
      assert.equal(missing.code, 3, missing.stderr);
      assert.match(missing.stderr, /^error: CredentialsProviderError: the profile 'opz' is in neither .*\.aws\/credentials nor .*no-such-config\nhint: check the name in --profile or AWS_PROFILE/m);
    }
    // A credentials file that cannot be read is named as the cause, not the profile's name. (A
    // directory in its place: tests run as root, for whom a mode 0600 file of another is readable.)
    const unreadable = join(tempDir(), 'credentials');
    mkdirSync(unreadable);
    const refused = await coffer(['keys', 'describe', keyId, '--profile', 'ops', ...endpoint()], { env: { ...env, AWS_SHARED_CREDENTIALS_FILE: unreadable }, cwd });
    assert.equal(refused.code, 3, refused.stderr);
    assert.ok(refused.stderr.includes(`error: CredentialsProviderError: cannot read ${unreadable} (EISDIR), so the profile 'ops' could not be looked up\nhint: the credentials and config files must be readable`), refused.stderr);
    // So too when the config file has the profile (its region, as `aws configure` writes it) and
    // only the credentials file, which holds its keys, cannot be read; and for no profile named.
    const config = join(tempDir(), 'config');
    writeFileSync(config, '[profile ops]\nregion = us-east-1\n[default]\nregion = us-east-1\n');
    // A profile whose keys are in a credentials file that was read (a secret missing) is the SDK's
    // to explain, however unreadable the config file is.
    const partial = join(tempDir(), 'credentials');
    writeFileSync(partial, `[p2]\naws_access_key_id = ${served.credentials.accessKeyId}\n`);
    const partialKeys = await coffer(['keys', 'describe', keyId, '--profile', 'p2', ...endpoint()], { env: { ...env, AWS_SHARED_CREDENTIALS_FILE: partial, AWS_CONFIG_FILE: unreadable }, cwd });
    assert.equal(partialKeys.code, 3, partialKeys.stderr);
    assert.doesNotMatch(partialKeys.stderr, /cannot read/);
    for (const args of [['--profile', 'ops'], []]) {
      const withConfig = await coffer(['keys', 'describe', keyId, ...args, ...endpoint()], { env: { ...env, AWS_SHARED_CREDENTIALS_FILE: unreadable, AWS_CONFIG_FILE: config }, cwd });
      assert.equal(withConfig.code, 3, withConfig.stderr);
      assert.ok(withConfig.stderr.includes(`error: CredentialsProviderError: cannot read ${unreadable} (EISDIR), so the profile '${args.length ? 'ops' : 'default'}' could not be looked up`), withConfig.stderr);
    }
  });
});
