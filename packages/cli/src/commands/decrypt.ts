import { decryptStream, DEFAULT_MAX_BUFFERED_BYTES } from '@coffer/sdk';
import { leaf } from '../command.js';
import { withKms } from '../kms-client.js';
import { UsageError } from '../usage.js';
import { integerIn } from '../values.js';
import { planJobs } from '../crypt/jobs.js';
import {
  commitmentPolicyOf, contextOf, decryptKeyring, decryptKeyArnsOf, maxEncryptedDataKeysOf, requiringContext, SHARED_OPTIONS, withCaching,
} from '../crypt/materials.js';
import { runJobs } from '../crypt/run.js';

export const decryptCommand = leaf({
  name: 'decrypt',
  summary: 'Decrypt AWS Encryption SDK messages: a file, standard input or a directory tree.',
  description: 'Plaintext appears only once the whole message has verified: a file is written to OUT.<random>.partial\n' +
    'and renamed at the end, and removed on any failure, SIGINT, SIGTERM, SIGHUP or SIGQUIT (a SIGKILL may leave the .partial file,\n' +
    'never a file under the final name). Messages stream into files in bounded memory, signed or not; what goes to\n' +
    'standard output is held until verified, up to --max-buffered-bytes.',
  synopsis: 'INPUT (--key KEY ... | --discovery [--discovery-account ID ...]) [-o OUT] [--recursive] [--context K=V ...]',
  arguments: [['INPUT', 'a file, a directory with --recursive, or - for standard input']],
  options: {
    key: { type: 'string', multiple: true, value: 'KEY', help: 'a key the message may be encrypted under: key id, ARN or alias (all but an ARN are looked up with DescribeKey); repeat for more' },
    discovery: { type: 'boolean', help: 'instead of --key: use whichever key the message names' },
    'discovery-account': { type: 'string', multiple: true, value: 'ID', help: 'with --discovery: only keys of this account; repeat for more' },
    'discovery-partition': { type: 'string', value: 'NAME', help: 'with --discovery-account: the partition (default aws)' },
    'max-buffered-bytes': { type: 'string', value: 'N', help: `most plaintext held until a message verifies (default ${DEFAULT_MAX_BUFFERED_BYTES})` },
    ...SHARED_OPTIONS,
    context: { type: 'string', multiple: true, value: 'K=V', help: 'a pair the message\'s encryption context must hold (stored, or required and given back here); repeat for more' },
  },
  examples: [
    'coffer decrypt report.pdf.encrypted --key alias/payments --context tenant=acme',
    'coffer decrypt - --discovery --discovery-account 111122223333 < data.tar.encrypted | tar x',
    'coffer decrypt --recursive ./records-encrypted -o ./records --key alias/payments',
  ],
  run: async (inv) => {
    const keys = inv.strings('key');
    const discovery = inv.flag('discovery');
    if (keys.length === 0 && !discovery) {
      throw new UsageError(`${inv.path}: missing --key or --discovery`, 'for example `coffer decrypt report.pdf.encrypted --key alias/payments`');
    }
    if (keys.length > 0 && discovery) throw new UsageError('--key and --discovery cannot be combined', 'name the keys, or let the message name them with --discovery');
    const accounts = inv.strings('discovery-account');
    if (!discovery && (accounts.length > 0 || inv.string('discovery-partition') !== undefined)) {
      throw new UsageError('--discovery-account and --discovery-partition need --discovery', 'for example --discovery --discovery-account 111122223333');
    }
    // A discovery filter is a partition with its accounts (the ESDK's DiscoveryFilter): a partition alone would filter nothing.
    const partition = inv.string('discovery-partition');
    if (partition !== undefined && (accounts.length === 0 || !/^[a-z][a-z0-9-]*$/.test(partition))) {
      throw new UsageError(accounts.length === 0 ? '--discovery-partition needs --discovery-account' : `--discovery-partition '${partition}' is not a partition name`,
        'for example --discovery --discovery-account 111122223333 --discovery-partition aws');
    }
    for (const account of accounts) {
      if (!/^\d{12}$/.test(account)) throw new UsageError(`--discovery-account '${account}' is not a 12-digit account id`, 'for example --discovery-account 111122223333');
    }
    const commitmentPolicy = commitmentPolicyOf(inv);
    const maxEncryptedDataKeys = maxEncryptedDataKeysOf(inv);
    const maxBufferedBytes = integerIn(inv.string('max-buffered-bytes'), '--max-buffered-bytes', 1, Number.MAX_SAFE_INTEGER);
    const required = contextOf(inv);
    const jobs = planJobs(inv, 'decrypt');
    return withKms(inv.connection(), async (kms) => {
      const keyring = decryptKeyring(kms, await decryptKeyArnsOf(kms, keys),
        discovery ? { partition: inv.string('discovery-partition') ?? 'aws', accountIds: [...accounts] } : undefined);
      const materials = requiringContext(withCaching(inv, keyring), required);
      return runJobs(jobs, {
        direction: 'decrypt',
        force: inv.flag('force'),
        quiet: inv.flag('quiet'),
        metadataOutput: inv.string('metadata-output'),
        discovery,
        transform: (job) => decryptStream(materials, {
          ...(commitmentPolicy !== undefined ? { commitmentPolicy } : {}),
          ...(maxEncryptedDataKeys !== undefined ? { maxEncryptedDataKeys } : {}),
          ...(maxBufferedBytes !== undefined ? { maxBufferedBytes } : {}),
          // The reproduced encryption context: pairs a message authenticates without storing them
          // (a required-encryption-context manager's) decrypt only when given back.
          ...(Object.keys(required).length > 0 ? { encryptionContext: required } : {}),
          // Into a file, named only once the stream ends without error and removed otherwise, every
          // message streams frame by frame (a signed one's last frame waits for its signature).
          ...(job.output !== '-' ? { signedStreaming: true } : {}),
        }),
      });
    });
  },
});
