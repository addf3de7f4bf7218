/**
 * The measurement loop shared by every scenario: a row per scenario, a warm-up and a measured autocannon run,
 * the CPU and RSS of the servers (and of the bench, PostgreSQL and everything else) around the measured run,
 * and --settle's wait for an idle machine and re-runs of disturbed runs.
 */
import { drive, driveOutside, type LoadSpec, type Measurement } from './load.js';
import type { Options, ScenarioId } from './options.js';
import { otherLoad, postgresCpuSeconds, sampleMachine, sampleProcess, stopAllChildren, type Child, type MachineSample, type ProcSample } from './proc.js';
import { describeErrors, DIALECT_NAMES, type Dialect, type Row, type ServerUse } from './results.js';

export const log = (line: string) => process.stderr.write(`${line}\n`);

/** With --settle, a measured run during which other processes used more than this many cores is run again. */
export const DISTURBED_CORES = 0.25;
export const MAX_RETRIES = 3;

/** The server processes of a run: their CPU is added up, the first one's RSS is reported. */
export type Servers = Child | Child[] | undefined;

/** What a scenario's load looks like; the connections default to --connections, the duration is the runner's. */
export type RunSpec = Omit<LoadSpec, 'duration' | 'connections'> & { connections?: number };

export interface Snapshot {
  /** The first server's sample (its RSS is the one reported). */
  server: ProcSample | undefined;
  /** CPU seconds of all the servers together. */
  serversCpu: number;
  machine: MachineSample | undefined;
  bench: NodeJS.CpuUsage;
  /** PostgreSQL's CPU seconds, when the issuer runs on it. */
  db: number | undefined;
}

const serverList = (servers: Servers): Child[] => (servers === undefined ? [] : Array.isArray(servers) ? servers : [servers]);

export function serverUse(before: Snapshot, after: Snapshot): ServerUse | undefined {
  if (!before.server || !after.server) return undefined;
  const seconds = (after.server.at - before.server.at) / 1000;
  const cores = (after.serversCpu - before.serversCpu) / seconds;
  const benchCores = (after.bench.user - before.bench.user + after.bench.system - before.bench.system) / 1e6 / seconds;
  const machineCores = before.machine && after.machine ? (after.machine.busySeconds - before.machine.busySeconds) / ((after.machine.at - before.machine.at) / 1000) : undefined;
  const dbCores = before.db !== undefined && after.db !== undefined ? (after.db - before.db) / seconds : undefined;
  return {
    cores,
    benchCores,
    ...(dbCores === undefined ? {} : { dbCores }),
    ...(machineCores === undefined ? {} : { otherCores: Math.max(0, machineCores - cores - benchCores - (dbCores ?? 0)) }),
    rssStartMb: before.server.rssMb,
    rssEndMb: after.server.rssMb,
  };
}

export class Runner {
  /** Every row, in the order the scenarios ran. */
  readonly rows: Row[] = [];
  /** Set while the issuer runs on PostgreSQL: its server processes are then part of what is measured. */
  countPostgres = false;
  /**
   * The issuer's database while its scenarios run: rows are tagged with it (newRow), and `only` (on the databases
   * after the first) limits the scenarios.
   */
  issuerDb: { dialect: Dialect; only?: ReadonlySet<ScenarioId> } | undefined;

  /** A row of scenario `id`, tagged with the issuer's database while the issuer's scenarios run. */
  newRow(id: ScenarioId, scenario: string): Row {
    return { id, ...(this.issuerDb ? { db: this.issuerDb.dialect } : {}), scenario, notes: [] };
  }
  /** A server just started, whose first measured scenario gets three times the warm-up. */
  coldServer: Child | undefined;

  constructor(readonly options: Options) {}

  /** One load run, by the generator --generator names. */
  drive(spec: LoadSpec): Promise<Measurement> {
    return this.options.generator === 'process' ? driveOutside(spec) : drive(spec);
  }

  snapshot(servers: Servers): Snapshot {
    const samples = serverList(servers).map((child) => sampleProcess(child.pid));
    return {
      server: samples[0],
      serversCpu: samples.reduce((sum, sample) => sum + (sample?.cpuSeconds ?? 0), 0),
      machine: sampleMachine(),
      bench: process.cpuUsage(),
      db: this.countPostgres ? postgresCpuSeconds() : undefined,
    };
  }

  /** --settle: wait (bounded) until the rest of the machine is idle, so other work does not skew a run. */
  async settle(row: Row, servers: Servers): Promise<void> {
    const { options } = this;
    if (options.settle <= 0) return;
    const pids = serverList(servers).map((child) => child.pid);
    const deadline = Date.now() + options.settle * 1000;
    let load: number | undefined;
    do {
      load = await otherLoad(1000, pids);
      if (load === undefined || load < 0.15) return;
    } while (Date.now() < deadline);
    row.notes.push(`the machine was still busy with other work after ${options.settle} s of --settle (${load.toFixed(2)} cores)`);
  }

  /**
   * A warm-up run (results dropped, errors kept) then the measured run, with the server's CPU and RSS around it.
   * With --settle, a measured run that other work on the machine disturbed is discarded and run again (at most
   * MAX_RETRIES times); its errors still count.
   */
  async measure(
    row: Row,
    spec: RunSpec,
    server?: Servers,
    /** Called (and awaited) before each measured run, after the warm-up, with the warm-up's figures. */
    beforeRun?: (warm: Measurement | undefined) => void | Promise<void>,
  ): Promise<Measurement> {
    const { options } = this;
    const connections = spec.connections ?? options.connections;
    await this.settle(row, server);
    const cold = this.coldServer !== undefined && serverList(server).includes(this.coldServer);
    if (cold) this.coldServer = undefined;
    let warm: Measurement | undefined;
    if (options.warmup > 0) {
      warm = await this.drive({ ...spec, connections, duration: cold ? Math.max(3, 3 * options.warmup) : options.warmup });
      row.warmupErrors = (row.warmupErrors ?? 0) + warm.errors;
      if (warm.errors > 0) row.notes.push(`warm-up: ${describeErrors(warm)}`);
    }
    for (let attempt = 0; ; attempt++) {
      await beforeRun?.(warm);
      const before = this.snapshot(server);
      const measured = await this.drive({ ...spec, connections, duration: options.duration });
      const note = 'load generated in the bench process: each request depends on an earlier answer';
      if ((measured as { inProcess?: true }).inProcess && !row.notes.includes(note)) row.notes.push(note);
      const use = serverUse(before, this.snapshot(server));
      if (options.settle > 0 && attempt < MAX_RETRIES && (use?.otherCores ?? 0) > DISTURBED_CORES) {
        row.warmupErrors = (row.warmupErrors ?? 0) + measured.errors;
        row.notes.push(`a run disturbed by other processes (${use!.otherCores!.toFixed(2)} cores) was discarded: ${measured.rps.toFixed(0)} req/s`);
        await this.settle(row, server);
        continue;
      }
      row.measured = measured;
      row.server = use;
      if (measured.errors > 0) row.notes.push(describeErrors(measured));
      return measured;
    }
  }

  /** A row for scenario `id` when it was asked for; an exception in `run` (or a dead server) fails that row only. */
  async scenario(id: ScenarioId, name: string, run: (row: Row) => Promise<void>, server?: Child): Promise<Row | undefined> {
    if (!this.options.scenarios.has(id) || (this.issuerDb?.only && !this.issuerDb.only.has(id))) return undefined;
    const row = this.newRow(id, name);
    this.rows.push(row);
    log(`… ${name}${this.issuerDb && this.options.dbs.length > 1 ? ` [${DIALECT_NAMES[this.issuerDb.dialect]}]` : ''}`);
    try {
      if (server?.hasExited()) {
        const last = server.tail().filter((line) => line.trim() !== '').slice(-2).join(' | ');
        throw new Error(`${server.name} is no longer running${last ? ` (last log: ${last})` : ''}`);
      }
      await run(row);
    } catch (error) {
      row.failed = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      log(`  failed: ${row.failed}`);
    }
    return row;
  }

  skip(ids: readonly ScenarioId[], names: Record<string, string>, reason: string): void {
    for (const id of ids) if (this.options.scenarios.has(id)) this.rows.push({ ...this.newRow(id, names[id] ?? id), skipped: reason });
  }
}

/** What else to close when the bench ends, however it ends (the issuer's database). */
export const closers = new Set<() => Promise<void>>();

export async function shutdown(): Promise<void> {
  await stopAllChildren();
  await Promise.all([...closers].map((close) => close().catch(() => {})));
}
