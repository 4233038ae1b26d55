/**
 * Users for access tests, made through Coffer's admin API (`CofferAdmin.*`) as an administrator
 * would: the one place tests create principals, so a change of the admin API's fields is fixed here.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import { kmsClient, rawRequest, type Credentials, type RawResponse, type TestServer } from './server.js';

/** Sends one signed `CofferAdmin.<operation>` request and returns the raw answer. */
export function adminRequest(t: TestServer, operation: string, body: unknown, credentials: Credentials = t.credentials): Promise<RawResponse> {
  return rawRequest(t.server.endpoint, credentials, operation, body, { headers: { 'x-amz-target': `CofferAdmin.${operation}` } });
}

/** An admin call that must succeed; its JSON answer. */
export async function admin(t: TestServer, operation: string, body: unknown): Promise<Record<string, unknown>> {
  const answer = await adminRequest(t, operation, body);
  if (answer.status !== 200) throw new Error(`CofferAdmin.${operation} failed: ${answer.status} ${answer.text}`);
  return answer.body;
}

export interface TestUser {
  readonly name: string;
  readonly arn: string;
  readonly credentials: Credentials;
  /** An official KMS client signed with the user's access key. */
  readonly kms: KMSClient;
  /** A raw signed KMS request as this user. */
  raw(operation: string, body: unknown): Promise<RawResponse>;
  /** Attaches (or replaces) an identity policy; in force at once on this server. */
  putPolicy(policyName: string, document: object): Promise<void>;
}

/** Creates a user with one access key, and identity policies if given. */
export async function createUser(t: TestServer, name: string, policies: Record<string, object> = {}): Promise<TestUser> {
  const created = await admin(t, 'CreateUser', { UserName: name });
  const arn = String((created.User as { Arn: string }).Arn);
  const key = (await admin(t, 'CreateAccessKey', { UserName: name })).AccessKey as { AccessKeyId: string; SecretAccessKey: string };
  const credentials = { accessKeyId: key.AccessKeyId, secretAccessKey: key.SecretAccessKey };
  const user: TestUser = {
    name, arn, credentials,
    kms: kmsClient(t.server.endpoint, credentials, t.server.config.region),
    raw: (operation, body) => rawRequest(t.server.endpoint, credentials, operation, body, { region: t.server.config.region }),
    putPolicy: async (policyName, document) => {
      await admin(t, 'PutPrincipalPolicy', { UserName: name, PolicyName: policyName, PolicyDocument: JSON.stringify(document) });
    },
  };
  for (const [policyName, document] of Object.entries(policies)) await user.putPolicy(policyName, document);
  return user;
}

/** A policy document of the given statements. */
export const policyOf = (...statements: object[]): object => ({ Version: '2012-10-17', Statement: statements });
