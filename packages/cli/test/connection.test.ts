/**
 * Where a command connects and as whom (connection.ts), against what the AWS CLI (botocore)
 * resolves for the same environment and files. The SDK's credential providers read process.env,
 * so each case sets it (this file runs in a process of its own) and puts it back.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { resolveConnection } from '../src/connection.js';

const dir = mkdtempSync(join(tmpdir(), 'coffer-connection-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const ADMIN = { accessKeyId: 'AKIAADMIN00000000001', secretAccessKey: 'admin-secret-admin-secret-0000000001' };
const ALICE = { accessKeyId: 'AKIAALICE00000000001', secretAccessKey: 'alice-secret-alice-secret-0000000001' };

const credentialsFile = join(dir, 'credentials');
writeFileSync(credentialsFile, [
  `[default]\naws_access_key_id = ${ADMIN.accessKeyId}\naws_secret_access_key = ${ADMIN.secretAccessKey}\n`,
  `[admin]\naws_access_key_id = ${ADMIN.accessKeyId}\naws_secret_access_key = ${ADMIN.secretAccessKey}\n`,
].join(''));

/** Runs `body` with process.env holding just `vars`, the files above and no ./.coffer fallback. */
async function withEnv<T>(vars: Record<string, string>, body: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  for (const name of Object.keys(process.env)) if (/^(AWS_|COFFER_)/.test(name)) delete process.env[name];
  Object.assign(process.env, {
    AWS_SHARED_CREDENTIALS_FILE: credentialsFile, AWS_CONFIG_FILE: join(dir, 'config'), COFFER_DATA_DIR: join(dir, 'no-server'), ...vars,
  });
  try {
    return await body(process.env);
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}

it('refuses AWS_ACCESS_KEY_ID without its secret, as the AWS CLI does, rather than sign with the [default] profile', async () => {
  await withEnv({ AWS_ACCESS_KEY_ID: ALICE.accessKeyId }, async (env) => {
    // Before, the [default] profile (here an administrator's) signed, with no word of the missing key.
    await assert.rejects(resolveConnection({}, env).credentials(),
      { name: 'ApiError', code: 'CredentialsProviderError', message: 'partial credentials in the environment: AWS_ACCESS_KEY_ID is set, AWS_SECRET_ACCESS_KEY is not' });
  });
  // A secret alone names no one: botocore passes it over, and so does coffer.
  await withEnv({ AWS_SECRET_ACCESS_KEY: ALICE.secretAccessKey }, async (env) => {
    assert.equal((await resolveConnection({}, env).credentials()).accessKeyId, ADMIN.accessKeyId);
  });
});

it('signs with keys in the environment over AWS_PROFILE, and with a --profile given over both, as the AWS CLI does', async () => {
  const warnings: unknown[] = [];
  const warn = console.warn;
  console.warn = (...args: unknown[]) => void warnings.push(args);
  try {
    await withEnv({ AWS_PROFILE: 'admin', AWS_ACCESS_KEY_ID: ALICE.accessKeyId, AWS_SECRET_ACCESS_KEY: ALICE.secretAccessKey, AWS_SESSION_TOKEN: 'token' }, async (env) => {
      // Before, the profile's (the SDK's choice), where the AWS CLI signs as alice.
      assert.deepEqual(await resolveConnection({}, env).credentials(), { ...ALICE, sessionToken: 'token' });
      assert.equal((await resolveConnection({ profile: 'admin' }, env).credentials()).accessKeyId, ADMIN.accessKeyId);
    });
  } finally {
    console.warn = warn;
  }
  // The SDK's eight-line warning that both are set, about an AWS_PROFILE the --profile case never set.
  assert.deepEqual(warnings, []);
});

it('sends a local server\'s ./.coffer/credentials to AWS_ENDPOINT_URL when it is set, not to its profile\'s endpoint_url', async () => {
  const local = join(dir, 'local');
  mkdirSync(local, { recursive: true });
  writeFileSync(join(local, 'credentials'), `[coffer]\naws_access_key_id = ${ALICE.accessKeyId}\naws_secret_access_key = ${ALICE.secretAccessKey}\n`);
  writeFileSync(join(dir, 'config'), '[default]\nendpoint_url = http://file:1\n');
  await withEnv({ COFFER_DATA_DIR: local }, async (env) => {
    delete env.AWS_SHARED_CREDENTIALS_FILE;
    assert.equal(resolveConnection({}, { ...env }).endpoint, 'http://127.0.0.1:4600', 'the profile\'s endpoint is not the local server\'s');
    assert.equal(resolveConnection({}, { ...env, AWS_ENDPOINT_URL: 'https://127.0.0.1:4700' }).endpoint, 'https://127.0.0.1:4700');
  });
});

it('reads no configured endpoint, from the variables or the config file, once configured endpoints are turned off', async () => {
  writeFileSync(join(dir, 'config'), '[default]\nendpoint_url = http://file:1\n[profile off]\nignore_configured_endpoint_urls = true\n');
  const vars = { AWS_ENDPOINT_URL: 'http://env:1', AWS_ENDPOINT_URL_KMS: 'http://env-kms:1' };
  await withEnv(vars, async (env) => assert.equal(resolveConnection({}, env).endpoint, 'http://env-kms:1'));
  // Before, the variables were still read: only the file was skipped.
  await withEnv({ ...vars, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }, async (env) => assert.equal(resolveConnection({}, env).endpoint, 'http://127.0.0.1:4600'));
  await withEnv({ ...vars, AWS_PROFILE: 'off' }, async (env) => assert.equal(resolveConnection({}, env).endpoint, 'http://127.0.0.1:4600'));
  // The variable wins over the profile's setting, either way.
  await withEnv({ ...vars, AWS_PROFILE: 'off', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'false' }, async (env) => assert.equal(resolveConnection({}, env).endpoint, 'http://env-kms:1'));
  // What the command line (or this tool's own variable) says still applies.
  await withEnv({ ...vars, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }, async (env) => {
    assert.equal(resolveConnection({ 'endpoint-url': 'http://flag:1' }, env).endpoint, 'http://flag:1');
    assert.equal(resolveConnection({}, { ...env, COFFER_ENDPOINT: 'http://coffer:1' }).endpoint, 'http://coffer:1');
  });
});
