/**
 * The real AWS CLI (v1, on botocore) against Coffer, the way operators' scripts drive it: with the
 * printed credentials file and `--profile coffer`; every List* command across several pages
 * (auto-pagination, --page-size, --max-items with --starting-token); key material wrapped by
 * openssl as AWS's import guide shows; public keys and signatures checked by openssl;
 * --cli-input-json from --generate-cli-skeleton; and failures that exit 255 naming AWS's error.
 */
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CreateAliasCommand, CreateGrantCommand, CreateKeyCommand, RotateKeyOnDemandCommand, TagResourceCommand } from '@aws-sdk/client-kms';
import { bounded, cleanEnv, removeTempDirs, run, startTestServer, tempDir, type Finished, type TestServer } from './support/cli.js';

let served: TestServer;
let dir: string;
let env: NodeJS.ProcessEnv;
before(async () => {
  served = await startTestServer();
  dir = tempDir();
  // Only the credentials file the server wrote: the machine's own AWS configuration takes no part.
  env = cleanEnv({ AWS_SHARED_CREDENTIALS_FILE: served.server.credentialsFile });
});
after(async () => {
  await served.dispose();
  removeTempDirs();
});

/** `aws kms ...` as a script runs it, in the test's directory (fileb:// and file:// paths are relative to it). */
const aws = (...args: string[]): Promise<Finished> => run('aws', ['kms', ...args, '--endpoint-url', served.server.endpoint,
  '--profile', 'coffer', '--region', served.server.config.region, '--output', 'json'], { env, cwd: dir });

async function awsJson(...args: string[]): Promise<Record<string, unknown>> {
  const finished = await aws(...args);
  assert.equal(finished.code, 0, `aws kms ${args.join(' ')}: ${finished.stderr}`);
  return JSON.parse(finished.stdout) as Record<string, unknown>;
}

async function openssl(...args: string[]): Promise<string> {
  const finished = await run('openssl', args, { env, cwd: dir });
  assert.equal(finished.code, 0, `openssl ${args.join(' ')}: ${finished.stderr}`);
  return finished.stdout;
}

const file = (name: string) => join(dir, name);
const writeBase64 = (name: string, value: unknown) => writeFileSync(file(name), Buffer.from(String(value), 'base64'));

describe('the AWS CLI pages every List* command', () => {
  /** Each listing, the member its items are in, and at least how many items it has. */
  const listings: { args: string[]; member: string; atLeast: number }[] = [];

  before(async () => {
    const kms = served.kms;
    const create = async () => (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
    const keys = await Promise.all(Array.from({ length: 103 }, create));
    const [main, second] = keys as [string, string];
    const root = `arn:aws:iam::${served.server.config.accountId}:root`;
    // Over each listing's default page (100 keys, 50 aliases, grants and retirable grants), and more
    // tags and rotations than the pages below (--page-size 7, --max-items 11).
    await Promise.all(Array.from({ length: 60 }, (_, i) => kms.send(new CreateAliasCommand({ AliasName: `alias/page-${i}`, TargetKeyId: i < 30 ? main : second }))));
    for (let i = 0; i < 60; i++) {
      await kms.send(new CreateGrantCommand({ KeyId: main, GranteePrincipal: root, RetiringPrincipal: root, Operations: ['Decrypt'], Name: `g${i}` }));
    }
    await kms.send(new TagResourceCommand({ KeyId: main, Tags: Array.from({ length: 50 }, (_, i) => ({ TagKey: `t${i}`, TagValue: String(i) })) }));
    for (let i = 0; i < 20; i++) await kms.send(new RotateKeyOnDemandCommand({ KeyId: main }));
    listings.push(
      { args: ['list-keys'], member: 'Keys', atLeast: 103 },
      { args: ['list-aliases'], member: 'Aliases', atLeast: 60 },
      { args: ['list-grants', '--key-id', main], member: 'Grants', atLeast: 60 },
      { args: ['list-retirable-grants', '--retiring-principal', root], member: 'Grants', atLeast: 60 },
      { args: ['list-resource-tags', '--key-id', main], member: 'Tags', atLeast: 50 },
      { args: ['list-key-rotations', '--key-id', main], member: 'Rotations', atLeast: 20 },
    );
  });

  it('lists everything by default, with --page-size, and resumes --max-items with --starting-token', async () => {
    await bounded(4, listings.map(({ args, member, atLeast }) => async () => {
      const full = (await awsJson(...args))[member] as unknown[];
      assert.ok(full.length >= atLeast, `${args[0]}: ${full.length} items, expected at least ${atLeast}`);
      assert.equal(new Set(full.map((item) => JSON.stringify(item))).size, full.length, `${args[0]}: an item listed twice`);

      assert.deepEqual((await awsJson(...args, '--page-size', '7'))[member], full, `${args[0]} --page-size 7`);

      const first = await awsJson(...args, '--max-items', '11', '--page-size', '4');
      assert.equal((first[member] as unknown[]).length, 11, `${args[0]} --max-items 11`);
      assert.equal(typeof first.NextToken, 'string', `${args[0]}: no NextToken after --max-items`);
      const rest = await awsJson(...args, '--starting-token', String(first.NextToken), '--page-size', '5');
      assert.equal(rest.NextToken, undefined, `${args[0]}: a NextToken after the last page`);
      assert.deepEqual([...first[member] as unknown[], ...rest[member] as unknown[]], full, `${args[0]}: resuming skipped or repeated items`);

      // One page, as the API gives it: the Limit is honoured and the marker says there is more.
      const page = await awsJson(...args, '--no-paginate', '--limit', '3');
      assert.equal((page[member] as unknown[]).length, 3, `${args[0]} --limit 3`);
      assert.equal(page.Truncated, true, `${args[0]} --limit 3: Truncated`);
      assert.equal(typeof page.NextMarker, 'string', `${args[0]} --limit 3: NextMarker`);
    }));
  });

  it('refuses a marker the listing did not issue, exiting 255 with InvalidMarkerException', async () => {
    const finished = await aws('list-keys', '--no-paginate', '--marker', 'not-a-marker');
    assert.equal(finished.code, 255);
    assert.match(finished.stderr, /An error occurred \(InvalidMarkerException\) when calling the ListKeys operation: \S/);
  });
});

describe('the AWS CLI imports key material wrapped by openssl', () => {
  it('imports symmetric material wrapped with RSAES_OAEP_SHA_256, and the same material again with RSA_AES_KEY_WRAP_SHA_256', async () => {
    const keyId = String(((await awsJson('create-key', '--origin', 'EXTERNAL')).KeyMetadata as Record<string, unknown>).KeyId);
    await openssl('rand', '-out', 'material.bin', '32');

    const direct = await awsJson('get-parameters-for-import', '--key-id', keyId, '--wrapping-algorithm', 'RSAES_OAEP_SHA_256', '--wrapping-key-spec', 'RSA_2048');
    writeBase64('wrapping-key.der', direct.PublicKey);
    writeBase64('import-token.bin', direct.ImportToken);
    await openssl('pkeyutl', '-encrypt', '-in', 'material.bin', '-out', 'material.enc', '-inkey', 'wrapping-key.der', '-keyform', 'DER', '-pubin',
      '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256');
    const imported = await awsJson('import-key-material', '--key-id', keyId, '--encrypted-key-material', 'fileb://material.enc',
      '--import-token', 'fileb://import-token.bin', '--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE');
    assert.match(String(imported.KeyMaterialId), /^[0-9a-f]{64}$/);

    writeFileSync(file('plaintext.bin'), Buffer.from([0, 1, 2, 255, 10, 13]));
    const encrypted = await awsJson('encrypt', '--key-id', keyId, '--plaintext', 'fileb://plaintext.bin');
    writeBase64('ciphertext.bin', encrypted.CiphertextBlob);

    // Deleted, the key decrypts nothing; the same material, wrapped the other way, brings it back.
    assert.equal((await aws('delete-imported-key-material', '--key-id', keyId)).code, 0);
    const pending = await aws('decrypt', '--ciphertext-blob', 'fileb://ciphertext.bin');
    assert.equal(pending.code, 255);
    assert.match(pending.stderr, /\(KMSInvalidStateException\) when calling the Decrypt operation: .* is pending import\./);

    await importWithAesKeyWrap(keyId, 'RSA_4096', 'material.bin');
    const decrypted = await awsJson('decrypt', '--ciphertext-blob', 'fileb://ciphertext.bin');
    assert.deepEqual(Buffer.from(String(decrypted.Plaintext), 'base64'), readFileSync(file('plaintext.bin')));
  });

  it('imports an openssl EC private key (RSA_AES_KEY_WRAP_SHA_256); openssl and the CLI verify each other\'s signatures', async () => {
    const keyId = String(((await awsJson('create-key', '--origin', 'EXTERNAL', '--key-spec', 'ECC_NIST_P256', '--key-usage', 'SIGN_VERIFY'))
      .KeyMetadata as Record<string, unknown>).KeyId);
    await openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'ec.pem');
    await openssl('pkcs8', '-topk8', '-nocrypt', '-in', 'ec.pem', '-outform', 'DER', '-out', 'ec.der');
    await importWithAesKeyWrap(keyId, 'RSA_3072', 'ec.der');

    const publicKey = await awsJson('get-public-key', '--key-id', keyId);
    writeBase64('ec-public.der', publicKey.PublicKey);
    await openssl('pkey', '-in', 'ec.pem', '-pubout', '-outform', 'DER', '-out', 'ec-public-openssl.der');
    assert.deepEqual(readFileSync(file('ec-public.der')), readFileSync(file('ec-public-openssl.der')), 'GetPublicKey is not the imported key\'s public key');

    writeFileSync(file('message.txt'), 'a release manifest\n');
    const signed = await awsJson('sign', '--key-id', keyId, '--message', 'fileb://message.txt', '--message-type', 'RAW', '--signing-algorithm', 'ECDSA_SHA_256');
    writeBase64('kms.sig', signed.Signature);
    assert.match(await openssl('dgst', '-sha256', '-verify', 'ec-public-openssl.der', '-keyform', 'DER', '-signature', 'kms.sig', 'message.txt'), /Verified OK/);

    await openssl('dgst', '-sha256', '-sign', 'ec.pem', '-out', 'openssl.sig', 'message.txt');
    const verified = await awsJson('verify', '--key-id', keyId, '--message', 'fileb://message.txt', '--message-type', 'RAW',
      '--signing-algorithm', 'ECDSA_SHA_256', '--signature', 'fileb://openssl.sig');
    assert.equal(verified.SignatureValid, true);
  });

  it('signs a DIGEST with an RSA key that openssl verifies against the message (PSS, salt of the digest length)', async () => {
    const keyId = String(((await awsJson('create-key', '--key-spec', 'RSA_2048', '--key-usage', 'SIGN_VERIFY')).KeyMetadata as Record<string, unknown>).KeyId);
    writeBase64('rsa-public.der', (await awsJson('get-public-key', '--key-id', keyId)).PublicKey);
    writeFileSync(file('document.txt'), 'terms, version 3\n');
    await openssl('dgst', '-sha384', '-binary', '-out', 'document.sha384', 'document.txt');
    const signed = await awsJson('sign', '--key-id', keyId, '--message', 'fileb://document.sha384', '--message-type', 'DIGEST', '--signing-algorithm', 'RSASSA_PSS_SHA_384');
    writeBase64('rsa.sig', signed.Signature);
    assert.match(await openssl('dgst', '-sha384', '-verify', 'rsa-public.der', '-keyform', 'DER', '-sigopt', 'rsa_padding_mode:pss',
      '-sigopt', 'rsa_pss_saltlen:digest', '-signature', 'rsa.sig', 'document.txt'), /Verified OK/);
  });
});

/** The steps of AWS's import guide for RSA_AES_KEY_WRAP_SHA_256: parameters, the material wrapped by openssl, the import. */
async function importWithAesKeyWrap(keyId: string, wrappingKeySpec: string, material: string): Promise<void> {
  const parameters = await awsJson('get-parameters-for-import', '--key-id', keyId, '--wrapping-algorithm', 'RSA_AES_KEY_WRAP_SHA_256', '--wrapping-key-spec', wrappingKeySpec);
  writeBase64('wrapping-key.der', parameters.PublicKey);
  writeBase64('import-token.bin', parameters.ImportToken);
  await wrapWithAesKeyWrap(material, 'material.enc');
  await awsJson('import-key-material', '--key-id', keyId, '--encrypted-key-material', 'fileb://material.enc',
    '--import-token', 'fileb://import-token.bin', '--expiration-model', 'KEY_MATERIAL_DOES_NOT_EXPIRE');
}

/** AWS's guide for RSA_AES_KEY_WRAP_SHA_*: a fresh AES key wraps the material (RFC 5649), RSA-OAEP wraps the AES key. */
async function wrapWithAesKeyWrap(material: string, out: string): Promise<void> {
  await openssl('rand', '-out', 'aes-key.bin', '32');
  const aesKeyHex = readFileSync(file('aes-key.bin')).toString('hex');
  await openssl('enc', '-id-aes256-wrap-pad', '-K', aesKeyHex, '-iv', 'A65959A6', '-in', material, '-out', 'material-wrapped.bin');
  await openssl('pkeyutl', '-encrypt', '-in', 'aes-key.bin', '-out', 'aes-key-wrapped.bin', '-inkey', 'wrapping-key.der', '-keyform', 'DER', '-pubin',
    '-pkeyopt', 'rsa_padding_mode:oaep', '-pkeyopt', 'rsa_oaep_md:sha256', '-pkeyopt', 'rsa_mgf1_md:sha256');
  writeFileSync(file(out), Buffer.concat([readFileSync(file('aes-key-wrapped.bin')), readFileSync(file('material-wrapped.bin'))]));
}

describe('the AWS CLI: input files, skeletons, dry runs and failures', () => {
  it('runs a --generate-cli-skeleton filled in as --cli-input-json, and reads a key policy with file://', async () => {
    const skeleton = JSON.parse((await aws('create-key', '--generate-cli-skeleton')).stdout) as Record<string, unknown>;
    assert.ok('KeySpec' in skeleton && 'Tags' in skeleton, 'the skeleton lacks CreateKey members');
    const policy = JSON.stringify({
      Version: '2012-10-17', Id: 'from-a-file',
      Statement: [{ Sid: 'account', Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${served.server.config.accountId}:root` }, Action: 'kms:*', Resource: '*' }],
    });
    writeFileSync(file('policy.json'), policy);
    writeFileSync(file('create-key.json'), JSON.stringify({
      Description: 'from a skeleton', KeyUsage: 'SIGN_VERIFY', KeySpec: 'ECC_NIST_P384', Tags: [{ TagKey: 'from', TagValue: 'skeleton' }],
      MultiRegion: false, BypassPolicyLockoutSafetyCheck: false,
    }));
    const metadata = (await awsJson('create-key', '--cli-input-json', 'file://create-key.json', '--policy', 'file://policy.json')).KeyMetadata as Record<string, unknown>;
    assert.equal(metadata.Description, 'from a skeleton');
    assert.deepEqual(metadata.SigningAlgorithms, ['ECDSA_SHA_384']);
    const tags = await awsJson('list-resource-tags', '--key-id', String(metadata.KeyId));
    assert.deepEqual(tags.Tags, [{ TagKey: 'from', TagValue: 'skeleton' }]);
    const stored = await awsJson('get-key-policy', '--key-id', String(metadata.KeyId));
    assert.equal(stored.Policy, policy);
    assert.equal(stored.PolicyName, 'default');
  });

  it('answers --dry-run with DryRunOperationException and changes nothing', async () => {
    const keyId = String(((await awsJson('create-key')).KeyMetadata as Record<string, unknown>).KeyId);
    const root = `arn:aws:iam::${served.server.config.accountId}:root`;
    for (const args of [
      ['encrypt', '--key-id', keyId, '--plaintext', 'fileb://plaintext.bin'],
      ['generate-data-key', '--key-id', keyId, '--key-spec', 'AES_256'],
      ['create-grant', '--key-id', keyId, '--grantee-principal', root, '--operations', 'Decrypt'],
    ]) {
      writeFileSync(file('plaintext.bin'), 'x');
      const finished = await aws(...args, '--dry-run');
      assert.equal(finished.code, 255, `${args[0]} --dry-run: ${finished.stdout}`);
      assert.match(finished.stderr, new RegExp(`\\(DryRunOperationException\\) when calling the \\w+ operation: The request would have succeeded, but the DryRun option is set\\.`));
    }
    assert.deepEqual((await awsJson('list-grants', '--key-id', keyId)).Grants, []);
    const usage = await awsJson('get-key-last-usage', '--key-id', keyId);
    assert.deepEqual(usage.KeyLastUsage ?? {}, {}, 'a dry run counted as a use of the key');
  });

  it('exits 255 with AWS\'s error name and a message that says what was wrong', async () => {
    const keyId = String(((await awsJson('create-key')).KeyMetadata as Record<string, unknown>).KeyId);
    writeFileSync(file('too-long.bin'), Buffer.alloc(4097, 1));
    writeFileSync(file('not-a-ciphertext.bin'), 'not a ciphertext');
    const cases: [string[], RegExp][] = [
      [['describe-key', '--key-id', '00000000-0000-4000-8000-000000000000'],
        /\(NotFoundException\) when calling the DescribeKey operation: Key 'arn:aws:kms:[^']+:key\/00000000-0000-4000-8000-000000000000' does not exist/],
      [['describe-key', '--key-id', 'alias/none-such'], /\(NotFoundException\) when calling the DescribeKey operation: Alias arn:aws:kms:\S+:alias\/none-such is not found\./],
      [['encrypt', '--key-id', keyId, '--plaintext', 'fileb://too-long.bin'],
        /\(ValidationException\) when calling the Encrypt operation: 1 validation error detected: Value at 'plaintext' failed to satisfy constraint: Member must have length less than or equal to 4096/],
      [['decrypt', '--ciphertext-blob', 'fileb://not-a-ciphertext.bin'], /\(InvalidCiphertextException\) when calling the Decrypt operation: $/m],
      [['create-alias', '--alias-name', 'alias/aws/reserved', '--target-key-id', keyId], /\(NotAuthorizedException\) when calling the CreateAlias operation: \S/],
      [['schedule-key-deletion', '--key-id', keyId, '--pending-window-in-days', '31'], /\(ValidationException\) when calling the ScheduleKeyDeletion operation: \S/],
      [['tag-resource', '--key-id', keyId, '--tags', 'TagKey=aws:owner,TagValue=x'], /\(TagException\) when calling the TagResource operation: Tags beginning with aws: are reserved/],
    ];
    await bounded(4, cases.map(([args, expected]) => async () => {
      const finished = await aws(...args);
      assert.equal(finished.code, 255, `aws kms ${args.join(' ')}: exit ${finished.code}, ${finished.stdout}`);
      assert.match(finished.stderr, expected);
    }));
    // The key the failed requests named is as it was.
    const metadata = (await awsJson('describe-key', '--key-id', keyId)).KeyMetadata as Record<string, unknown>;
    assert.equal(metadata.KeyState, 'Enabled');
  });
});
