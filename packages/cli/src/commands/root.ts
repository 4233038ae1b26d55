import { callAdmin } from '../admin-client.js';
import { group, leaf, type Invocation } from '../command.js';
import { printJson, printTable, withIsoDates } from '../output.js';
import { promptSecret, readSecretFile } from '../secret-input.js';
import { UsageError } from '../usage.js';

/** The server's root keys, through the Coffer admin API (docs/root-keys.md). */

const PROVIDERS = ['file', 'passphrase', 'pkcs11', 'kms'] as const;

function printStatus(answer: Record<string, unknown>): void {
  printTable((answer.RootKeys as Record<string, unknown>[]).map((k) => ({
    RootKeyId: k.RootKeyId,
    Provider: k.Provider,
    Current: k.Current ? 'yes' : '',
    Settings: Object.entries(k.Settings as Record<string, unknown>).filter(([name]) => name !== 'salt').map(([name, value]) => `${name}=${String(value)}`).join(' '),
  })), ['RootKeyId', 'Provider', 'Current', 'Settings']);
  const rotation = answer.Rotation as Record<string, unknown> | undefined;
  process.stdout.write(rotation
    ? `\nrotation in progress: phase ${String(rotation.Phase)}, ${String(rotation.Rewrapped)} values re-wrapped so far; the old root keys are still needed\n`
    : '\nno rotation in progress: only the current root key is needed\n');
}

const status = leaf({
  name: 'status',
  summary: 'Show the root keys the store needs and a rotation\'s progress (GetRootKeyStatus).',
  json: true,
  examples: ['coffer root status', 'coffer root status --json'],
  run: async (inv) => {
    const answer = await callAdmin(inv.connection(), 'GetRootKeyStatus', {});
    if (inv.flag('json')) printJson(withIsoDates(answer));
    else printStatus(answer);
  },
});

async function passphraseOf(inv: Invocation): Promise<string | undefined> {
  const file = inv.string('passphrase-file');
  if (file !== undefined) return readSecretFile(file, 'root-key passphrase');
  if (!inv.flag('prompt-passphrase')) return undefined;
  const first = promptSecret('New root-key passphrase: ');
  if (!first) throw new UsageError('--prompt-passphrase needs a terminal', 'use --passphrase-file, or set COFFER_ROOT_PASSPHRASE for the server');
  const typed = await first;
  if (typed !== await promptSecret('Again: ')!) throw new UsageError('the passphrases differ', 'run the command again');
  return typed;
}

const rotate = leaf({
  name: 'rotate',
  summary: 'Make a new root key current and re-wrap everything under it while serving (RotateRootKey).',
  description: 'Without --to, the new root key is of the current provider (a new key file, a new salt for the\n'
    + 'same passphrase, a new key on the same token, a new remote-encrypted key). With --to, the store moves to\n'
    + 'another provider. The re-wrap runs in the server\'s background, resumes after a restart, and retires\n'
    + 'the old root keys when done: watch it with `coffer root status`. The server reads the PIN and remote\n'
    + 'credentials from its own configuration; a passphrase may come from the server\'s configuration, or\n'
    + 'from --passphrase-file / --prompt-passphrase here (sent in the signed request, never logged or audited).',
  synopsis: '[--to PROVIDER] [provider settings]',
  options: {
    to: { type: 'string', value: 'PROVIDER', help: `the new root key's provider: ${PROVIDERS.join(', ')} (default: the current one)`, complete: PROVIDERS },
    'passphrase-file': { type: 'string', value: 'FILE', help: 'the new passphrase, on the file\'s first line', complete: 'file' },
    'prompt-passphrase': { type: 'boolean', help: 'ask for the new passphrase on the terminal' },
    'pkcs11-library': { type: 'string', value: 'PATH', help: 'PKCS#11 module on the server', complete: 'file' },
    'pkcs11-token-label': { type: 'string', value: 'LABEL', help: 'the token, by label' },
    'pkcs11-slot': { type: 'string', value: 'N', help: 'the token, by slot' },
    'pkcs11-key-label': { type: 'string', value: 'LABEL', help: "label of the new key on the token (default: the server's --pkcs11-key-label if no key of its keyring has it, else coffer-root-<random>)" },
    'kms-endpoint': { type: 'string', value: 'URL', help: 'remote KMS endpoint' },
    'kms-region': { type: 'string', value: 'REGION', help: 'remote KMS region' },
    'kms-key-id': { type: 'string', value: 'KEY', help: 'the remote key that wraps the new root key' },
  },
  json: true,
  examples: [
    'coffer root rotate',
    'coffer root rotate --to pkcs11 --pkcs11-library /usr/lib/softhsm/libsofthsm2.so --pkcs11-token-label coffer --pkcs11-key-label coffer-root-2',
    'coffer root rotate --to passphrase --prompt-passphrase',
    'coffer root rotate --to kms --kms-endpoint https://kms.eu-west-1.amazonaws.com --kms-region eu-west-1 --kms-key-id alias/coffer-root',
  ],
  run: async (inv) => {
    const to = inv.string('to');
    if (to !== undefined && !(PROVIDERS as readonly string[]).includes(to)) {
      throw new UsageError(`--to must be one of ${PROVIDERS.join(', ')}, not '${to}'`, 'e.g. coffer root rotate --to pkcs11 ...');
    }
    const slotText = inv.string('pkcs11-slot');
    if (slotText !== undefined && !/^\d+$/.test(slotText)) throw new UsageError(`--pkcs11-slot must be a slot number, not '${slotText}'`, 'or use --pkcs11-token-label');
    const passphrase = await passphraseOf(inv);
    const input: Record<string, unknown> = {
      ...(to !== undefined ? { Provider: to } : {}),
      ...(passphrase !== undefined ? { Passphrase: passphrase } : {}),
      ...(slotText !== undefined ? { Pkcs11Slot: Number(slotText) } : {}),
    };
    const members: Record<string, string> = {
      'pkcs11-library': 'Pkcs11Library', 'pkcs11-token-label': 'Pkcs11TokenLabel', 'pkcs11-key-label': 'Pkcs11KeyLabel',
      'kms-endpoint': 'KmsEndpoint', 'kms-region': 'KmsRegion', 'kms-key-id': 'KmsKeyId',
    };
    for (const [flag, member] of Object.entries(members)) {
      const value = inv.string(flag);
      if (value !== undefined) input[member] = value;
    }
    const answer = await callAdmin(inv.connection(), 'RotateRootKey', input);
    if (inv.flag('json')) return printJson(withIsoDates(answer));
    process.stdout.write(`root key ${String(answer.RootKeyId)} (${String(answer.Provider)}) is now current; new values are wrapped by it\n`);
    printStatus(answer);
  },
});

export const rootCommand = group({
  name: 'root',
  summary: 'The server\'s root keys: status, and rotation or migration to another provider (admin API).',
  description: 'The root key wraps every key\'s material and every stored secret. It lives in a file, is derived from\n'
    + 'a passphrase, stays on a PKCS#11 token, or is unsealed by another KMS (docs/root-keys.md).',
  examples: ['coffer root status', 'coffer root rotate', 'coffer root rotate --to pkcs11 --pkcs11-library /usr/lib/softhsm/libsofthsm2.so --pkcs11-token-label coffer'],
  children: [status, rotate],
});
