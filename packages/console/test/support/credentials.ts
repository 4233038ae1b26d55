import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

/** The administrator's access key from the credentials file a server writes into its data directory. */
export function readCredentials(path: string): { accessKeyId: string; secretAccessKey: string } {
  const text = readFileSync(path, 'utf8');
  const accessKeyId = /aws_access_key_id = (\S+)/.exec(text)?.[1];
  const secretAccessKey = /aws_secret_access_key = (\S+)/.exec(text)?.[1];
  assert.ok(accessKeyId && secretAccessKey, `no credentials in ${path}`);
  return { accessKeyId, secretAccessKey };
}
