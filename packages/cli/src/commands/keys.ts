import {
  CancelKeyDeletionCommand, CreateAliasCommand, CreateKeyCommand, DescribeKeyCommand, DisableKeyCommand, DisableKeyRotationCommand,
  EnableKeyCommand, EnableKeyRotationCommand, GetKeyPolicyCommand, GetKeyRotationStatusCommand, KeySpec, KeyUsageType,
  ListKeyRotationsCommand, ListKeysCommand, ListResourceTagsCommand, PutKeyPolicyCommand, RotateKeyOnDemandCommand,
  ScheduleKeyDeletionCommand, TagResourceCommand, UntagResourceCommand, type KMSClient,
} from '@aws-sdk/client-kms';
import { ApiError } from '../admin-client.js';
import { group, leaf, type Invocation } from '../command.js';
import { allPages, cliErrorOf, jsonOf, keyArnOf, withKms } from '../kms-client.js';
import { printable, printFields, printJson, printTable, terminalJson } from '../output.js';
import { UsageError } from '../usage.js';
import { integerIn, keyValues, newAliasName, oneOf, readTextInput } from '../values.js';

export const KEY_ARGUMENT = ['KEY', 'key id, key ARN, alias name (alias/x) or alias ARN'] as const;

/** `--json` prints the KMS answer; otherwise `human` prints for people. */
export function show(invocation: Invocation, answer: unknown, human: () => void): void {
  if (invocation.flag('json')) printJson(jsonOf(answer));
  else human();
}

/** Tags from K=V pairs; `what` and `example` name them as the command takes them (a flag or arguments). */
const tagsOf = (pairs: readonly string[], what: string, example: string) =>
  Object.entries(keyValues(pairs, what, example)).map(([TagKey, TagValue]) => ({ TagKey, TagValue }));

const create = leaf({
  name: 'create',
  summary: 'Create a KMS key (CreateKey), optionally with an alias.',
  synopsis: '[--description D] [--key-spec S] [--key-usage U] [--multi-region] [--tag K=V ...] [--alias alias/x] [--policy FILE]',
  options: {
    description: { type: 'string', value: 'TEXT', help: 'what the key is for' },
    'key-spec': { type: 'string', value: 'SPEC', help: 'default SYMMETRIC_DEFAULT', complete: Object.values(KeySpec) },
    'key-usage': { type: 'string', value: 'USAGE', help: 'default ENCRYPT_DECRYPT', complete: Object.values(KeyUsageType) },
    'multi-region': { type: 'boolean', help: 'a multi-Region primary key (its id starts mrk-)' },
    tag: { type: 'string', multiple: true, value: 'K=V', help: 'a tag; repeat for more' },
    alias: { type: 'string', value: 'alias/NAME', help: 'also create this alias for the key (CreateAlias)' },
    policy: { type: 'string', value: 'FILE', help: 'the key policy, from a JSON file (- for standard input)', complete: 'file' },
  },
  json: true,
  examples: ['coffer keys create --description "payments data" --alias alias/payments --tag team=payments'],
  run: async (inv) => {
    const alias = inv.string('alias') === undefined ? undefined : newAliasName(inv.string('alias')!);
    const tags = tagsOf(inv.strings('tag'), '--tag', '--tag team=payments');
    const policyFile = inv.string('policy');
    const input = {
      Description: inv.string('description'),
      KeySpec: oneOf(inv.string('key-spec'), '--key-spec', Object.values(KeySpec)),
      KeyUsage: oneOf(inv.string('key-usage'), '--key-usage', Object.values(KeyUsageType)),
      ...(inv.flag('multi-region') ? { MultiRegion: true } : {}),
      ...(tags.length ? { Tags: tags } : {}),
      ...(policyFile !== undefined ? { Policy: readTextInput(policyFile, 'the key policy') } : {}),
    };
    await withKms(inv.connection(), async (kms) => {
      // An alias that exists already is refused before the key is made: a retry must not leave a
      // key behind each time (one waits at least 7 days to be deleted, and counts against the quota).
      if (alias !== undefined) await assertAliasFree(kms, alias);
      const { KeyMetadata } = await kms.send(new CreateKeyCommand(input));
      if (alias !== undefined) {
        try {
          await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: KeyMetadata!.KeyId }));
        } catch (error) {
          const shown = cliErrorOf(error);
          if (!(shown instanceof ApiError)) throw shown;
          throw new ApiError(shown.code, `created the key ${KeyMetadata!.Arn}, but not the alias ${alias} `
            + `(\`coffer keys schedule-deletion ${KeyMetadata!.KeyId}\` deletes the key if it is not wanted): ${shown.message}`, shown.status);
        }
      }
      show(inv, { KeyMetadata }, () => printFields({ ...(jsonOf(KeyMetadata) as object), ...(alias ? { Alias: alias } : {}) }));
    });
  },
});

/**
 * Refuses an alias name that names a key already. KMS answers DescribeKey of an alias that does
 * not exist NotFoundException whatever the caller may do, and AccessDeniedException only for one
 * that exists (naming its key), so a caller without kms:DescribeKey is told too.
 */
async function assertAliasFree(kms: KMSClient, alias: string): Promise<void> {
  let arn: string | undefined;
  try {
    arn = (await kms.send(new DescribeKeyCommand({ KeyId: alias }))).KeyMetadata?.Arn;
  } catch (error) {
    // Anything else (the server down, say) is for CreateKey to report.
    if ((error as Error).name !== 'AccessDeniedException') return;
  }
  throw new ApiError('AlreadyExistsException', `the alias ${alias} exists already (it names ${arn ?? 'a key you may not describe'}); no key was created`, 400);
}

const list = leaf({
  name: 'list',
  summary: 'List the KMS keys (ListKeys, every page).',
  json: true,
  examples: ['coffer keys list', 'coffer keys list --json | jq -r ".Keys[].KeyId"'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const pages = await allPages((Marker) => kms.send(new ListKeysCommand({ Marker })));
    const Keys = pages.flatMap((p) => p.Keys ?? []);
    show(inv, { Keys }, () => printTable(jsonOf(Keys) as Record<string, unknown>[], ['KeyId', 'KeyArn']));
  }),
});

const describe = leaf({
  name: 'describe',
  summary: "Show a key's metadata (DescribeKey).",
  arguments: [KEY_ARGUMENT],
  json: true,
  examples: ['coffer keys describe alias/payments', 'coffer keys describe 1234abcd-12ab-34cd-56ef-1234567890ab --json'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const { KeyMetadata } = await kms.send(new DescribeKeyCommand({ KeyId: inv.positionals[0] }));
    show(inv, { KeyMetadata }, () => printFields(jsonOf(KeyMetadata) as Record<string, unknown>));
  }),
});

/** A command on one key that answers nothing worth printing: says what it did instead. */
function keyAction(name: string, summary: string, send: (kms: KMSClient, keyArn: string) => Promise<unknown>,
  done: (key: string) => string, example: string) {
  return leaf({
    name, summary, arguments: [KEY_ARGUMENT], examples: [example],
    run: (inv) => withKms(inv.connection(), async (kms) => {
      const key = inv.positionals[0]!;
      await send(kms, await keyArnOf(kms, key));
      process.stdout.write(`${done(key)}\n`);
    }),
  });
}

const enable = keyAction('enable', 'Enable a key (EnableKey).',
  (kms, KeyId) => kms.send(new EnableKeyCommand({ KeyId })), (k) => `enabled ${k}`, 'coffer keys enable alias/payments');
const disable = keyAction('disable', 'Disable a key (DisableKey): it cannot be used until enabled again.',
  (kms, KeyId) => kms.send(new DisableKeyCommand({ KeyId })), (k) => `disabled ${k}`, 'coffer keys disable alias/payments');

const rotate = leaf({
  name: 'rotate',
  summary: 'Rotate a key now (RotateKeyOnDemand): new material; older ciphertexts still decrypt.',
  arguments: [KEY_ARGUMENT],
  json: true,
  examples: ['coffer keys rotate alias/payments'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const answer = await kms.send(new RotateKeyOnDemandCommand({ KeyId: await keyArnOf(kms, inv.positionals[0]!) }));
    show(inv, answer, () => process.stdout.write(`started an on-demand rotation of ${answer.KeyId}\n`));
  }),
});

const rotation = group({
  name: 'rotation',
  summary: 'Turn automatic rotation on or off, or show its status.',
  examples: ['coffer keys rotation enable alias/payments --period-days 180', 'coffer keys rotation status alias/payments'],
  children: [
    leaf({
      name: 'enable',
      summary: 'Rotate the key automatically (EnableKeyRotation).',
      arguments: [KEY_ARGUMENT],
      options: { 'period-days': { type: 'string', value: 'N', help: 'days between rotations, 90 to 2560 (default 365)' } },
      examples: ['coffer keys rotation enable alias/payments --period-days 180'],
      run: (inv) => withKms(inv.connection(), async (kms) => {
        const RotationPeriodInDays = integerIn(inv.string('period-days'), '--period-days', 90, 2560);
        await kms.send(new EnableKeyRotationCommand({ KeyId: await keyArnOf(kms, inv.positionals[0]!), RotationPeriodInDays }));
        process.stdout.write(`automatic rotation of ${printable(inv.positionals[0]!)} is on${RotationPeriodInDays ? `, every ${RotationPeriodInDays} days` : ''}\n`);
      }),
    }),
    keyAction('disable', 'Stop rotating the key automatically (DisableKeyRotation).',
      (kms, KeyId) => kms.send(new DisableKeyRotationCommand({ KeyId })), (k) => `automatic rotation of ${k} is off`,
      'coffer keys rotation disable alias/payments'),
    leaf({
      name: 'status',
      summary: 'Show whether the key rotates automatically, and when next (GetKeyRotationStatus).',
      arguments: [KEY_ARGUMENT],
      json: true,
      examples: ['coffer keys rotation status alias/payments --json'],
      run: (inv) => withKms(inv.connection(), async (kms) => {
        const answer = await kms.send(new GetKeyRotationStatusCommand({ KeyId: await keyArnOf(kms, inv.positionals[0]!) }));
        show(inv, answer, () => printFields(jsonOf(answer) as Record<string, unknown>));
      }),
    }),
  ],
});

const rotations = leaf({
  name: 'rotations',
  summary: "List a key's completed rotations (ListKeyRotations, every page).",
  arguments: [KEY_ARGUMENT],
  json: true,
  examples: ['coffer keys rotations alias/payments'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const KeyId = await keyArnOf(kms, inv.positionals[0]!);
    const pages = await allPages((Marker) => kms.send(new ListKeyRotationsCommand({ KeyId, Marker })));
    const Rotations = pages.flatMap((p) => p.Rotations ?? []);
    show(inv, { Rotations }, () => printTable(jsonOf(Rotations) as Record<string, unknown>[], ['RotationDate', 'RotationType']));
  }),
});

const scheduleDeletion = leaf({
  name: 'schedule-deletion',
  summary: 'Delete a key after a waiting period (ScheduleKeyDeletion); `cancel-deletion` undoes it.',
  arguments: [KEY_ARGUMENT],
  options: { days: { type: 'string', value: 'N', help: 'waiting period in days, 7 to 30 (default 30)' } },
  json: true,
  examples: ['coffer keys schedule-deletion alias/old-payments --days 7'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const PendingWindowInDays = integerIn(inv.string('days'), '--days', 7, 30);
    const answer = await kms.send(new ScheduleKeyDeletionCommand({ KeyId: await keyArnOf(kms, inv.positionals[0]!), PendingWindowInDays }));
    show(inv, answer, () => printFields(jsonOf(answer) as Record<string, unknown>));
  }),
});

const cancelDeletion = leaf({
  name: 'cancel-deletion',
  summary: "Cancel a key's scheduled deletion (CancelKeyDeletion); the key comes back disabled.",
  arguments: [KEY_ARGUMENT],
  json: true,
  examples: ['coffer keys cancel-deletion alias/old-payments && coffer keys enable alias/old-payments'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const answer = await kms.send(new CancelKeyDeletionCommand({ KeyId: await keyArnOf(kms, inv.positionals[0]!) }));
    show(inv, answer, () => process.stdout.write(
      `cancelled the deletion of ${answer.KeyId}; the key is disabled: \`coffer keys enable ${inv.positionals[0]}\` makes it usable\n`));
  }),
});

const tag = leaf({
  name: 'tag',
  summary: 'Add or replace tags on a key (TagResource).',
  arguments: [KEY_ARGUMENT, ['K=V...', 'tags to set']],
  minArguments: 2,
  examples: ['coffer keys tag alias/payments team=payments env=prod'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const Tags = tagsOf(inv.positionals.slice(1), 'tag', 'team=payments');
    await kms.send(new TagResourceCommand({ KeyId: await keyArnOf(kms, inv.positionals[0]!), Tags }));
    process.stdout.write(`tagged ${printable(inv.positionals[0]!)}: ${Tags.map((t) => printable(t.TagKey!)).join(', ')}\n`);
  }),
});

const untag = leaf({
  name: 'untag',
  summary: 'Remove tags from a key (UntagResource).',
  arguments: [KEY_ARGUMENT, ['K...', 'tag keys to remove']],
  minArguments: 2,
  examples: ['coffer keys untag alias/payments env'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const TagKeys = inv.positionals.slice(1);
    await kms.send(new UntagResourceCommand({ KeyId: await keyArnOf(kms, inv.positionals[0]!), TagKeys }));
    process.stdout.write(`removed from ${printable(inv.positionals[0]!)}: ${TagKeys.map((k) => printable(k)).join(', ')}\n`);
    // `keys tag` takes K=V, so K=V here is likely meant as tag K: UntagResource takes it as a key
    // of that name, and answers success whether or not the key has one (as AWS does).
    for (const key of TagKeys.filter((k) => k.includes('='))) {
      const name = key.slice(0, key.indexOf('='));
      process.stderr.write(`note: '${printable(key)}' was taken as a tag key of that name; a tag is removed by its key alone: coffer keys untag ${printable(inv.positionals[0]!)} ${printable(name)}\n`);
    }
  }),
});

const tags = leaf({
  name: 'tags',
  summary: "List a key's tags (ListResourceTags, every page).",
  arguments: [KEY_ARGUMENT],
  json: true,
  examples: ['coffer keys tags alias/payments'],
  run: (inv) => withKms(inv.connection(), async (kms) => {
    const KeyId = await keyArnOf(kms, inv.positionals[0]!);
    const pages = await allPages((Marker) => kms.send(new ListResourceTagsCommand({ KeyId, Marker })));
    const Tags = pages.flatMap((p) => p.Tags ?? []);
    show(inv, { Tags }, () => printTable(jsonOf(Tags) as Record<string, unknown>[], ['TagKey', 'TagValue']));
  }),
});

const POLICY_NAME = { type: 'string', value: 'NAME', help: 'the policy name (default: default, the only one AWS has)' } as const;

const policy = group({
  name: 'policy',
  summary: "Read or replace a key's policy.",
  examples: ['coffer keys policy get alias/payments > policy.json', 'coffer keys policy put alias/payments --policy policy.json'],
  children: [
    leaf({
      name: 'get',
      summary: "Print a key's policy document (GetKeyPolicy).",
      arguments: [KEY_ARGUMENT],
      options: { name: POLICY_NAME },
      json: true,
      examples: ['coffer keys policy get alias/payments > policy.json'],
      run: (inv) => withKms(inv.connection(), async (kms) => {
        const answer = await kms.send(new GetKeyPolicyCommand({
          KeyId: await keyArnOf(kms, inv.positionals[0]!), PolicyName: inv.string('name') ?? 'default',
        }));
        show(inv, answer, () => process.stdout.write(`${prettyPolicy(answer.Policy ?? '')}\n`));
      }),
    }),
    leaf({
      name: 'put',
      summary: "Replace a key's policy (PutKeyPolicy).",
      synopsis: 'KEY --policy FILE|- [--bypass-lockout-check]',
      arguments: [KEY_ARGUMENT],
      options: {
        policy: { type: 'string', value: 'FILE', help: 'the new policy, a JSON file (- for standard input); required', complete: 'file' },
        'bypass-lockout-check': { type: 'boolean', help: 'accept a policy that stops you from changing it again (dangerous)' },
        name: POLICY_NAME,
      },
      examples: ['coffer keys policy put alias/payments --policy policy.json'],
      run: async (inv) => {
        const file = inv.string('policy');
        if (file === undefined) throw new UsageError(`${inv.path}: missing --policy FILE`, 'for example `coffer keys policy put alias/payments --policy policy.json`');
        const Policy = readTextInput(file, 'the key policy');
        await withKms(inv.connection(), async (kms) => {
          await kms.send(new PutKeyPolicyCommand({
            KeyId: await keyArnOf(kms, inv.positionals[0]!), Policy, PolicyName: inv.string('name') ?? 'default',
            ...(inv.flag('bypass-lockout-check') ? { BypassPolicyLockoutSafetyCheck: true } : {}),
          }));
          process.stdout.write(`replaced the policy of ${printable(inv.positionals[0]!)}\n`);
        });
      },
    }),
  ],
});

/** A key policy's size limit, 32768 bytes of UTF-8 (PutKeyPolicy). */
const KEY_POLICY_BYTES = 32_768;

/**
 * A policy indented for reading, or as it came when it is not JSON. One that indenting (or
 * escaping its control characters) would take past the size limit is printed compact, or else as
 * stored: `policy get > file` then `policy put --policy file` must put back what it got, line end
 * included.
 */
function prettyPolicy(text: string): string {
  let policy: unknown;
  try {
    policy = JSON.parse(text);
  } catch {
    return text;
  }
  const fits = (printed: string) => Buffer.byteLength(printed, 'utf8') + 1 <= KEY_POLICY_BYTES;
  const indented = terminalJson(policy, 2);
  if (fits(indented)) return indented;
  const compact = terminalJson(policy);
  return fits(compact) ? compact : text;
}

export const keysCommand = group({
  name: 'keys',
  summary: 'Create, inspect and manage KMS keys.',
  examples: ['coffer keys create --description "payments data" --alias alias/payments', 'coffer keys list', 'coffer keys describe alias/payments'],
  children: [create, list, describe, enable, disable, rotate, rotation, rotations, scheduleDeletion, cancelDeletion, tag, untag, tags, policy],
});
