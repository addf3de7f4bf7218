/**
 * `npm run bench`: the benchmark of issue 6. Starts the issuer as a real child process (node dist/main.js on
 * PORT=0 over a temp SQLite file, or a fresh schema of a PostgreSQL database with --db postgres://…), the two
 * ceilings (a bare node:http hello-world, a bare Koa form POST) and the peer (node-oidc-provider 9), drives each
 * scenario with autocannon at N connections for a fixed duration after a warm-up, prints one table and writes
 * the same as JSON to bench-results/.
 *
 *   npm run bench                                   # the full run: 10 s per scenario, 100,000 sessions
 *   npm run bench -- --duration 2 --sessions 2000   # the CI smoke run
 *   npm run bench -- --scenario introspect --cpu-prof
 *
 * Exit status: 1 when any request of any scenario failed (a non-2xx answer, a socket error or timeout, a 2xx
 * answer with the wrong body) or a scenario could not run; never because of a speed. Skipped scenarios (the
 * issuer refused the database, the resource-server example does not exist yet) are reported, not failed.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem, release } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { API, IssuerRefused, startIssuer, type Issuer } from './bench/issuer.js';
import { drive, type LoadSpec, type Measurement } from './bench/load.js';
import {
  childEnv,
  killAllChildrenNow,
  otherLoad,
  postgresCpuSeconds,
  sampleMachine,
  sampleProcess,
  startChild,
  stopAllChildren,
  type Child,
  type MachineSample,
  type ProcSample,
} from './bench/proc.js';
import { formatSummary, summarizeProfile, type ProfileSummary } from './bench/profile.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TSX = ['--import', 'tsx'];
/** The resource for which the peer issues JWT access tokens. */
const PEER_RESOURCE = 'https://api.bench.test';

// ---------------------------------------------------------------------------------------------------------------
// Options

const USAGE = `npm run bench -- [options]

  --duration S       seconds of each measured run (default 10; 2 is the CI smoke mode; at most 240)
  --warmup S         seconds of warm-up before each measured run (default 3, or 1 when --duration <= 3)
  --connections N    concurrent keep-alive connections (default 50)
  --scenario X       repeatable or comma-separated (default all): ceiling-http, ceiling-koa, introspect,
                     introspect-fresh, introspect-inactive, client-credentials, refresh, password,
                     resource-server, peer (= peer-introspect, peer-cc-opaque, peer-cc-jwt), ceilings, issuer.
                     The node:http ceiling always runs: every ratio is to it.
  --sessions N       sessions preloaded before the issuer starts (default 100000)
  --fresh-pool N     never-introspected tokens for introspect-fresh (default 100000, or 30000 when --duration <= 3)
  --db D             sqlite (default: a temp file) or postgres://user@host:port/db (a fresh schema, dropped after)
  --workers N        GATEHOUSE_WORKERS for the issuer (default: unset, the issuer's own default); server CPU and
                     RSS are then those of the primary and all its workers
  --cpu-prof         run the issuer under node --cpu-prof; the profile goes to bench-results/profiles/ and its
                     summary is printed (profile one scenario at a time: --scenario introspect --cpu-prof)
  --settle S         for a shared machine: before each run, wait up to S seconds for other processes to leave the
                     CPUs idle, and run again (up to 3 times) a measured run they disturbed (default 0: off).
                     Every run reports the CPU other processes used meanwhile.
  --out DIR          where the JSON goes (default bench-results)
`;

const ALL = [
  'ceiling-http',
  'ceiling-koa',
  'introspect',
  'introspect-fresh',
  'introspect-inactive',
  'client-credentials',
  'refresh',
  'password',
  'resource-server',
  'peer-introspect',
  'peer-cc-opaque',
  'peer-cc-jwt',
] as const;
type ScenarioId = (typeof ALL)[number];
const ISSUER_SCENARIOS: readonly ScenarioId[] = ['introspect', 'introspect-fresh', 'introspect-inactive', 'client-credentials', 'refresh', 'password', 'resource-server'];
const ALIASES: Record<string, readonly ScenarioId[]> = {
  all: ALL,
  ceilings: ['ceiling-http', 'ceiling-koa'],
  issuer: ISSUER_SCENARIOS,
  peer: ['peer-introspect', 'peer-cc-opaque', 'peer-cc-jwt'],
  client_credentials: ['client-credentials'],
  cc: ['client-credentials'],
  login: ['password'],
};

interface Options {
  duration: number;
  warmup: number;
  connections: number;
  scenarios: Set<ScenarioId>;
  sessions: number;
  freshPool: number;
  db: string;
  cpuProf: boolean;
  /** GATEHOUSE_WORKERS for the issuer; undefined leaves it unset. */
  workers: number | undefined;
  settle: number;
  out: string;
}

class UsageError extends Error {}

function integer(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max}`);
  return value;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      scenario: { type: 'string', multiple: true },
      sessions: { type: 'string' },
      'fresh-pool': { type: 'string' },
      db: { type: 'string' },
      'cpu-prof': { type: 'boolean' },
      workers: { type: 'string' },
      settle: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  // Access tokens live 300 s (the issuer's default); a pool is signed just before its scenario and must outlive it.
  const duration = integer(values.duration, 'duration', 10, 1, 240);
  const quick = duration <= 3;
  const warmup = integer(values.warmup, 'warmup', quick ? 1 : 3, 0, 30);
  const scenarios = new Set<ScenarioId>();
  for (const name of (values.scenario ?? ['all']).flatMap((value) => value.split(',')).map((value) => value.trim()).filter(Boolean)) {
    const expanded = ALIASES[name] ?? ((ALL as readonly string[]).includes(name) ? [name as ScenarioId] : undefined);
    if (!expanded) throw new UsageError(`unknown scenario ${JSON.stringify(name)}; one of ${[...ALL, ...Object.keys(ALIASES)].join(', ')}`);
    for (const id of expanded) scenarios.add(id);
  }
  scenarios.add('ceiling-http');
  // Every worker inherits --cpu-prof and would write the same file: profile one process at a time.
  if (values['cpu-prof'] && values.workers !== undefined && values.workers !== '1') throw new UsageError('--cpu-prof profiles one process: use it without --workers');
  const db = values.db ?? 'sqlite';
  if (db !== 'sqlite' && !/^postgres(ql)?:\/\//.test(db)) throw new UsageError('--db must be sqlite or a postgres:// URL');
  return {
    duration,
    warmup,
    connections: integer(values.connections, 'connections', 50, 1, 10_000),
    scenarios,
    sessions: integer(values.sessions, 'sessions', 100_000, 100, 10_000_000),
    freshPool: integer(values['fresh-pool'], 'fresh-pool', quick ? 30_000 : 100_000, 1000, 2_000_000),
    db,
    cpuProf: values['cpu-prof'] ?? false,
    workers: values.workers === undefined ? undefined : integer(values.workers, 'workers', 1, 1, 64),
    settle: integer(values.settle, 'settle', 0, 0, 3600),
    out: resolve(ROOT, values.out ?? 'bench-results'),
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Results

interface ServerUse {
  /** CPU cores the server process used during the measured run (all its threads). */
  cores: number;
  /** CPU cores of the bench process (the load generator). */
  benchCores?: number;
  /** CPU cores of the PostgreSQL server processes (with --db postgres://…). */
  dbCores?: number;
  /** CPU cores used by every other process on the machine (interference: other work on a shared machine). */
  otherCores?: number;
  rssStartMb: number;
  rssEndMb: number;
}

interface Row {
  id: string;
  scenario: string;
  measured?: Measurement;
  /** Errors outside the measured run: its warm-up, runs discarded for interference, concurrent side load. */
  warmupErrors?: number;
  server?: ServerUse;
  /** Why it did not run (not a failure). */
  skipped?: string;
  /** Why it could not run (a failure). */
  failed?: string;
  notes: string[];
}

const rows: Row[] = [];
const log = (line: string) => process.stderr.write(`${line}\n`);

interface Snapshot {
  /** The first server's sample (its RSS is the one reported). */
  server: ProcSample | undefined;
  /** CPU seconds of all the servers together. */
  serversCpu: number;
  machine: MachineSample | undefined;
  bench: NodeJS.CpuUsage;
  /** PostgreSQL's CPU seconds, when the issuer runs on it. */
  db: number | undefined;
}

/** Set while the issuer runs on PostgreSQL: its server processes are then part of what is measured. */
let countPostgres = false;

type Servers = Child | Child[] | undefined;

function snapshot(servers: Servers): Snapshot {
  const list = servers === undefined ? [] : Array.isArray(servers) ? servers : [servers];
  const samples = list.map((child) => sampleProcess(child.pid));
  return {
    server: samples[0],
    serversCpu: samples.reduce((sum, sample) => sum + (sample?.cpuSeconds ?? 0), 0),
    machine: sampleMachine(),
    bench: process.cpuUsage(),
    db: countPostgres ? postgresCpuSeconds() : undefined,
  };
}

function serverUse(before: Snapshot, after: Snapshot): ServerUse | undefined {
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

/** --settle: wait (bounded) until the rest of the machine is idle, so other work does not skew a run. */
async function settle(options: Options, row: Row, servers: Servers): Promise<void> {
  if (options.settle <= 0) return;
  const pids = (servers === undefined ? [] : Array.isArray(servers) ? servers : [servers]).map((child) => child.pid);
  const deadline = Date.now() + options.settle * 1000;
  let load: number | undefined;
  do {
    load = await otherLoad(1000, pids);
    if (load === undefined || load < 0.15) return;
  } while (Date.now() < deadline);
  row.notes.push(`the machine was still busy with other work after ${options.settle} s of --settle (${load.toFixed(2)} cores)`);
}

/** A warm-up run (results dropped, errors kept) then the measured run, with the server's CPU and RSS around it. */
/** A server just started, whose first measured scenario gets three times the warm-up. */
let coldServer: Child | undefined;

/** With --settle, a measured run during which other processes used more than this many cores is run again. */
const DISTURBED_CORES = 0.25;
const MAX_RETRIES = 3;

/**
 * A warm-up run (results dropped, errors kept) then the measured run, with the server's CPU and RSS around it.
 * With --settle, a measured run that other work on the machine disturbed is discarded and run again (at most
 * MAX_RETRIES times); its errors still count.
 */
async function measure(
  options: Options,
  row: Row,
  spec: Omit<LoadSpec, 'duration' | 'connections'> & { connections?: number },
  server?: Servers,
  /** Called before each measured run (after the warm-up), with the warm-up's figures. */
  beforeRun?: (warm: Measurement | undefined) => void,
): Promise<Measurement> {
  const connections = spec.connections ?? options.connections;
  await settle(options, row, server);
  const list = server === undefined ? [] : Array.isArray(server) ? server : [server];
  const cold = coldServer !== undefined && list.includes(coldServer);
  if (cold) coldServer = undefined;
  let warm: Measurement | undefined;
  if (options.warmup > 0) {
    warm = await drive({ ...spec, connections, duration: cold ? Math.max(3, 3 * options.warmup) : options.warmup });
    row.warmupErrors = (row.warmupErrors ?? 0) + warm.errors;
    if (warm.errors > 0) row.notes.push(`warm-up: ${describeErrors(warm)}`);
  }
  for (let attempt = 0; ; attempt++) {
    beforeRun?.(warm);
    const before = snapshot(server);
    const measured = await drive({ ...spec, connections, duration: options.duration });
    const use = serverUse(before, snapshot(server));
    if (options.settle > 0 && attempt < MAX_RETRIES && (use?.otherCores ?? 0) > DISTURBED_CORES) {
      row.warmupErrors = (row.warmupErrors ?? 0) + measured.errors;
      row.notes.push(`a run disturbed by other processes (${use!.otherCores!.toFixed(2)} cores) was discarded: ${measured.rps.toFixed(0)} req/s`);
      await settle(options, row, server);
      continue;
    }
    row.measured = measured;
    row.server = use;
    if (measured.errors > 0) row.notes.push(describeErrors(measured));
    return measured;
  }
}

function describeErrors(m: Measurement): string {
  const parts: string[] = [];
  if (m.non2xx > 0) parts.push(`${m.non2xx} non-2xx (${Object.entries(m.statusCodes).filter(([code]) => !code.startsWith('2')).map(([code, count]) => `${code}×${count}`).join(', ')})`);
  if (m.socketErrors > 0) parts.push(`${m.socketErrors} socket errors (${m.timeouts} timeouts)`);
  if (m.mismatches > 0) parts.push(`${m.mismatches} 2xx answers with an unexpected body`);
  return parts.join('; ');
}

async function scenario(options: Options, id: ScenarioId, name: string, run: (row: Row) => Promise<void>, server?: Child): Promise<Row | undefined> {
  if (!options.scenarios.has(id)) return undefined;
  const row: Row = { id, scenario: name, notes: [] };
  rows.push(row);
  log(`… ${name}`);
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

function skip(options: Options, ids: readonly ScenarioId[], names: Record<string, string>, reason: string): void {
  for (const id of ids) if (options.scenarios.has(id)) rows.push({ id, scenario: names[id] ?? id, skipped: reason, notes: [] });
}

// ---------------------------------------------------------------------------------------------------------------
// Scenarios

const FORM = 'application/x-www-form-urlencoded';
const isActive = (body: string) => body.includes('"active":true');
const hasAccessToken = (body: string) => body.includes('"access_token":"');

function spreadOver<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  const step = items.length / count;
  return Array.from({ length: count }, (_, i) => items[Math.floor(i * step)]!);
}

async function runCeilings(options: Options): Promise<void> {
  if (options.scenarios.has('ceiling-http')) {
    const server = await startChild({ name: 'ceiling-http', args: [...TSX, join(ROOT, 'scripts/bench/ceilings.ts'), 'http'], env: childEnv(), ready: /^LISTENING (\d+)/, cwd: ROOT });
    coldServer = server;
    try {
      await scenario(options, 'ceiling-http', 'node:http hello-world (ceiling)', async (row) => {
        await measure(options, row, { url: `http://127.0.0.1:${server.ready[1]}`, method: 'GET', path: '/', verify: (body) => body === 'hello world' }, server);
      });
    } finally {
      await server.stop();
    }
  }
  if (options.scenarios.has('ceiling-koa')) {
    const server = await startChild({ name: 'ceiling-koa', args: [...TSX, join(ROOT, 'scripts/bench/ceilings.ts'), 'koa'], env: childEnv(), ready: /^LISTENING (\d+)/, cwd: ROOT });
    coldServer = server;
    try {
      await scenario(options, 'ceiling-koa', 'koa form POST (ceiling)', async (row) => {
        // The same shape as an introspection: Basic credentials and a token of a JWT's length.
        const token = 'x'.repeat(560);
        await measure(
          options,
          row,
          {
            url: `http://127.0.0.1:${server.ready[1]}`,
            method: 'POST',
            path: '/introspect',
            headers: { 'content-type': FORM, authorization: 'Basic ' + Buffer.from('ceiling:' + 'y'.repeat(43)).toString('base64') },
            body: `token=${token}`,
            verify: isActive,
          },
          server,
        );
      });
    } finally {
      await server.stop();
    }
  }
}

const ISSUER_NAMES: Record<string, string> = {
  introspect: 'introspect',
  'introspect-fresh': 'introspect-fresh',
  'introspect-inactive': 'introspect-inactive',
  'client-credentials': 'client_credentials',
  refresh: 'refresh',
  password: 'password login',
  'resource-server': 'resource-server round trip',
};

let profileSummary: ProfileSummary | undefined;
let profileFile: string | undefined;

async function runIssuer(options: Options, stamp: string): Promise<void> {
  const wanted = ISSUER_SCENARIOS.filter((id) => options.scenarios.has(id));
  if (wanted.length === 0) return;
  const profileDir = join(options.out, 'profiles');
  const profileName = `issuer-${stamp}.cpuprofile`;
  if (options.cpuProf) mkdirSync(profileDir, { recursive: true });

  log(`… preparing the issuer (${options.db === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${options.sessions.toLocaleString('en-US')} sessions)`);
  let issuer: Issuer;
  try {
    issuer = await startIssuer({
      sessions: options.sessions,
      // Every run (warm-up, measured, each retry) starts fresh chains on every connection; one more set for chains
      // that break.
      chains: options.scenarios.has('refresh') ? options.connections * (3 + (options.settle > 0 ? MAX_RETRIES : 0)) : 0,
      db: options.db,
      nodeArgs: options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName}`] : [],
      env: options.workers === undefined ? {} : { GATEHOUSE_WORKERS: String(options.workers) },
      root: ROOT,
    });
  } catch (error) {
    if (error instanceof IssuerRefused) {
      log(`  skipped: ${error.message}`);
      skip(options, wanted, ISSUER_NAMES, error.message);
      return;
    }
    throw error;
  }
  closers.add(issuer.close);
  countPostgres = issuer.dialect === 'postgres';
  log(`  ready in ${Object.entries(issuer.timings).map(([step, ms]) => `${step} ${ms} ms`).join(', ')}`);
  const server = issuer.child;
  const introspectSpec = (bodies: string[], verify: (body: string) => boolean) => ({
    url: issuer.url,
    method: 'POST' as const,
    path: '/introspect',
    headers: { 'content-type': FORM, authorization: issuer.auth.rs },
    bodies,
    verify,
  });
  const steady = spreadOver(issuer.live, 1000);
  let introspectP99: number | undefined;

  try {
    // A process just started runs its first seconds unoptimised: the first scenario measured on the issuer gets a
    // longer warm-up (of its own load, so a --cpu-prof profile holds nothing but that scenario).
    coldServer = server;

    await scenario(options, 'introspect', ISSUER_NAMES.introspect!, async (row) => {
      const tokens = await issuer.signPool(steady, 1000);
      const m = await measure(options, row, introspectSpec(tokens.map((token) => `token=${token}`), isActive), server);
      introspectP99 = m.p99;
      row.notes.push(`1,000 active tokens of ${steady.length.toLocaleString('en-US')} sessions, ${issuer.live.length.toLocaleString('en-US')} live and ${issuer.ended.length.toLocaleString('en-US')} ended sessions in the table`);
    }, server);

    await scenario(options, 'introspect-fresh', ISSUER_NAMES['introspect-fresh']!, async (row) => {
      // The warm-up draws from a pool of its own. Each measured run gets a pool of tokens never sent before,
      // signed between warm-up and run: --fresh-pool of them, or more if the warm-up's rate calls for more.
      let pool = issuer.signFast(issuer.live, options.freshPool);
      let next = 0;
      let signMs = 0;
      await measure(
        options,
        row,
        {
          url: issuer.url,
          method: 'POST',
          path: '/introspect',
          headers: { 'content-type': FORM, authorization: issuer.auth.rs },
          perConnection: () => ({ next: () => `token=${pool[next++ % pool.length]}` }),
          verify: isActive,
        },
        server,
        (warm) => {
          const started = performance.now();
          pool = issuer.signFast(issuer.live, Math.max(options.freshPool, Math.ceil((warm?.rps ?? 0) * options.duration * 1.3)));
          next = 0;
          signMs = performance.now() - started;
        },
      );
      row.notes.push(`pool of ${pool.length.toLocaleString('en-US')} never-introspected tokens over ${Math.min(pool.length, issuer.live.length).toLocaleString('en-US')} sessions (signed in ${(signMs / 1000).toFixed(1)} s)`);
      if (next > pool.length) row.notes.push(`the pool ran out: ${(next - pool.length).toLocaleString('en-US')} requests reused a token; raise --fresh-pool`);
    }, server);

    await scenario(options, 'introspect-inactive', ISSUER_NAMES['introspect-inactive']!, async (row) => {
      if (issuer.ended.length === 0) throw new Error('no ended session was preloaded');
      const tokens = await issuer.signPool(issuer.ended, 1000);
      await measure(options, row, introspectSpec(tokens.map((token) => `token=${token}`), (body) => body === '{"active":false}'), server);
      row.notes.push(`1,000 tokens of ${issuer.ended.length.toLocaleString('en-US')} ended sessions`);
    }, server);

    await scenario(options, 'client-credentials', ISSUER_NAMES['client-credentials']!, async (row) => {
      await measure(
        options,
        row,
        {
          url: issuer.url,
          method: 'POST',
          path: '/token',
          headers: { 'content-type': FORM, authorization: issuer.auth.svc },
          body: 'grant_type=client_credentials',
          verify: hasAccessToken,
        },
        server,
      );
    }, server);

    await scenario(options, 'refresh', ISSUER_NAMES.refresh!, async (row) => {
      let broken = 0;
      await measure(
        options,
        row,
        {
          url: issuer.url,
          method: 'POST',
          path: '/token',
          headers: { 'content-type': FORM, authorization: issuer.auth.app },
          // Each connection rotates a chain of its own: every answer's refresh token is the next request's.
          perConnection: () => {
            let token = issuer.takeChain();
            if (token === undefined) throw new Error('no refresh-token chain left');
            return {
              next: () => `grant_type=refresh_token&refresh_token=${token}`,
              onResponse(status, body) {
                const rotated = status === 200 ? /"refresh_token":"([A-Za-z0-9_-]+)"/.exec(body)?.[1] : undefined;
                if (rotated) {
                  token = rotated;
                } else {
                  broken++;
                  token = issuer.takeChain() ?? token; // the chain is dead: continue on a spare one
                }
              },
            };
          },
          verify: (body) => body.includes('"refresh_token":"'),
        },
        server,
      );
      row.notes.push(`${options.connections} chains, one per connection${broken > 0 ? `; ${broken} chains broke` : ''}`);
    }, server);

    await scenario(options, 'password', ISSUER_NAMES.password!, async (row) => {
      const login: Omit<LoadSpec, 'duration' | 'connections'> = {
        url: issuer.url,
        method: 'POST',
        path: '/token',
        headers: { 'content-type': FORM, authorization: issuer.auth.app },
        body: issuer.loginBody,
        verify: hasAccessToken,
        timeoutSec: 30,
      };
      const logins = await measure(options, row, login, server);
      const cores = cpus().length;
      row.notes.push(`Argon2id at the default parameters (19 MiB, 2 passes): ${logins.rps.toFixed(1)} logins/s = ${(logins.rps / cores).toFixed(1)} per core on ${cores} cores`);

      // The introspection p99 while a login storm runs, against the p99 without one.
      const tokens = await issuer.signPool(steady, 1000);
      const introspectBodies = tokens.map((token) => `token=${token}`);
      let baseline = introspectP99;
      if (baseline === undefined) {
        const base: Row = { id: 'password', scenario: 'introspect (baseline)', notes: [] };
        rows.push(base);
        baseline = (await measure(options, base, introspectSpec(introspectBodies, isActive), server)).p99;
      }
      const storm: Row = { id: 'password', scenario: 'introspect during logins', notes: [] };
      rows.push(storm);
      let during: Measurement;
      let loginsDuring: Measurement;
      for (let attempt = 0; ; attempt++) {
        await settle(options, storm, server);
        const before = snapshot(server);
        [during, loginsDuring] = await Promise.all([
          drive({ ...introspectSpec(introspectBodies, isActive), connections: options.connections, duration: options.duration }),
          drive({ ...login, connections: options.connections, duration: options.duration }),
        ]);
        const use = serverUse(before, snapshot(server));
        // The concurrent logins' errors count against the run too.
        storm.warmupErrors = (storm.warmupErrors ?? 0) + loginsDuring.errors;
        if (options.settle > 0 && attempt < MAX_RETRIES && (use?.otherCores ?? 0) > DISTURBED_CORES) {
          storm.warmupErrors += during.errors;
          storm.notes.push(`a run disturbed by other processes (${use!.otherCores!.toFixed(2)} cores) was discarded: ${during.rps.toFixed(0)} req/s`);
          continue;
        }
        storm.measured = during;
        storm.server = use;
        break;
      }
      if (during.errors > 0) storm.notes.push(describeErrors(during));
      if (loginsDuring.errors > 0) storm.notes.push(`concurrent logins: ${describeErrors(loginsDuring)}`);
      storm.notes.push(
        `${loginsDuring.rps.toFixed(1)} logins/s ran alongside (p99 ${loginsDuring.p99.toFixed(0)} ms); introspection p99 ${during.p99.toFixed(2)} ms vs ${baseline.toFixed(2)} ms without logins = ${(during.p99 / baseline).toFixed(2)}×`,
      );
    }, server);

    await scenario(options, 'resource-server', ISSUER_NAMES['resource-server']!, async (row) => {
      const example = join(ROOT, 'scripts', 'example-api.ts');
      if (!existsSync(example) || !existsSync(join(ROOT, 'src', 'resource-server'))) {
        row.skipped = 'scripts/example-api.ts and src/resource-server/ do not exist yet';
        return;
      }
      // GET /notes (scope notes:read) of the example API: first with the middleware stubbed out, then behind
      // the real middleware, which introspects every request at this issuer (no cache: its default).
      const tokens = await issuer.signPool(steady, 1000);
      const headerPool = tokens.map((token) => ({ authorization: `Bearer ${token}` }));
      const isList = (body: string) => body.startsWith('[');
      const ready = /notes API listening on (http:\/\/\S+)/;
      const plain = await startChild({ name: 'example-noauth', args: [...TSX, join(ROOT, 'scripts/bench/example-noauth.ts')], env: childEnv(), ready, cwd: ROOT });
      coldServer = plain;
      let baseline: Measurement;
      row.scenario = 'resource-server: example API, no auth';
      try {
        baseline = await measure(options, row, { url: plain.ready[1]!, method: 'GET', path: '/notes', headerPool, verify: isList }, plain);
      } finally {
        await plain.stop();
      }
      const guarded: Row = { id: 'resource-server', scenario: 'resource-server: example API + middleware', notes: [] };
      rows.push(guarded);
      const api = await startChild({
        name: 'example-api',
        args: [...TSX, example],
        env: childEnv({ ISSUER: issuer.issuer, CLIENT_ID: issuer.rs.id, CLIENT_SECRET: issuer.rs.secret, AUDIENCE: API, PORT: '0' }),
        ready,
        cwd: ROOT,
      });
      coldServer = api;
      try {
        const withAuth = await measure(options, guarded, { url: api.ready[1]!, method: 'GET', path: '/notes', headerPool, verify: isList }, [api, server]);
        guarded.notes.push(
          `the middleware adds ${(withAuth.p50 - baseline.p50).toFixed(2)} ms at p50 and ${(withAuth.p99 - baseline.p99).toFixed(2)} ms at p99: one introspection per request (no cache), API, issuer and load generator sharing ${cpus().length} cores; server CPU is API + issuer`,
        );
      } finally {
        await api.stop();
      }
    }, server);
  } finally {
    const rssAtEnd = sampleProcess(server.pid);
    if (rssAtEnd) log(`  issuer RSS at the end: ${rssAtEnd.rssMb.toFixed(0)} MiB`);
    closers.delete(issuer.close);
    await issuer.close();
  }

  if (options.cpuProf) {
    const file = join(profileDir, profileName);
    if (existsSync(file)) {
      profileFile = file;
      profileSummary = summarizeProfile(file, 30);
    } else {
      log(`  no profile was written (looked for ${file}; found ${readdirSync(profileDir).join(', ') || 'nothing'})`);
    }
  }
}

const PEER_NAMES: Record<string, string> = {
  'peer-introspect': 'peer: introspect (opaque)',
  'peer-cc-opaque': 'peer: client_credentials (opaque)',
  'peer-cc-jwt': 'peer: client_credentials (JWT ES256)',
};

async function runPeer(options: Options): Promise<void> {
  const wanted = (['peer-introspect', 'peer-cc-opaque', 'peer-cc-jwt'] as const).filter((id) => options.scenarios.has(id));
  if (wanted.length === 0) return;
  const clientId = 'bench-peer';
  const secret = randomBytes(32).toString('base64url');
  const server = await startChild({
    name: 'peer',
    args: [...TSX, join(ROOT, 'scripts/bench/peer.ts')],
    env: childEnv({ BENCH_PEER_CLIENT_ID: clientId, BENCH_PEER_CLIENT_SECRET: secret, BENCH_PEER_RESOURCE: PEER_RESOURCE, NODE_ENV: 'production' }),
    ready: /^LISTENING (\d+)/,
    cwd: ROOT,
  });
  coldServer = server;
  const url = `http://127.0.0.1:${server.ready[1]}`;
  const authorization = 'Basic ' + Buffer.from(`${clientId}:${secret}`).toString('base64');
  const headers = { 'content-type': FORM, authorization };
  try {
    await scenario(options, 'peer-introspect', PEER_NAMES['peer-introspect']!, async (row) => {
      // 1,000 opaque tokens in its in-memory store (an LRU of 1,000 entries: the pool fits, and every answer is checked).
      const tokens: string[] = [];
      for (let batch = 0; batch < 1000; batch += 50) {
        const replies = await Promise.all(
          Array.from({ length: 50 }, async () => {
            const response = await fetch(`${url}/token`, { method: 'POST', headers, body: 'grant_type=client_credentials' });
            if (response.status !== 200) throw new Error(`peer token request: ${response.status}`);
            return ((await response.json()) as { access_token: string }).access_token;
          }),
        );
        tokens.push(...replies);
      }
      await measure(options, row, { url, method: 'POST', path: '/token/introspection', headers, bodies: tokens.map((token) => `token=${token}`), verify: isActive }, server);
      row.notes.push('1,000 opaque client_credentials tokens from its default in-memory store');
    });
    await scenario(options, 'peer-cc-opaque', PEER_NAMES['peer-cc-opaque']!, async (row) => {
      await measure(options, row, { url, method: 'POST', path: '/token', headers, body: 'grant_type=client_credentials', verify: hasAccessToken }, server);
    });
    await scenario(options, 'peer-cc-jwt', PEER_NAMES['peer-cc-jwt']!, async (row) => {
      await measure(
        options,
        row,
        {
          url,
          method: 'POST',
          path: '/token',
          headers,
          body: `grant_type=client_credentials&resource=${encodeURIComponent(PEER_RESOURCE)}`,
          verify: (body) => body.includes('"access_token":"eyJ'),
        },
        server,
      );
    });
  } finally {
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report

interface Target {
  target: string;
  value: string;
  met: boolean | undefined;
}

function rowById(id: string, scenario?: string): Row | undefined {
  return rows.find((row) => row.id === id && (scenario === undefined || row.scenario === scenario) && row.measured);
}

function evaluateTargets(): Target[] {
  const rps = (id: string, scenario?: string) => rowById(id, scenario)?.measured?.rps;
  const http = rps('ceiling-http');
  const introspect = rowById('introspect')?.measured;
  const fresh = rps('introspect-fresh');
  const peerIntrospect = rps('peer-introspect');
  const cc = rps('client-credentials');
  const peerJwt = rps('peer-cc-jwt');
  const peerOpaque = rps('peer-cc-opaque');
  const refresh = rps('refresh');
  const logins = rps('password', ISSUER_NAMES.password);
  const storm = rowById('password', 'introspect during logins')?.measured;
  const baseline = introspect ?? rowById('password', 'introspect (baseline)')?.measured;
  const targets: Target[] = [];
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
  const add = (target: string, value: number | undefined, threshold: number, unit: string, higherIsBetter = true) =>
    targets.push({
      target,
      value: value === undefined ? 'not measured' : `${value.toFixed(unit === '×' ? 2 : unit === '%' ? 0 : 1)}${unit}`,
      met: value === undefined ? undefined : higherIsBetter ? value >= threshold : value <= threshold,
    });
  add('introspect ≥ 3× peer introspection', ratio(introspect?.rps, peerIntrospect), 3, '×');
  const ofHttp = ratio(introspect?.rps, http);
  add('introspect ≥ 40% of node:http', ofHttp === undefined ? undefined : ofHttp * 100, 40, '%');
  add('introspect p99 < 10 ms', introspect?.p99, 10, ' ms', false);
  add('introspect-fresh ≥ 1.5× peer introspection', ratio(fresh, peerIntrospect), 1.5, '×');
  add('client_credentials ≥ 2× peer JWT issuance', ratio(cc, peerJwt), 2, '×');
  add('client_credentials ≥ 1× peer opaque issuance', ratio(cc, peerOpaque), 1, '×');
  add('refresh ≥ 3,000 req/s', refresh, 3000, ' req/s');
  add('password logins ≥ 30/s per core', logins === undefined ? undefined : logins / cpus().length, 30, '/s/core');
  add('introspect p99 during logins ≤ 3× without', ratio(storm?.p99, baseline?.p99), 3, '×', false);
  return targets;
}

const fmt = (value: number | undefined, digits: number) => (value === undefined || Number.isNaN(value) ? '—' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

function printTable(options: Options): string {
  const http = rowById('ceiling-http')?.measured?.rps;
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', '× node:http'];
  const lines: string[][] = [];
  for (const row of rows) {
    const m = row.measured;
    if (!m) {
      lines.push([row.scenario, row.skipped ? `skipped: ${row.skipped}` : `FAILED: ${row.failed ?? 'no measurement'}`]);
      continue;
    }
    lines.push([row.scenario, fmt(m.rps, 0), fmt(m.p50, 2), fmt(m.p99, 2), String(m.errors + (row.warmupErrors ?? 0)), http ? fmt(m.rps / http, 2) : '—']);
  }
  const widths = header.map((title, i) => Math.max(title.length, ...lines.filter((line) => line.length > 2).map((line) => (line[i] ?? '').length)));
  const render = (cells: string[]) =>
    cells.length === 2 ? `${cells[0]!.padEnd(widths[0]!)}  ${cells[1]}` : cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const out: string[] = [];
  out.push(
    `Gatehouse benchmark — ${options.connections} connections, ${options.duration} s per run after ${options.warmup} s of warm-up, ${options.sessions.toLocaleString('en-US')} sessions preloaded, ${options.db === 'sqlite' ? 'SQLite' : 'PostgreSQL'}${options.workers === undefined ? '' : `, GATEHOUSE_WORKERS=${options.workers}`}`,
  );
  out.push(`${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load generator: autocannon in one process on the same machine`);
  out.push('');
  out.push(render(header));
  out.push(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of lines) out.push(render(line));

  const used = rows.filter((row) => row.server);
  if (used.length > 0) {
    out.push('', `CPU cores used during the measured run by the server (all its threads), the load generator${countPostgres ? ', PostgreSQL' : ''} and every other process; server RSS start → end:`);
    for (const row of used) {
      const use = row.server!;
      out.push(
        `  ${row.scenario.padEnd(widths[0]!)}  server ${use.cores.toFixed(2)}  bench ${fmt(use.benchCores, 2)}${use.dbCores === undefined ? '' : `  postgres ${use.dbCores.toFixed(2)}`}  other ${fmt(use.otherCores, 2)}  RSS ${use.rssStartMb.toFixed(0)} → ${use.rssEndMb.toFixed(0)} MiB`,
      );
    }
    const disturbed = used.filter((row) => (row.server!.otherCores ?? 0) > DISTURBED_CORES);
    if (disturbed.length > 0) {
      out.push(`  ! other processes used more than ${DISTURBED_CORES} cores during: ${disturbed.map((row) => row.scenario).join(', ')}; those figures are low (try --settle 60)`);
    }
  }
  const notes = rows.filter((row) => row.notes.length > 0);
  if (notes.length > 0) {
    out.push('', 'Notes:');
    for (const row of notes) for (const note of row.notes) out.push(`  ${row.scenario}: ${note}`);
  }
  const targets = evaluateTargets();
  out.push('', 'Targets of issue 6 (informative: the bench never fails on speed):');
  for (const target of targets) out.push(`  ${target.met === undefined ? '·' : target.met ? '✓' : '✗'} ${target.target.padEnd(46)} ${target.value}`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------------------------

const closers = new Set<() => Promise<void>>();

async function shutdown(): Promise<void> {
  await stopAllChildren();
  await Promise.all([...closers].map((close) => close().catch(() => {})));
}

function gitDescription(): string | undefined {
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return undefined;
  }
}

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) {
    process.stderr.write('bench: dist/main.js is missing; run `npm run build` (npm run bench does it first)\n');
    return 2;
  }
  const started = Date.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  process.on('SIGINT', () => {
    log('interrupted: stopping the servers');
    void shutdown().finally(() => process.exit(130));
  });
  process.on('exit', killAllChildrenNow);

  try {
    await runCeilings(options);
    await runIssuer(options, stamp);
    await runPeer(options);
  } finally {
    await shutdown();
  }

  const table = printTable(options);
  process.stdout.write(`\n${table}\n`);
  if (profileSummary) process.stdout.write(`\n${formatSummary(profileSummary)}\n`);

  mkdirSync(options.out, { recursive: true });
  const jsonFile = join(options.out, `bench-${stamp}.json`);
  const report = {
    date: new Date(started).toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version },
    commit: gitDescription(),
    options: { ...options, scenarios: [...options.scenarios], db: options.db === 'sqlite' ? 'sqlite' : 'postgres' },
    loadGenerator: 'autocannon (one process, same machine), keep-alive, 1 request in flight per connection',
    rows: rows.map((row) => {
      const http = rowById('ceiling-http')?.measured?.rps;
      return { ...row, ratioToNodeHttp: row.measured && http ? row.measured.rps / http : undefined };
    }),
    targets: evaluateTargets(),
    profile: profileSummary && { ...profileSummary, file: profileFile },
    elapsedSeconds: Math.round((Date.now() - started) / 1000),
  };
  writeFileSync(jsonFile, JSON.stringify(report, null, 2) + '\n');

  const failures = rows.filter((row) => row.failed !== undefined || (row.measured && row.measured.errors + (row.warmupErrors ?? 0) > 0));
  process.stdout.write(`\nJSON: ${jsonFile}\nElapsed: ${report.elapsedSeconds} s\n`);
  if (failures.length > 0) {
    process.stdout.write(`FAILED: ${failures.map((row) => row.scenario).join(', ')} (errors or non-2xx answers; see the notes)\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    await shutdown();
    process.exit(1);
  },
);

