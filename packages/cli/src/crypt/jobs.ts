import { fstatSync, lstatSync, readdirSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
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
  /** For a tree's file, the --output DIR its output must stay in (refuseLeavingOutputRoot). */
  readonly outputRoot?: string;
}

export type Direction = 'encrypt' | 'decrypt';

function ioErrorOf(error: unknown, path: string): IoError {
  const code = (error as NodeJS.ErrnoException).code;
  // A name with bytes that are not UTF-8 reaches Node's argv with U+FFFD in their place: the file
  // it names is not the one on disk, whose name Node cannot pass on.
  if (code === 'ENOENT' && path.includes('\ufffd')) {
    return new IoError(`cannot read '${path}': no such file; if its name holds bytes that are not valid UTF-8, that name cannot be given to coffer`,
      'rename it, or give it on standard input: coffer ... - < FILE');
  }
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
      // Said, not silent: a file left out would otherwise just not appear in the output. Also with
      // --quiet, which silences the progress bar only.
      sayWhatWasLeft(tree, input, output, suffix);
    } else {
      jobs = [{ input, output: output ?? defaultOutput(input, suffix, direction), ...(stat.isFile() ? { size: stat.size } : {}) }];
    }
  }
  refuseDirectoryName(jobs, suggestedName(input, suffix, direction));
  if (inv.string('metadata-output') === '-' && jobs.some((j) => j.output === '-')) {
    throw new UsageError('--metadata-output - and the output both go to standard output', 'write the metadata to a file, e.g. --metadata-output meta.jsonl');
  }
  refuseMetadataOnJobFiles(inv.string('metadata-output'), jobs);
  refuseStdoutOnInput(jobs);
  for (const job of jobs) {
    if (job.output === '-') continue;
    // A tree's output names come from its files' names; a single output's from --output or its input.
    const tooLong = job.outputRoot !== undefined ? 'rename the input file, or choose a shorter --suffix'
      : output !== undefined ? 'choose a shorter --output' : 'rename the input file, choose a shorter --suffix, or give --output';
    refuseExistingOutput(job.output, job.output, inv.flag('force'), 'choose another --output; - writes to standard output', tooLong);
  }
  return jobs;
}

/**
 * `-o out/` for one file or standard input names a directory, which a single output never is (an
 * existing directory is never replaced either). Refused before any work: otherwise the whole input
 * was read, sent through KMS and encrypted, only for the write to fail at the end.
 */
function refuseDirectoryName(jobs: readonly Job[], example: string): void {
  const job = jobs.length === 1 ? jobs[0]! : undefined;
  if (job === undefined || !job.output.endsWith('/')) return;
  throw new UsageError(`--output '${job.output}' names a directory, and the output of one input is a file`,
    `name the file, e.g. -o ${join(job.output, example)}; a directory's tree takes --recursive`);
}

/** A file name to suggest inside the directory an output named. */
function suggestedName(input: string, suffix: string, direction: Direction): string {
  if (input === '-') return 'out';
  const name = basename(input);
  if (direction === 'encrypt') return name + suffix;
  return name.endsWith(suffix) && name.length > suffix.length ? name.slice(0, -suffix.length) : 'out';
}

/**
 * The metadata file is appended to after each job: were it an output, the JSON line would land at
 * the end of a finished message or plaintext (with --force, exit 0); were it an input, in the file
 * just read. Either is refused before any work, by path and, for files that exist, by identity.
 */
function refuseMetadataOnJobFiles(metadata: string | undefined, jobs: readonly Job[]): void {
  if (metadata === undefined || metadata === '-') return;
  const target = whereItLeads(metadata);
  const identity = statOrUndefined(metadata);
  const same = (path: string, fd: number) => {
    if (path !== '-' && whereItLeads(path) === target) return true;
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

/**
 * The file a path names once its directories' and its own symbolic links are followed, even where
 * that file does not exist yet: a metadata path that is a link to an output still to be written
 * (`ml -> out/f2.encrypted`) has no identity to compare, and its appends would land in that output.
 */
function whereItLeads(path: string): string {
  let at = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    try {
      at = join(realpathSync(dirname(at)), basename(at));
    } catch {
      return at;
    }
    let link: string;
    try {
      link = readlinkSync(at);
    } catch {
      return at;
    }
    at = resolve(dirname(at), link);
  }
  return at;
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

/** The notes on what a --recursive run leaves out of its output, so that nothing is left out silently. */
function sayWhatWasLeft(tree: ReturnType<typeof treeJobs>, input: string, output: string, suffix: string): void {
  const { skipped, unnamed, notFiles, outputInside } = tree;
  if (skipped.length > 0) {
    process.stderr.write(`note: ${skipped.length} file${skipped.length === 1 ? '' : 's'} not ending in ${suffix} left as ${skipped.length === 1 ? 'it is' : 'they are'} (e.g. '${printable(skipped[0]!)}'); --suffix names another ending\n`);
  }
  if (unnamed.length > 0) {
    const one = unnamed.length === 1;
    process.stderr.write(`note: ${unnamed.length} file${one ? '' : 's'} whose name${one ? '' : 's'} without ${suffix} would be empty, '.' or '..' left as ${one ? 'it is' : 'they are'} (e.g. '${printable(unnamed[0]!)}'); rename ${one ? 'it' : 'them'} to decrypt ${one ? 'it' : 'them'}\n`);
  }
  if (notFiles.length > 0) {
    const one = notFiles.length === 1;
    process.stderr.write(`note: ${notFiles.length} ${one ? 'entry' : 'entries'} neither a regular file nor a directory (a symbolic link, FIFO, socket or device) left out (e.g. '${printable(notFiles[0]!)}'); name ${one ? 'it' : 'them'} directly, or copy what ${one ? 'it holds' : 'they hold'} into the tree\n`);
  }
  if (outputInside) process.stderr.write(`note: the output directory '${printable(output)}' lies inside '${printable(input)}' and is not read: files already in it are left as they are\n`);
}

function defaultOutput(input: string, suffix: string, direction: Direction): string {
  if (direction === 'encrypt') return input + suffix;
  if (!input.endsWith(suffix)) throw new UsageError(`cannot name the output: '${input}' does not end in ${suffix}`, 'pass --output FILE (- for standard output)');
  const output = input.slice(0, -suffix.length);
  // '.encrypted' or 'dir/.encrypted': without its suffix the name is nothing (or '.', '..'), not a file's.
  if (['', '.', '..'].includes(basename(output)) || output.endsWith('/')) {
    throw new UsageError(`cannot name the output: '${input}' without ${suffix} leaves no file name`, 'pass --output FILE (- for standard output), or rename the file');
  }
  // '-.encrypted' decrypts to a file named '-': only an --output of '-' means standard output.
  return output === '-' ? `.${sep}-` : output;
}

/**
 * A path with its symbolic links resolved, as far as it exists: the real path of its longest
 * existing prefix, and the rest as given (an output directory is made later).
 */
function realPathOf(path: string): string {
  const absolute = resolve(path);
  try {
    return realpathSync(absolute);
  } catch {
    // Missing (ENOENT), or not to be resolved (a file where a directory would be: ENOTDIR; a loop):
    // its parent's real path, and its own name. What cannot be made there is said when it is made.
    const parent = dirname(absolute);
    return parent === absolute ? absolute : join(realPathOf(parent), basename(absolute));
  }
}

/**
 * What walking a tree found: the jobs, and what it leaves out (each said in a note): files not
 * ending in the suffix, files whose name without it names no file, entries that are not files.
 */
interface Tree {
  readonly jobs: Job[];
  readonly skipped: string[];
  readonly unnamed: string[];
  readonly notFiles: string[];
  readonly outputInside: boolean;
}

function treeJobs(root: string, outRoot: string, suffix: string, direction: Direction): Tree {
  const jobs: Job[] = [];
  const skipped: string[] = [];
  const unnamed: string[] = [];
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
    // Node reads a name that is not UTF-8 with U+FFFD in place of its bytes: that name opens no
    // file, and an output named after it would not name the input. Stopped before any work, by
    // name, read byte for byte (a name holding a real U+FFFD may stand beside it).
    if (entries.some((entry) => entry.name.includes('\uFFFD'))) {
      const lossy = notUtf8Name(dir);
      if (lossy !== undefined) throw new IoError(`cannot read '${join(dir, lossy)}': its name is not valid UTF-8`, 'rename it, or move it out of the tree');
    }
    for (const entry of entries) {
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
        if (direction === 'decrypt' && !entry.name.endsWith(suffix)) {
          skipped.push(path);
          continue;
        }
        // Left out as files of another ending are: '...encrypted' would be written as the output
        // directory's parent, '..encrypted' and '.encrypted' as the directory itself.
        if (direction === 'decrypt' && !namesAFile(entry.name.slice(0, -suffix.length))) {
          unnamed.push(path);
          continue;
        }
        const out = join(outRoot, direction === 'encrypt' ? rel + suffix : rel.slice(0, -suffix.length));
        refuseOutsideOutput(out, outRoot, path);
        let size: number;
        try {
          size = lstatSync(path).size;
        } catch (error) {
          throw ioErrorOf(error, path);
        }
        jobs.push({ input: path, output: out, size, outputRoot: outRoot });
      }
    }
  };
  walk(root, rootAbsolute);
  refuseSharedOutputs(jobs, root, outRoot);
  const checked = new Set<string>();
  for (const job of jobs) {
    if (checked.has(dirname(job.output))) continue;
    refuseLeavingOutputRoot(job);
    checked.add(dirname(job.output));
  }
  return { jobs, skipped, unnamed, notFiles, outputInside };
}

/**
 * A tree's output is written only inside --output DIR: a symbolic link to a directory already in
 * the output tree (`out/sub -> /elsewhere`) would take the files below it out of it, where
 * creating directories and writing follow it. Checked for every directory before any work, and
 * again once the run has made a file's directories (a link planted meanwhile narrows to the moment
 * between that check and the write). The output directory itself may be a link: the operator named it.
 */
export function refuseLeavingOutputRoot(job: Job): void {
  if (job.outputRoot === undefined) return;
  const dir = dirname(job.output);
  const root = realPathOf(job.outputRoot);
  const real = realPathOf(dir);
  // A link to elsewhere inside the output directory keeps the output in it.
  const inside = relative(root, real);
  if (inside === '' || (inside !== '..' && !inside.startsWith('..' + sep) && !isAbsolute(inside))) return;
  throw new IoError(`cannot write '${printable(job.output)}': a symbolic link in '${printable(dir)}' leads outside '${printable(job.outputRoot)}'`,
    'remove the link from the output directory, or choose another --output');
}

/** Whether `name` can name a file of its own in a directory: '', '.' and '..' name a directory. */
function namesAFile(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..';
}

/**
 * An output of the tree must lie inside the output directory, below it. The names are checked
 * above (namesAFile); this holds whatever a name turns out to be, before anything is written.
 */
function refuseOutsideOutput(out: string, outRoot: string, input: string): void {
  const inside = relative(resolve(outRoot), resolve(out));
  if (inside !== '' && inside !== '..' && !inside.startsWith('..' + sep) && !isAbsolute(inside)) return;
  throw new IoError(`cannot name the output of '${printable(input)}': '${printable(out)}' would lie outside '${printable(outRoot)}'`, 'rename it, or move it out of the tree');
}

/**
 * Two entries of the tree that map to one output (a file 'd.encrypted' and a directory 'd' on
 * decrypt; a file 'q' and a directory 'q.encrypted' on encrypt) are refused before any work:
 * found midway, the run would stop with part of the tree written, and --force could not help.
 */
function refuseSharedOutputs(jobs: readonly Job[], root: string, outRoot: string): void {
  const files = new Map<string, string>();
  for (const job of jobs) {
    const other = files.get(job.output);
    if (other !== undefined) throw sharedOutput(`'${printable(other)}' and '${printable(job.input)}'`, job.output);
    files.set(job.output, job.input);
  }
  // Each directory an output lies in below the output directory is made for it: none may be a file's output.
  for (const job of jobs) {
    for (let dir = dirname(job.output); relative(outRoot, dir) !== '' && dirname(dir) !== dir; dir = dirname(dir)) {
      const file = files.get(dir);
      // Directories are mirrored under their own names: the input directory is the output's path in the input tree.
      if (file !== undefined) throw sharedOutput(`'${printable(file)}' and the directory '${printable(join(root, relative(outRoot, dir)))}'`, dir);
    }
  }
}

function sharedOutput(inputs: string, output: string): UsageError {
  return new UsageError(`${inputs} both map to '${printable(output)}'`,
    'rename one of them, or choose another --suffix; nothing was written');
}

/** The first name in `dir` that is not valid UTF-8, as read byte for byte (shown with U+FFFD); undefined when all are. */
function notUtf8Name(dir: string): string | undefined {
  try {
    return readdirSync(dir, { encoding: 'buffer' }).find((name) => !isUtf8(name))?.toString('utf8');
  } catch (error) {
    throw ioErrorOf(error, dir);
  }
}
