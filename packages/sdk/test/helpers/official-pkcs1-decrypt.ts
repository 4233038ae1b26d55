/**
 * Child-process helper for the interop test: decrypts messages with the official
 * @aws-crypto/client-node under `node --security-revert=CVE-2023-46809`, the only way that SDK
 * can unwrap RSA PKCS#1 v1.5 keys on Node 20. Input on stdin, output on stdout, both JSON.
 */
import { buildClient, CommitmentPolicy, RawRsaKeyringNode } from '@aws-crypto/client-node';
import { constants } from 'node:crypto';

interface Input {
  readonly privateKey: string;
  readonly keyNamespace: string;
  readonly keyName: string;
  readonly messages: readonly string[];
}

const chunks: Buffer[] = [];
for await (const c of process.stdin) chunks.push(c as Buffer);
const input = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Input;
const { decrypt } = buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_ALLOW_DECRYPT);
const keyring = new RawRsaKeyringNode({
  keyNamespace: input.keyNamespace,
  keyName: input.keyName,
  rsaKey: { privateKey: input.privateKey },
  padding: constants.RSA_PKCS1_PADDING,
});
const out: string[] = [];
for (const m of input.messages) out.push((await decrypt(keyring, Buffer.from(m, 'base64'))).plaintext.toString('base64'));
process.stdout.write(JSON.stringify(out));
