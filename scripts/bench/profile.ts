/**
 * Where the issuer's main thread spends its time, from a V8 .cpuprofile (node --cpu-prof):
 * - the functions with the most self time (% of busy time, i.e. excluding idle);
 * - self time by owner: Gatehouse (dist/), each package under node_modules, Node internals, native/GC;
 * - inclusive time of chosen functions (everything that ran synchronously below them).
 * Work done off the main thread (WebCrypto jobs, Argon2, libuv I/O) is not sampled here; compare with the
 * process CPU the bench reports.
 *
 *   node --import tsx scripts/bench/profile.ts <file.cpuprofile> [--top 30]
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface FunctionTime {
  name: string;
  where: string;
  owner: string;
  ms: number;
  /** % of busy (non-idle) main-thread time. */
  pct: number;
}

export interface ProfileSummary {
  file: string;
  wallMs: number;
  busyMs: number;
  idleMs: number;
  topSelf: FunctionTime[];
  byOwner: Array<{ owner: string; ms: number; pct: number }>;
  inclusive: FunctionTime[];
}

const SPECIAL = new Set(['(idle)', '(program)', '(garbage collector)', '(root)']);

function ownerOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (SPECIAL.has(functionName)) return functionName;
  if (url === '') return '(native)';
  if (url.startsWith('node:')) return 'node:' + (url.slice(5).split('/')[0] ?? '');
  const modules = url.lastIndexOf('/node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  const dist = url.indexOf('/dist/');
  if (dist !== -1) return 'gatehouse';
  return url;
}

function whereOf(frame: CallFrame): string {
  if (frame.url === '') return '';
  let path = frame.url;
  try {
    if (path.startsWith('file:')) path = fileURLToPath(path);
  } catch {
    // keep the URL as it is
  }
  const modules = path.lastIndexOf('/node_modules/');
  const dist = path.indexOf('/dist/');
  const short = modules !== -1 ? path.slice(modules + '/node_modules/'.length) : dist !== -1 ? path.slice(dist + 1) : path;
  return `${short}:${frame.lineNumber + 1}`;
}

/** Gatehouse functions worth an inclusive figure: the steps of one introspection request. */
export const INCLUSIVE_OF = [
  'handleErrors',
  'introspection',
  'readForm',
  'parseForm',
  'authenticateClient',
  'introspect',
  'inspectAccessToken',
  'verifyAccessToken',
  'compactVerify',
  'accessTokenState',
  'find',
  'tokenEndpoint',
  'signAccessToken',
  'callback',
  'handleRequest',
  'parserOnHeadersComplete',
  'writeHead',
  'end',
  'respond',
];

export function summarizeProfile(file: string, top = 25): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  // A sample lasts until the next one (as speedscope and DevTools count it); the last gets the mean.
  const n = profile.samples.length;
  const mean = n > 0 ? (profile.endTime - profile.startTime) / n : 0;
  const self = new Map<number, number>();
  const inclusiveByKey = new Map<string, number>();
  const frameKey = (frame: CallFrame) => `${frame.functionName}|${frame.url}|${frame.lineNumber}`;
  for (let i = 0; i < n; i++) {
    const id = profile.samples[i]!;
    const us = i + 1 < n ? profile.timeDeltas[i + 1]! : mean;
    self.set(id, (self.get(id) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (!INCLUSIVE_OF.includes(frame.functionName)) continue;
      const key = frameKey(frame);
      if (seen.has(key)) continue;
      seen.add(key);
      inclusiveByKey.set(key, (inclusiveByKey.get(key) ?? 0) + us);
    }
  }

  let idle = 0;
  const perFunction = new Map<string, { frame: CallFrame; us: number }>();
  const perOwner = new Map<string, number>();
  for (const [id, us] of self) {
    const frame = byId.get(id)!.callFrame;
    if (frame.functionName === '(idle)') {
      idle += us;
      continue;
    }
    const key = frameKey(frame);
    const entry = perFunction.get(key) ?? { frame, us: 0 };
    entry.us += us;
    perFunction.set(key, entry);
    const owner = ownerOf(frame);
    perOwner.set(owner, (perOwner.get(owner) ?? 0) + us);
  }
  const wall = profile.endTime - profile.startTime;
  const busy = [...perOwner.values()].reduce((sum, us) => sum + us, 0);
  const pct = (us: number) => (busy > 0 ? (100 * us) / busy : 0);
  const describe = ({ frame, us }: { frame: CallFrame; us: number }): FunctionTime => ({
    name: frame.functionName || '(anonymous)',
    where: whereOf(frame),
    owner: ownerOf(frame),
    ms: us / 1000,
    pct: pct(us),
  });

  return {
    file,
    wallMs: wall / 1000,
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    topSelf: [...perFunction.values()].sort((a, b) => b.us - a.us).slice(0, top).map(describe),
    byOwner: [...perOwner.entries()].sort((a, b) => b[1] - a[1]).map(([owner, us]) => ({ owner, ms: us / 1000, pct: pct(us) })),
    inclusive: [...inclusiveByKey.entries()]
      .map(([key, us]) => {
        const [functionName, url, line] = key.split('|');
        return { frame: { functionName: functionName!, url: url!, lineNumber: Number(line), columnNumber: 0 }, us };
      })
      .filter(({ frame }) => ownerOf(frame) === 'gatehouse' || ['compactVerify', 'parserOnHeadersComplete', 'respond', 'callback', 'handleRequest'].includes(frame.functionName))
      .sort((a, b) => b.us - a.us)
      .slice(0, 20)
      .map(describe),
  };
}

export function formatSummary(summary: ProfileSummary): string {
  const lines: string[] = [];
  const ms = (value: number) => value.toFixed(0).padStart(7);
  const pc = (value: number) => `${value.toFixed(1).padStart(5)}%`;
  lines.push(`Profile ${basename(summary.file)}: wall ${(summary.wallMs / 1000).toFixed(1)} s, main thread busy ${(summary.busyMs / 1000).toFixed(1)} s, idle ${(summary.idleMs / 1000).toFixed(1)} s (percentages are of busy time)`);
  lines.push('', 'Top self time:');
  for (const entry of summary.topSelf) lines.push(`  ${pc(entry.pct)} ${ms(entry.ms)} ms  ${entry.name.padEnd(34)} ${entry.owner.padEnd(18)} ${entry.where}`);
  lines.push('', 'Self time by owner:');
  for (const entry of summary.byOwner.slice(0, 15)) lines.push(`  ${pc(entry.pct)} ${ms(entry.ms)} ms  ${entry.owner}`);
  lines.push('', 'Inclusive time (synchronous part under the function):');
  for (const entry of summary.inclusive) lines.push(`  ${pc(entry.pct)} ${ms(entry.ms)} ms  ${entry.name.padEnd(34)} ${entry.where}`);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const file = args.find((arg) => !arg.startsWith('--'));
  const topIndex = args.indexOf('--top');
  if (!file) {
    process.stderr.write('usage: profile.ts <file.cpuprofile> [--top N]\n');
    process.exit(2);
  }
  console.log(formatSummary(summarizeProfile(file, topIndex === -1 ? 25 : Number(args[topIndex + 1]))));
}
