import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { configuredEndpoint } from '../src/profile-endpoint.js';

const dir = mkdtempSync(join(tmpdir(), 'coffer-profile-endpoint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** configuredEndpoint over a config file holding `text`; each case's answer is what botocore 1.43 gives for the same file. */
function endpointIn(text: string, profile?: string, env: NodeJS.ProcessEnv = {}): string | undefined {
  const file = join(dir, 'config');
  writeFileSync(file, text);
  return configuredEndpoint(profile, { AWS_CONFIG_FILE: file, ...env });
}

it('reads a profile\'s endpoint_url as botocore does: separators, case, comments, quoted and spaced names', () => {
  assert.equal(endpointIn('[default]\nendpoint_url = http://a:1\n'), 'http://a:1');
  assert.equal(endpointIn('[profile dev]\nendpoint_url: http://a:2\n', 'dev'), 'http://a:2');
  assert.equal(endpointIn('[profile dev]\nENDPOINT_URL = http://a:3\n', 'dev'), 'http://a:3');
  assert.equal(endpointIn('[profile "dev"]\nendpoint_url = http://a:4\n', 'dev'), 'http://a:4');
  assert.equal(endpointIn('[profile  dev ]\n# note\n; note\nendpoint_url = http://a:5 \n', 'dev'), 'http://a:5');
  assert.equal(endpointIn('[profile dev]\nendpoint_url = http://a:6\n', 'other'), undefined);
});

it('takes the services section\'s kms endpoint first, with nested keys as written', () => {
  const services = (nested: string) => `[profile dev]\nservices = s\nendpoint_url = http://a:1\n[services s]\nsts =\n  endpoint_url = http://c:1\nkms =\n  ${nested}\n`;
  assert.equal(endpointIn(services('endpoint_url = http://b:1'), 'dev'), 'http://b:1');
  // botocore keeps nested keys' case: this one is no endpoint_url, and the profile's own applies.
  assert.equal(endpointIn(services('Endpoint_URL = http://b:2'), 'dev'), 'http://a:1');
});

it('takes an indented line under a setting with a value as its continuation, not a setting', () => {
  assert.equal(endpointIn('[profile dev]\nregion = us-east-1\n  endpoint_url = http://a:1\n', 'dev'), undefined);
});

it('reads nothing when configured endpoints are turned off, by the variable or by the profile', () => {
  assert.equal(endpointIn('[default]\nendpoint_url = http://a:1\n', undefined, { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }), undefined);
  assert.equal(endpointIn('[default]\nignore_configured_endpoint_urls = true\nendpoint_url = http://a:1\n'), undefined);
});

it('expands $VAR and ${VAR} in AWS_CONFIG_FILE', () => {
  writeFileSync(join(dir, 'config'), '[default]\nendpoint_url = http://a:1\n');
  assert.equal(configuredEndpoint(undefined, { AWS_CONFIG_FILE: '$WHERE/config', WHERE: dir }), 'http://a:1');
  assert.equal(configuredEndpoint(undefined, { AWS_CONFIG_FILE: '${WHERE}/config', WHERE: dir }), 'http://a:1');
});
