import { fstatSync, lstatSync, readdirSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import { isUtf8 } from 'node:buffer';
import type { Invocation } from '../command.js';
import { printable } from '../output.js';
import { IoError, UsageError } from '../usage.js';
import { refuseExistingOutput } from './partial-file.js';

/** One file's work: read `input` (a path, or - for standard input), write `output` (a path, or -). */
export interface Job {
  readonly input: string;
  readonly output: string;
  /** The input's size, when it is a regular file (a FIFO's says nothing; a /proc file's says 0, whatever it holds). */
  readonly size?: number;
}

export type Direction = 'encrypt' | 'decrypt';

function ioErrorOf(error: unknown, path: string): IoError {
  const code = (error as NodeJS.ErrnoException).code;
  return new IoError(`cannot read '${path}': ${code ?? (error as Error).message}`,
    code === 'ENOENT' ? 'check the path; - reads standard input' : undefined);
}

/**
 * The files to work on: one file, standard input, or (with --recursive) every regular file under
 * a directory, mirrored into the output directory. Symbolic links are not followed. Output names
 * that exist are refused before any work starts, unless --force.
 */
export function planJobs(inv: Invocation, direction: Direction): Job[] {
  const input = inv.positionals[0]!;
  const output = inv.string('output');
  const suffix = inv.string('suffix') ?? '.encrypted';
  if (suffix === '' || suffix.includes('/')) throw new UsageError(`--suffix '${suffix}' is not a file-name ending`, 'for example --suffix .enc');
  let jobs: Job[];
  if (input === '-') {
    if (inv.flag('recursive')) throw new UsageError('--recursive needs a directory, not standard input', `for example \`coffer ${direction} --recursive ./data -o ./out ...\``);
    jobs = [{ input, output: output ?? '-' }];
  } else {
    let stat;
    try {
      stat = statSync(input);
    } catch (error) {
      throw ioErrorOf(error, input);
    }
    if (stat.isDirectory()) {
      if (!inv.flag('recursive')) throw new UsageError(`'${input}' is a directory`, 'pass --recursive and --output DIR to work on every file under it');
      if (output === undefined || output === '-') throw new UsageError('--recursive needs --output DIR', `for example \`coffer ${direction} --recursive ${input} -o ${input}-out ...\``);
      const tree = treeJobs(input, output, suffix, direction);
      jobs = tree.jobs;
      // Said, not silent: a file left out would otherwise just not appear in the output.
      if (!inv.flag('quiet')) {
        const { skipped, notFiles, outputInside } = tree;
        if (skipped.length > 0) {
          process.stderr.write(`note: ${skipped.length} file${skipped.length === 1 ? '' : 's'} not ending in ${suffix} left as ${skipped.length === 1 ? 'it is' : 'they are'} (e.g. '${printable(skipped[0]!)}'); --suffix names another ending\n`);
        }
        if (notFiles.length > 0) {
          const one = notFiles.length === 1;
          process.stderr.write(`note: ${notFiles.length} ${one ? 'entry' : 'entries'} neither a regular file nor a directory (a symbolic link, FIFO, socket or device) left out (e.g. '${printable(notFiles[0]!)}'); name ${one ? 'it' : 'them'} directly, or copy what ${one ? 'it holds' : 'they hold'} into the tree\n`);
        }
        if (outputInside) process.stderr.write(`note: the output directory '${printable(output)}' lies inside '${printable(input)}' and is not read: files already in it are left as they are\n`);
      }
    } else {
      jobs = [{ input, output: output ?? defaultOutput(input, suffix, direction), ...(stat.isFile() ? { size: stat.size } : {}) }];
    }
  }
  if (inv.string('metadata-output') === '-' && jobs.some((j) => j.output === '-')) {
    throw new UsageError('--metadata-output - and the output both go to standard output', 'write the metadata to a file, e.g. --metadata-output meta.jsonl');
  }
  refuseMetadataOnJobFiles(inv.string('metadata-output'), jobs);
  refuseStdoutOnInput(jobs);
  for (const job of jobs) {
    if (job.output !== '-') refuseExistingOutput(job.output, job.output, inv.flag('force'), 'choose another --output; - writes to standard output');
  }
  return jobs;
}

/**
 * The metadata file is appended to after each job: were it an output, the JSON line would land at
 * the end of a finished message or plaintext (with --force, exit 0); were it an input, in the file
 * just read. Either is refused before any work, by path and, for files that exist, by identity.
 */
function refuseMetadataOnJobFiles(metadata: string | undefined, jobs: readonly Job[]): void {
  if (metadata === undefined || metadata === '-') return;
  const target = resolve(metadata);
  const identity = statOrUndefined(metadata);
  const same = (path: string, fd: number) => {
    if (path !== '-' && resolve(path) === target) return true;
    if (identity === undefined) return false;
    // Standard input or output may be the file itself (`--metadata-output /dev/stdout`, `< meta.jsonl`).
    const other = path === '-' ? fstatOrUndefined(fd) : statOrUndefined(path);
    return other !== undefined && other.dev === identity.dev && other.ino === identity.ino;
  };
  for (const job of jobs) {
    const role = same(job.output, 1) ? 'output' : same(job.input, 0) ? 'input' : undefined;
    if (role === undefined) continue;
    throw new UsageError(`--metadata-output '${metadata}' is also the ${role} '${role === 'output' ? job.output : job.input}'`,
      'write the metadata to a file of its own, e.g. --metadata-output meta.jsonl');
  }
}

/**
 * Standard output appended to the input file (`coffer encrypt - -o - < f >> f`) is read back as
 * more input: the file grows without end, as `cat f >> f` would (which cat refuses). Refused
 * before any work when both are the same regular file.
 */
function refuseStdoutOnInput(jobs: readonly Job[]): void {
  const job = jobs.find((j) => j.output === '-');
  if (job === undefined) return;
  const out = fstatOrUndefined(1);
  if (out === undefined || !out.isFile()) return;
  const input = job.input === '-' ? fstatOrUndefined(0) : statOrUndefined(job.input);
  if (input === undefined || input.dev !== out.dev || input.ino !== out.ino) return;
  throw new UsageError(`standard output is the input file${job.input === '-' ? '' : ` '${job.input}'`}`,
    'write the output to another file (-o FILE, or a redirection to another name)');
}

function statOrUndefined(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

function fstatOrUndefined(fd: number): Stats | undefined {
  try {
    return fstatSync(fd);
  } catch {
    return undefined;
  }
}

function defaultOutput(input: string, suffix: string, direction: Direction): string {
  if (direction === 'encrypt') return input + suffix;
  if (input.endsWith(suffix) && input.length > suffix.length) return input.slice(0, -suffix.length);
  throw new UsageError(`cannot name the output: '${input}' does not end in ${suffix}`, 'pass --output FILE (- for standard output)');
}

/**
 * A path with its symbolic links resolved, as far as it exists: the real path of its longest
 * existing prefix, and the rest as given (an output directory is made later).
 */
function realPathOf(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch (error) {
    const parent = dirname(absolute);
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || parent === absolute) return absolute;
    return join(realPathOf(parent), basename(absolute));
  }
}

function treeJobs(root: string, outRoot: string, suffix: string, direction: Direction): { jobs: Job[]; skipped: string[]; notFiles: string[]; outputInside: boolean } {
  const jobs: Job[] = [];
  const skipped: string[] = [];
  const notFiles: string[] = [];
  let outputInside = false;
  // Compared by real paths: an output named through a symbolic link to the input tree is that tree.
  const outAbsolute = realPathOf(outRoot);
  const rootAbsolute = realPathOf(root);
  // Outputs are never read back as inputs (below), so an output directory that holds the input tree would leave nothing to do.
  if (rootAbsolute === outAbsolute || rootAbsolute.startsWith(outAbsolute + sep) || outAbsolute === sep) {
    throw new UsageError(`--output '${outRoot}' is, or contains, the input directory '${root}'`, 'write to a directory outside the input tree, or inside it, e.g. -o ./out');
  }
  const inOutput = (real: string) => real === outAbsolute || real.startsWith(outAbsolute + sep);
  const walk = (dir: string, realDir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch (error) {
      throw ioErrorOf(error, dir);
    }
    for (const entry of entries) {
      // Node reads a name that is not UTF-8 with U+FFFD in place of its bytes: that name opens no
      // file, and an output named after it would not name the input. Stopped before any work, by name.
      if (entry.name.includes('\uFFFD') && !utf8Names(dir).has(entry.name)) {
        throw new IoError(`cannot read '${join(dir, entry.name)}': its name is not valid UTF-8`, 'rename it, or move it out of the tree');
      }
      const path = join(dir, entry.name);
      // The output tree may live inside the input tree: never read what this command writes.
      // (Directory entries are not followed through links: the walk sees directories and regular files only.)
      const real = join(realDir, entry.name);
      if (inOutput(real)) {
        outputInside = true;
        continue;
      }
      if (entry.isDirectory()) walk(path, real);
      else if (!entry.isFile()) notFiles.push(path);
      else {
        const rel = relative(root, path);
        if (direction === 'decrypt' && (!rel.endsWith(suffix) || entry.name === suffix)) {
          skipped.push(path);
          continue;
        }
        const out = join(outRoot, direction === 'encrypt' ? rel + suffix : rel.slice(0, -suffix.length));
        let size: number;
        try {
          size = lstatSync(path).size;
        } catch (error) {
          throw ioErrorOf(error, path);
        }
        jobs.push({ input: path, output: out, size });
      }
    }
  };
  walk(root, rootAbsolute);
  return { jobs, skipped, notFiles, outputInside };
}

/** The names in `dir` that are valid UTF-8, as read byte for byte. */
function utf8Names(dir: string): Set<string> {
  try {
    return new Set(readdirSync(dir, { encoding: 'buffer' }).filter((name) => isUtf8(name)).map((name) => name.toString('utf8')));
  } catch (error) {
    throw ioErrorOf(error, dir);
  }
}
