import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The parts of a V8 .cpuprofile (as `node --cpu-prof` writes it) that the summary reads. */
interface CpuProfile {
  readonly nodes: readonly { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: readonly number[] }[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface SelfTime {
  readonly name: string;
  /** Self time over the whole profile, µs. */
  readonly totalUs: number;
  readonly share: number;
  /** Self time per request served, µs, when the request count is known. */
  readonly perRequestUs?: number;
}

export interface ProfileSummary {
  readonly sampledUs: number;
  readonly byFunction: SelfTime[];
  readonly byFile: SelfTime[];
  /**
   * Total (inclusive) time of the server's own functions (files under dist/): the time a sample
   * spent in the function or anything it called, counted once per sample however deep the recursion.
   */
  readonly ownInclusive: SelfTime[];
}

/**
 * Self time by function and by file. A sample's time is the interval to the next sample, given
 * to the function on top of the stack. The V8 profiler samples the main thread on a wall clock, so
 * time blocked in a synchronous call (SQLite's fsync) counts as that caller's self time.
 */
export function summarizeProfile(path: string, requests?: number, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  let sampledUs = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const us = profile.timeDeltas[i + 1] ?? 0;
    const frame = frames.get(profile.samples[i]!);
    if (!frame || us <= 0) continue;
    sampledUs += us;
    const file = shortUrl(frame.url);
    const name = frame.url ? `${frame.functionName || '(anonymous)'} ${file}:${frame.lineNumber + 1}` : frame.functionName;
    byFunction.set(name, (byFunction.get(name) ?? 0) + us);
    byFile.set(file || frame.functionName, (byFile.get(file || frame.functionName) ?? 0) + us);
    const seen = new Set<string>();
    for (let id: number | undefined = profile.samples[i]!; id !== undefined; id = parents.get(id)) {
      const f = frames.get(id)!;
      if (!f.url.includes('/dist/')) continue;
      const own = `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`;
      if (seen.has(own)) continue;
      seen.add(own);
      inclusive.set(own, (inclusive.get(own) ?? 0) + us);
    }
  }
  const rank = (times: Map<string, number>, count: number): SelfTime[] => [...times]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, totalUs]) => ({
      name, totalUs, share: totalUs / sampledUs,
      ...(requests ? { perRequestUs: totalUs / requests } : {}),
    }));
  // Every file, so that two profiles can be compared file by file.
  return { sampledUs, byFunction: rank(byFunction, top), byFile: rank(byFile, Infinity), ownInclusive: rank(inclusive, top) };
}

/** A url short enough to read: the package's own files from `dist/`, dependencies by package. */
function shortUrl(url: string): string {
  if (!url) return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const modules = path.lastIndexOf('/node_modules/');
  if (modules >= 0) return path.slice(modules + '/node_modules/'.length);
  const dist = path.indexOf('/dist/');
  return dist >= 0 ? path.slice(dist + 1) : path;
}

export function formatSummary(title: string, summary: ProfileSummary, rows = 15): string {
  const lines = [`${title} (${(summary.sampledUs / 1e6).toFixed(1)} s sampled)`];
  for (const [heading, list] of [['self time by function', summary.byFunction], ['self time by file', summary.byFile], ['total time of the server\'s own functions', summary.ownInclusive]] as const) {
    lines.push(`  ${heading}:`);
    for (const entry of list.slice(0, rows)) {
      const perRequest = entry.perRequestUs !== undefined ? `${entry.perRequestUs.toFixed(1).padStart(8)} µs/req` : '';
      lines.push(`    ${(entry.share * 100).toFixed(1).padStart(5)}% ${perRequest}  ${entry.name}`);
    }
  }
  return lines.join('\n');
}

// `node profile-summary.js <file.cpuprofile> [requests served]`
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [file, requests] = process.argv.slice(2);
  if (!file) {
    process.stderr.write('usage: profile-summary.js <file.cpuprofile> [requests served]\n');
    process.exit(2);
  }
  process.stdout.write(`${formatSummary(file, summarizeProfile(file, requests ? Number(requests) : undefined, 40), 40)}\n`);
}
