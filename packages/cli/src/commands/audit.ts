import { once } from 'node:events';
import type { WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { RESET_KEY_POLICY_USER_AGENT, StartupError, verifyAuditTrail } from '@coffer/server';
import { ApiError, callAdmin, listMember, pageMarkers } from '../admin-client.js';
import { group, leaf, type Invocation } from '../command.js';
import { PartialFile, refuseExistingOutput, removePartialFilesOnSignals } from '../crypt/partial-file.js';
import { printJson, printTable, terminalJson } from '../output.js';
import { EXIT_CRYPTO, EXIT_FAILURE, IoError, UsageError } from '../usage.js';
import { LOCATION_HINT, ROOT_KEY_TOOL_OPTIONS, rootKeyOf, storeOf } from './backup-options.js';

/**
 * The audit trail through the admin API (QueryAuditRecords, VerifyAuditChain), and its
 * verification straight from a data directory when the server is down or not trusted.
 * docs/audit.md describes the records and the chain.
 */

/** Rows a table shows when no --limit is given; --json and --output export everything. */
const TABLE_ROWS = 50;
const PAGE = 1000;
const UNITS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** An ISO 8601 time, or a relative one (`90s`, `15m`, `1h`, `2d`, `1w` ago), as epoch seconds. */
function timeOf(text: string, flag: string, now = Date.now()): number {
  const relative = /^(\d+(?:\.\d+)?)([smhdw])$/.exec(text.trim());
  if (relative) return (now - Number(relative[1]) * UNITS[relative[2]!]!) / 1000;
  const parsed = isoTime(text);
  if (Number.isNaN(parsed)) {
    throw new UsageError(`--${flag} '${text}' is neither an ISO 8601 time nor a relative one`,
      `write e.g. --${flag} 2026-01-31T12:00:00Z, --${flag} 2026-01-31, or --${flag} 1h (an hour ago); units s, m, h, d, w`);
  }
  return parsed / 1000;
}

const ISO_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * An ISO 8601 date or time as epoch ms, or NaN. Checked field by field first: Date.parse moves a
 * 30 February to 2 March and reads past trailing text, and a filter would silently take in days
 * that were not asked for.
 */
function isoTime(text: string): number {
  const fields = ISO_TIME.exec(text);
  if (!fields) return Number.NaN;
  const [year, month, day, hour = 0, minute = 0, second = 0] = fields.slice(1).map((f) => (f === undefined ? undefined : Number(f))) as number[];
  const daysInMonth = new Date(Date.UTC(year!, month!, 0)).getUTCDate();
  // 24:00:00 is ISO 8601's end of a day (the next one's start), as Date.parse reads it.
  const endOfDay = hour === 24 && minute === 0 && second === 0;
  if (month! < 1 || month! > 12 || day! < 1 || day! > daysInMonth || (hour > 23 && !endOfDay) || minute > 59 || second > 59) return Number.NaN;
  return Date.parse(text);
}

function filtersOf(inv: Invocation): Record<string, unknown> {
  const start = inv.string('start');
  const end = inv.string('end');
  const outcome = inv.string('outcome');
  if (outcome !== undefined && !/^[A-Za-z][A-Za-z0-9]*$/.test(outcome)) {
    throw new UsageError(`--outcome '${outcome}' is not an outcome`, 'write success, failure, or an error name such as AccessDeniedException');
  }
  return {
    ...(start !== undefined ? { StartTime: timeOf(start, 'start') } : {}),
    ...(end !== undefined ? { EndTime: timeOf(end, 'end') } : {}),
    ...(inv.string('principal') !== undefined ? { PrincipalArn: inv.string('principal') } : {}),
    ...(inv.string('key') !== undefined ? { KeyId: inv.string('key') } : {}),
    ...(inv.string('operation') !== undefined ? { Operation: inv.string('operation') } : {}),
    ...(outcome !== undefined ? { Outcome: outcome } : {}),
  };
}

function limitOf(inv: Invocation): number | undefined {
  const text = inv.string('limit');
  if (text === undefined) return undefined;
  const limit = Number(text);
  if (!/^\d+$/.test(text) || limit < 1) throw new UsageError(`--limit must be a whole number of records, at least 1, not '${text}'`, 'e.g. --limit 20');
  return limit;
}

type Event = Record<string, unknown> & { userIdentity?: { arn?: string }; resources?: { ARN: string }[] };

/** Every matching record, newest first, page by page: at most `limit` when given. */
async function* records(inv: Invocation, filters: Record<string, unknown>, limit: number | undefined): AsyncGenerator<Event> {
  const connection = inv.connection();
  let left = limit ?? Infinity;
  const next = pageMarkers('QueryAuditRecords');
  let token: string | undefined;
  do {
    const page = await callAdmin(connection, 'QueryAuditRecords', { ...filters, Limit: Math.min(PAGE, left), ...(token ? { NextToken: token } : {}) });
    for (const record of listMember(page, 'Records', 'QueryAuditRecords') as unknown as Event[]) {
      yield record;
      left--;
    }
    token = next(typeof page.NextToken === 'string' && left > 0 ? page.NextToken : undefined);
  } while (token !== undefined);
}

/**
 * Who acted, for the table: the principal's name; the server itself for its own actions (a
 * scheduled deletion or rotation, an AWS managed key made), shown as AWS service events; the
 * operator's tool that changed the store (its user agent); else a request that never authenticated.
 */
function principalOf(event: Event, arn: string | undefined): string {
  if (arn !== undefined) return arn.split(':').slice(5).join(':');
  if (event.eventType === 'AwsServiceEvent') return '(the server)';
  // No address: a request always has one, so a client's User-Agent cannot pass for the tool.
  if (event.sourceIPAddress === null && event.userAgent === RESET_KEY_POLICY_USER_AGENT) return `(operator: ${RESET_KEY_POLICY_USER_AGENT})`;
  return '(unauthenticated)';
}

/** A record as a table row: who, what, on which key, how it ended. */
function rowOf(event: Event): Record<string, unknown> {
  // A stored record the server could not read: shown in its place, never skipped.
  if (typeof event.unreadable === 'string') return { time: '', principal: '', operation: `(record ${String(event.seq)} unreadable)`, key: '', outcome: '' };
  const arn = event.userIdentity?.arn;
  // A key by its id; the alias an alias operation changed by its name (`alias/app/prod`).
  const keys = (event.resources ?? []).map((r) => r.ARN.split(':').slice(5).join(':').replace(/^key\//, ''));
  return {
    time: String(event.eventTime).replace(/\.\d{3}Z$/, 'Z'),
    principal: principalOf(event, arn),
    // As recorded (and as --operation takes it): the event shows admin and STS operations by their
    // bare names; a seed's keep their `CofferSeed.` name, from whichever source.
    operation: event.eventSource === 'coffer' && !String(event.eventName).startsWith('CofferSeed.') ? `CofferAdmin.${String(event.eventName)}`
      : event.eventSource === 'sts.amazonaws.com' ? `sts:${String(event.eventName)}` : (event.eventName ?? '(unknown)'),
    key: keys.length === 0 ? '' : keys.length === 1 ? keys[0] : `${keys[0]} +${keys.length - 1}`,
    outcome: event.errorCode ?? 'success',
  };
}

/** A line of the export; a write that failed (a full disk), even while no write was pending, is thrown here. */
async function writeLine(stream: WriteStream, line: string, failed: () => Error | undefined): Promise<void> {
  const error = failed();
  if (error) throw error;
  // once() rejects if the stream fails instead of draining.
  if (!stream.write(line)) await once(stream, 'drain');
}

const query = leaf({
  name: 'query',
  summary: 'Show or export audit records, newest first (QueryAuditRecords).',
  description: 'Filters combine: a record must match all of them. A table shows the newest 50 unless --limit says\n'
    + 'otherwise; --json prints every matching record as a JSON array (CloudTrail-like events with the\n'
    + 'chain fields seq, prevHash and hash) and --output writes them to FILE as JSON Lines: the export.',
  synopsis: '[--start TIME] [--end TIME] [--principal ARN] [--key KEY] [--operation OP] [--outcome OUTCOME]',
  options: {
    start: { type: 'string', value: 'TIME', help: 'from this time on: ISO 8601 or relative (1h, 30m, 2d)' },
    end: { type: 'string', value: 'TIME', help: 'before this time: ISO 8601 or relative' },
    principal: { type: 'string', value: 'ARN', help: 'only this caller, e.g. arn:aws:iam::111122223333:user/alice' },
    key: { type: 'string', value: 'KEY', help: 'only records naming this key (key id or key ARN)' },
    operation: { type: 'string', value: 'OP', help: 'only this operation, e.g. Encrypt or CreateUser' },
    outcome: { type: 'string', value: 'OUTCOME', help: 'success, failure, or an error name', complete: ['success', 'failure', 'AccessDeniedException'] },
    limit: { type: 'string', value: 'N', help: 'at most N records (a table: 50 by default; exports: all)' },
    output: { type: 'string', value: 'FILE', help: 'write the records to FILE as JSON Lines (one event a line)', complete: 'file' },
    force: { type: 'boolean', help: 'replace the --output file if it exists' },
  },
  json: true,
  examples: [
    'coffer audit query --start 1h --outcome failure',
    'coffer audit query --key 1234abcd-12ab-34cd-56ef-1234567890ab --operation Decrypt',
    'coffer audit query --start 2026-01-01 --end 2026-02-01 --output january.jsonl',
  ],
  run: async (inv) => {
    const filters = filtersOf(inv);
    const limit = limitOf(inv);
    const output = inv.string('output');
    if (output !== undefined) {
      // An earlier export is what a broken chain is compared with: it is replaced only with --force,
      // and only by a complete export (a failure part way leaves it, and no partial file, behind).
      const path = resolve(output);
      const force = inv.flag('force');
      refuseExistingOutput(path, output, force, undefined, 'choose a shorter --output');
      removePartialFilesOnSignals();
      const file = new PartialFile(path);
      // Kept, not left unhandled: a write fails in the background (ENOSPC), maybe while a page is fetched.
      let writeError: NodeJS.ErrnoException | undefined;
      file.stream.on('error', (error) => (writeError ??= error));
      let count = 0;
      try {
        for await (const record of records(inv, filters, limit)) {
          await writeLine(file.stream, `${JSON.stringify(record)}\n`, () => writeError);
          count++;
        }
        await new Promise<void>((done, fail) => file.stream.end((error?: Error | null) => (error ? fail(error) : done())));
      } catch (error) {
        file.abort();
        if (writeError) {
          throw new IoError(`cannot write '${output}': ${writeError.code ?? writeError.message}`,
            writeError.code === 'ENOSPC' ? 'free space on its file system, or choose another --output; an earlier export there is kept' : undefined);
        }
        throw error;
      }
      file.commit(force);
      process.stderr.write(`wrote ${count} record${count === 1 ? '' : 's'} to ${output}\n`);
      return;
    }
    if (inv.flag('json')) {
      // Streamed, so that an export of any size needs no more memory than a page.
      let first = true;
      process.stdout.write('[');
      for await (const record of records(inv, filters, limit)) {
        process.stdout.write(`${first ? '\n' : ',\n'}${terminalJson(record)}`);
        first = false;
      }
      process.stdout.write(first ? ']\n' : '\n]\n');
      return;
    }
    const rows: Record<string, unknown>[] = [];
    const shown = limit ?? TABLE_ROWS;
    // One more than shown, to say whether there are more.
    for await (const record of records(inv, filters, shown + 1)) rows.push(rowOf(record));
    printTable(rows.slice(0, shown), ['time', 'principal', 'operation', 'key', 'outcome']);
    if (rows.length > shown) process.stderr.write(`(the newest ${shown} shown; --limit N shows more, --json or --output FILE exports all)\n`);
  },
});

const verify = leaf({
  name: 'verify',
  summary: 'Check the audit chain: finds a record removed, reordered or altered, and names it.',
  description: 'Through the running server (VerifyAuditChain), or with --data-dir straight from the data directory\n'
    + '(its coffer.db, or the PostgreSQL database --store names, and root keys: root.key, or a passphrase or PIN\n'
    + 'given as to coffer serve: --root-passphrase-file, --pkcs11-pin-file, their environment variables or a prompt),\n'
    + 'for when the server is down or not trusted.\n'
    + `Exit status: 0 the chain is intact; ${EXIT_CRYPTO} it is broken (the record is named); ${EXIT_FAILURE} it could not be checked.`,
  synopsis: '[--data-dir DIR [--store postgres://...]]',
  options: {
    'data-dir': { type: 'string', value: 'DIR', help: 'check this data directory without a server (needs its root.key)', complete: 'file' },
    store: { type: 'string', value: 'URL', help: 'with --data-dir: a PostgreSQL store, postgres://... (env COFFER_STORE)' },
    ...ROOT_KEY_TOOL_OPTIONS,
  },
  json: true,
  examples: ['coffer audit verify', 'coffer audit verify --data-dir /var/lib/coffer', 'coffer audit verify --data-dir /var/lib/coffer --store postgres://coffer@db:5432/coffer'],
  run: async (inv) => {
    const dataDir = inv.string('data-dir');
    const store = storeOf(inv, dataDir !== undefined);
    if (store !== undefined && dataDir === undefined) throw new UsageError('--store needs --data-dir', 'for example coffer audit verify --data-dir /var/lib/coffer --store postgres://coffer@db/coffer');
    let answer: { Valid: boolean; Records: number; LastHash?: string; BrokenAt?: number; Problem?: string };
    if (dataDir !== undefined) {
      let verdict;
      try {
        verdict = await verifyAuditTrail(dataDir, store, rootKeyOf(inv));
      } catch (error) {
        if (error instanceof StartupError) {
          process.stderr.write(`error: ${error.message}\nhint: ${LOCATION_HINT}\n`);
          return EXIT_FAILURE;
        }
        throw error;
      }
      answer = verdict.ok
        ? { Valid: true, Records: verdict.records, ...(verdict.lastHash !== undefined ? { LastHash: verdict.lastHash } : {}) }
        : { Valid: false, Records: verdict.seq - 1, BrokenAt: verdict.seq, Problem: verdict.problem };
    } else {
      answer = await callAdmin(inv.connection(), 'VerifyAuditChain', {}) as typeof answer;
      // An answer without a verdict is not a broken chain (exit 4): the endpoint is not Coffer's.
      if (typeof answer !== 'object' || answer === null || typeof answer.Valid !== 'boolean' || typeof answer.Records !== 'number') {
        throw new ApiError('MalformedResponse', 'the server\'s VerifyAuditChain answer has no verdict (Valid, Records): is the endpoint a Coffer server?', 0);
      }
    }
    if (inv.flag('json')) printJson(answer);
    if (!answer.Valid) {
      process.stderr.write(`error: the audit chain breaks at record ${answer.BrokenAt}: ${answer.Problem}\n`
        + 'hint: records before it are intact; compare with an earlier export (coffer audit query --output) to see what changed\n');
      return EXIT_CRYPTO;
    }
    if (inv.flag('json')) return;
    process.stdout.write(`the audit chain is intact: ${answer.Records} record${answer.Records === 1 ? '' : 's'} checked\n`);
    // What to keep elsewhere: a later check must reach this record with this hash (docs/audit.md).
    if (answer.LastHash !== undefined) process.stdout.write(`last record: ${answer.Records} ${answer.LastHash}\n`);
  },
});

export const auditCommand = group({
  name: 'audit',
  summary: 'Query, export and verify the audit trail (admin API).',
  children: [query, verify],
  examples: ['coffer audit query --start 1h', 'coffer audit verify --data-dir ./.coffer'],
});
