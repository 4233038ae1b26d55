import { CommitmentPolicy, DEFAULT_MAX_BUFFERED_BYTES, encryptStream, getSuite } from '@coffer/sdk';
import { leaf } from '../command.js';
import { withKms } from '../kms-client.js';
import { UsageError } from '../usage.js';
import { integerIn } from '../values.js';
import { planJobs } from '../crypt/jobs.js';
import {
  commitmentPolicyOf, contextOf, encryptKeyring, encryptKeyIdsOf, maxEncryptedDataKeysOf, SHARED_OPTIONS, SUITE_NAMES, suiteOf, withCaching,
} from '../crypt/materials.js';
import { runJobs } from '../crypt/run.js';

export const encryptCommand = leaf({
  name: 'encrypt',
  summary: 'Encrypt a file, standard input or a directory tree into AWS Encryption SDK messages under KMS keys.',
  description: 'Each message holds its data key encrypted under every --key; any one of them decrypts it. Output appears\n' +
    'only when complete: it is written to OUT.<random>.partial and renamed at the end.',
  synopsis: 'INPUT --key KEY [--key KEY ...] [-o OUT] [--recursive] [--context K=V ...]',
  arguments: [['INPUT', 'a file, a directory with --recursive, or - for standard input']],
  options: {
    key: { type: 'string', multiple: true, value: 'KEY', help: 'key id, ARN or alias (an alias is looked up with DescribeKey); repeat for more (the first generates the data key); required' },
    suite: { type: 'string', value: 'SUITE', help: 'algorithm suite name, or hex id as 0x0578 (default AES_256_GCM_HKDF_SHA512_COMMIT_KEY_ECDSA_P384)', complete: SUITE_NAMES },
    'frame-length': { type: 'string', value: 'BYTES', help: `plaintext bytes per frame (default 1048576, at most ${DEFAULT_MAX_BUFFERED_BYTES})` },
    ...SHARED_OPTIONS,
  },
  examples: [
    'coffer encrypt report.pdf --key alias/payments --context tenant=acme',
    'tar c ./data | coffer encrypt - --key alias/backup > data.tar.encrypted',
    'coffer encrypt --recursive ./records -o ./records-encrypted --key alias/payments --cache-max-age 300',
  ],
  run: async (inv) => {
    const keys = inv.strings('key');
    if (keys.length === 0) throw new UsageError(`${inv.path}: missing --key`, 'for example `coffer encrypt report.pdf --key alias/payments`');
    const suiteId = suiteOf(inv.string('suite'));
    const commitmentPolicy = commitmentPolicyOf(inv);
    if (suiteId !== undefined) {
      const committing = getSuite(suiteId).commitment;
      const forbids = commitmentPolicy === CommitmentPolicy.FORBID_ENCRYPT_ALLOW_DECRYPT;
      if (committing === forbids) {
        throw new UsageError(`--suite ${inv.string('suite')} does not fit the commitment policy ${commitmentPolicy ?? CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT}`,
          committing ? 'drop --commitment-policy FORBID_ENCRYPT_ALLOW_DECRYPT' : 'a suite without key commitment needs --commitment-policy FORBID_ENCRYPT_ALLOW_DECRYPT');
      }
    }
    // The format allows frames up to 2^32 - 1 bytes, but a frame is held whole until its tag
    // verifies: coffer decrypt (and any reader) would need that much memory, and by default refuses
    // frames over its --max-buffered-bytes. So nothing coffer encrypts needs more.
    const frameLength = integerIn(inv.string('frame-length'), '--frame-length', 1, DEFAULT_MAX_BUFFERED_BYTES);
    const maxEncryptedDataKeys = maxEncryptedDataKeysOf(inv);
    // Each --key wraps the data key once: more keys than the limit could only fail after the KMS calls.
    if (maxEncryptedDataKeys !== undefined && keys.length > maxEncryptedDataKeys) {
      throw new UsageError(`${keys.length} --key given, more than --max-encrypted-data-keys ${maxEncryptedDataKeys}`,
        'each --key adds one encrypted data key to the message: give fewer keys or raise the limit');
    }
    const encryptionContext = contextOf(inv);
    const jobs = planJobs(inv, 'encrypt');
    return withKms(inv.connection(), async (kms) => {
      const materials = withCaching(inv, encryptKeyring(kms, await encryptKeyIdsOf(kms, keys)));
      return runJobs(jobs, {
        direction: 'encrypt',
        force: inv.flag('force'),
        quiet: inv.flag('quiet'),
        metadataOutput: inv.string('metadata-output'),
        transform: (job) => encryptStream(materials, {
          encryptionContext,
          ...(suiteId !== undefined ? { suiteId } : {}),
          ...(frameLength !== undefined ? { frameLength } : {}),
          ...(commitmentPolicy !== undefined ? { commitmentPolicy } : {}),
          ...(maxEncryptedDataKeys !== undefined ? { maxEncryptedDataKeys } : {}),
          // A known length lets the caching manager reuse data keys (it caches nothing without one).
          // A size of 0 is not trusted: /proc and /sys files say 0 and have content.
          ...(job.size !== undefined && job.size > 0 ? { plaintextLength: job.size } : {}),
        }),
      });
    });
  },
});
