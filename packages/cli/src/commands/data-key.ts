import { DataKeySpec, GenerateDataKeyCommand, GenerateDataKeyWithoutPlaintextCommand } from '@aws-sdk/client-kms';
import { leaf } from '../command.js';
import { jsonOf, withKms } from '../kms-client.js';
import { printFields } from '../output.js';
import { UsageError } from '../usage.js';
import { integerIn, keyValues, oneOf } from '../values.js';
import { KEY_ARGUMENT, show } from './keys.js';

export const dataKeyCommand = leaf({
  name: 'data-key',
  summary: 'Make a data key under a KMS key (GenerateDataKey): the plaintext key and its encrypted copy, in base64.',
  description: 'Use the plaintext to encrypt locally, keep only the CiphertextBlob; Decrypt gives the plaintext back.',
  synopsis: 'KEY [--key-spec AES_256|AES_128 | --bytes N] [--context K=V ...] [--without-plaintext]',
  arguments: [KEY_ARGUMENT],
  options: {
    'key-spec': { type: 'string', value: 'SPEC', help: 'AES_256 (the default) or AES_128', complete: Object.values(DataKeySpec) },
    bytes: { type: 'string', value: 'N', help: 'a data key of N bytes, 1 to 1024, instead of --key-spec' },
    context: { type: 'string', multiple: true, value: 'K=V', help: 'encryption context; repeat for more; Decrypt needs the same' },
    'without-plaintext': { type: 'boolean', help: 'only the encrypted copy (GenerateDataKeyWithoutPlaintext)' },
  },
  json: true,
  examples: ['coffer data-key alias/payments --context tenant=acme --json', 'coffer data-key alias/payments --without-plaintext'],
  run: async (inv) => {
    if (inv.string('key-spec') !== undefined && inv.string('bytes') !== undefined) {
      throw new UsageError('--key-spec and --bytes cannot be combined', 'a data key is either AES_256/AES_128 or N bytes');
    }
    const NumberOfBytes = integerIn(inv.string('bytes'), '--bytes', 1, 1024);
    const KeySpec = NumberOfBytes === undefined ? oneOf(inv.string('key-spec') ?? 'AES_256', '--key-spec', Object.values(DataKeySpec)) : undefined;
    const context = inv.strings('context');
    const input = {
      KeyId: inv.positionals[0],
      ...(KeySpec !== undefined ? { KeySpec } : { NumberOfBytes }),
      ...(context.length ? { EncryptionContext: keyValues(context, '--context', '--context tenant=acme') } : {}),
    };
    const answer = await withKms(inv.connection(), (kms) => inv.flag('without-plaintext')
      ? kms.send(new GenerateDataKeyWithoutPlaintextCommand(input))
      : kms.send(new GenerateDataKeyCommand(input)));
    show(inv, answer, () => printFields(jsonOf(answer) as Record<string, unknown>));
  },
});
