import { GenerateRandomCommand } from '@aws-sdk/client-kms';
import { leaf } from '../command.js';
import { jsonOf, withKms } from '../kms-client.js';
import { printJson } from '../output.js';
import { UsageError } from '../usage.js';
import { integerIn } from '../values.js';

export const randomCommand = leaf({
  name: 'random',
  summary: 'Print N random bytes from the server (GenerateRandom).',
  description: 'Raw bytes when standard output is a pipe or a file, base64 on a terminal; --base64, --hex or --raw choose.',
  synopsis: 'N [--base64 | --hex | --raw]',
  arguments: [['N', 'how many bytes, 1 to 1024']],
  options: {
    base64: { type: 'boolean', help: 'print base64 and a newline' },
    hex: { type: 'boolean', help: 'print hexadecimal and a newline' },
    raw: { type: 'boolean', help: 'write the bytes themselves' },
  },
  json: true,
  examples: ['coffer random 32 --hex', 'coffer random 32 > seed.bin'],
  run: async (inv) => {
    const NumberOfBytes = integerIn(inv.positionals[0], 'N', 1, 1024)!;
    const chosen = (['base64', 'hex', 'raw', 'json'] as const).filter((f) => inv.flag(f));
    if (chosen.length > 1) throw new UsageError(`--${chosen[0]} and --${chosen[1]} cannot be combined`, 'pick one output format');
    const format = chosen[0] ?? (process.stdout.isTTY ? 'base64' : 'raw');
    const answer = await withKms(inv.connection(), (kms) => kms.send(new GenerateRandomCommand({ NumberOfBytes })));
    const bytes = Buffer.from(answer.Plaintext ?? new Uint8Array());
    if (format === 'json') printJson(jsonOf({ Plaintext: answer.Plaintext }));
    else if (format === 'raw') process.stdout.write(bytes);
    else process.stdout.write(`${bytes.toString(format)}\n`);
  },
});
