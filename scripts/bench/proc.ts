/**
 * Child processes of the benchmark: the issuer, the ceilings and the peer each run in a process of their own, so
 * the load generator (autocannon, in the bench process) never shares an event loop with the server it measures.
 * Every child is remembered and stopped by its own pid when the bench ends, however it ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** Variables the issuer reads: never inherited from the shell that runs the bench, only set here. */
const CONFIG_VARIABLE = /^(PORT|HOST|DATABASE_URL|GATEHOUSE_.*)$/;

export function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) if (!CONFIG_VARIABLE.test(name)) env[name] = value;
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return env;
}

export interface Child {
  name: string;
  pid: number;
  process: ChildProcess;
  /** The match of the ready pattern on the line that announced readiness. */
  ready: RegExpExecArray;
  /** The last lines of stdout and stderr (bounded), for diagnosing a failure. */
  tail(): string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. Resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<Child>();
const TAIL_LINES = 40;

export class ChildStartError extends Error {
  constructor(
    message: string,
    readonly tail: string[],
  ) {
    super(message);
    this.name = 'ChildStartError';
  }
}

/**
 * Spawns `node ...args` and waits until it is ready: a stdout or stderr line matching `ready`, or, for a child
 * that prints nothing when it is ready (an issuer at GATEHOUSE_LOG_LEVEL=warn), `probe` answering with the match
 * to report (asked every 50 ms; it reaches the child as a client would).
 */
export function startChild(options: {
  name: string;
  args: string[];
  env: NodeJS.ProcessEnv;
  ready: RegExp;
  probe?: () => Promise<RegExpExecArray | undefined>;
  cwd?: string;
  timeoutMs?: number;
}): Promise<Child> {
  const child = spawn(process.execPath, options.args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let readyMatch: RegExpExecArray | undefined;
  let onLine: (() => void) | undefined;
  const collect = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop()!;
      for (const line of parts) {
        lines.push(line);
        if (lines.length > TAIL_LINES) lines.shift();
        if (!readyMatch) {
          const match = options.ready.exec(line);
          if (match) readyMatch = match;
        }
      }
      onLine?.();
    });
  };
  collect(child.stdout!);
  collect(child.stderr!);
  let exitedFlag = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => {
      exitedFlag = true;
      resolve({ code, signal });
      onLine?.();
    });
    child.on('error', () => {
      exitedFlag = true;
      resolve({ code: null, signal: null });
      onLine?.();
    });
  });

  const handle: Child = {
    name: options.name,
    pid: child.pid ?? -1,
    process: child,
    ready: undefined as unknown as RegExpExecArray,
    tail: () => [...lines],
    exited,
    hasExited: () => exitedFlag,
    async stop(graceMs = 10_000) {
      running.delete(handle);
      if (exitedFlag) return;
      child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([exited, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), graceMs)))]);
      clearTimeout(timer);
      if (outcome === 'timeout') {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
  running.add(handle);

  return new Promise<Child>((resolve, reject) => {
    const timer = setTimeout(() => finish(new ChildStartError(`${options.name} did not become ready within ${(options.timeoutMs ?? 30_000) / 1000} s`, lines)), options.timeoutMs ?? 30_000);
    let probing: NodeJS.Timeout | undefined;
    const finish = (error?: Error) => {
      clearTimeout(timer);
      clearTimeout(probing);
      onLine = undefined;
      if (error) {
        void handle.stop(1000).then(() => reject(error));
      } else {
        handle.ready = readyMatch!;
        resolve(handle);
      }
    };
    onLine = () => {
      if (readyMatch) return finish();
      if (exitedFlag) finish(new ChildStartError(`${options.name} exited before it was ready`, lines));
    };
    onLine();
    const probe = options.probe;
    if (probe) {
      const ask = () => {
        probing = setTimeout(() => {
          void probe().then(
            (match) => {
              if (onLine === undefined) return; // finished meanwhile
              if (match) {
                readyMatch = match;
                onLine();
              } else ask();
            },
            () => onLine !== undefined && ask(),
          );
        }, 50);
      };
      ask();
    }
  });
}

/** Stops every child still running (at exit, on SIGINT, after a crash). */
export async function stopAllChildren(): Promise<void> {
  await Promise.all([...running].map((child) => child.stop(3000)));
}

/** Kills what is left synchronously, for process 'exit'. Each child by its own pid. */
export function killAllChildrenNow(): void {
  for (const child of running) {
    if (!child.hasExited()) child.process.kill('SIGKILL');
  }
  running.clear();
}

export interface ProcSample {
  /** Resident set size, MiB. */
  rssMb: number;
  /** user + system CPU seconds of the whole process (all its threads) so far. */
  cpuSeconds: number;
  at: number;
}

interface ProcStat {
  ppid: number;
  cpuSeconds: number;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // ppid is field 4 of stat, utime and stime fields 14 and 15.
    return { ppid: Number(fields[1]), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / 100 };
  } catch {
    return undefined;
  }
}

function readRssMb(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
  } catch {
    return 0;
  }
}

/** The pids of a process's children, grandchildren and so on (cluster workers). */
function descendants(pid: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    const stat = readStat(Number(entry));
    if (stat) children.set(stat.ppid, [...(children.get(stat.ppid) ?? []), Number(entry)]);
  }
  const found: number[] = [];
  const queue = [...(children.get(pid) ?? [])];
  while (queue.length > 0) {
    const next = queue.shift()!;
    found.push(next);
    queue.push(...(children.get(next) ?? []));
  }
  return found;
}

/**
 * RSS and CPU time of a process and its descendants (a cluster primary and its workers) from /proc (Linux);
 * undefined elsewhere.
 */
export function sampleProcess(pid: number): ProcSample | undefined {
  const own = readStat(pid);
  if (!own) return undefined;
  let cpuSeconds = own.cpuSeconds;
  let rssMb = readRssMb(pid);
  for (const child of descendants(pid)) {
    cpuSeconds += readStat(child)?.cpuSeconds ?? 0;
    rssMb += readRssMb(child);
  }
  return { rssMb, cpuSeconds, at: performance.now() };
}

export interface MachineSample {
  /** Busy CPU seconds of the whole machine (all cores; idle and iowait excluded). */
  busySeconds: number;
  at: number;
}

/** The machine's busy CPU time from /proc/stat (Linux); undefined elsewhere. */
export function sampleMachine(): MachineSample | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal (guest time is already inside user and nice)
    const total = ticks.slice(0, 8).reduce((sum, value) => sum + value, 0);
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    return { busySeconds: (total - idle) / 100, at: performance.now() };
  } catch {
    return undefined;
  }
}

/** CPU cores in use by everything else on the machine, over `ms` (for --settle and the interference report). */
export async function otherLoad(ms: number, ownPids: readonly number[]): Promise<number | undefined> {
  const machine0 = sampleMachine();
  const own0 = ownPids.map((pid) => sampleProcess(pid)?.cpuSeconds ?? 0);
  const self0 = process.cpuUsage();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const machine1 = sampleMachine();
  if (!machine0 || !machine1) return undefined;
  const own1 = ownPids.map((pid) => sampleProcess(pid)?.cpuSeconds ?? 0);
  const self = process.cpuUsage(self0);
  const ownSeconds = own1.reduce((sum, value, i) => sum + value - own0[i]!, 0) + (self.user + self.system) / 1e6;
  return Math.max(0, (machine1.busySeconds - machine0.busySeconds - ownSeconds) / ((machine1.at - machine0.at) / 1000));
}

/** CPU seconds of every PostgreSQL server process (comm "postgres") so far: the database's share of a run. */
export function postgresCpuSeconds(): number {
  let total = 0;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return 0;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
      total += readStat(Number(entry))?.cpuSeconds ?? 0; // each process on its own: backends are children
    } catch {
      // the process ended meanwhile
    }
  }
  return total;
}
