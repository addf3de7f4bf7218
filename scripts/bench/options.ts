/**
 * The command line of `npm run bench`: the usage text, the scenario ids and their aliases, and the parsed
 * options every other module reads. A bad option is a UsageError (exit status 2, with the usage).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ROOT } from './paths.js';

export const USAGE = `npm run bench -- [options]

  --duration S       seconds of each measured run (default 10; 2 is the CI smoke mode; at most 240)
  --warmup S         seconds of warm-up before each measured run (default 3, or 1 when --duration <= 3)
  --connections N    concurrent keep-alive connections (default 50)
  --scenario X       repeatable or comma-separated (default all): ceiling-http, ceiling-koa, introspect,
                     introspect-quiet (the same with metrics and the request log off), introspect-fresh, introspect-inactive, client-credentials, refresh, password,
                     resource-server (no auth, introspection mode, event mode), soak (mixed load for --soak
                     seconds: the issuer's RSS growth), end-to-refusal (PostgreSQL only: 3 issuers, 2 event-mode
                     APIs, --ends sessions ended through the admin API, each timed until both APIs refuse it),
                     peer (= peer-introspect, peer-cc-opaque, peer-cc-jwt), ceilings, issuer.
                     The node:http ceiling always runs: every ratio is to it.
  --sessions N       sessions preloaded before the issuer starts (default 100000)
  --fresh-pool N     never-introspected tokens for introspect-fresh (default 100000, or 30000 when --duration <= 3)
  --db D             sqlite (a temp file) or postgres://user@host:port/db (a fresh schema, dropped after);
                     repeatable: the issuer's scenarios run on the first database, and introspect,
                     client_credentials and refresh again on each other one, in the same run, so that their
                     ratios compare like with like. Default: sqlite, then $BENCH_DATABASE_URL or
                     $TEST_DATABASE_URL when one is set (CI sets it)
  --workers N        GATEHOUSE_WORKERS for the issuer (default: unset, the issuer's own default); server CPU and
                     RSS are then those of the primary and all its workers
  --cpu-prof         run the issuer under node --cpu-prof; the profile goes to bench-results/profiles/ and its
                     summary is printed (profile one scenario at a time: --scenario introspect --cpu-prof)
  --settle S         for a shared machine: before each run, wait up to S seconds for other processes to leave the
                     CPUs idle, and run again (up to 3 times) a measured run they disturbed (default 0: off).
                     Every run reports the CPU other processes used meanwhile.
  --soak S           seconds of the soak scenario's measured mixed load (default 300, or 20 when --duration <= 3)
  --ends N           sessions end-to-refusal ends, one at a time (default 1000, or 50 when --duration <= 3)
  --generator G      in-process (default: autocannon in the bench process) or process (autocannon in a child
                     process of its own, for the scenarios whose requests do not depend on earlier answers)
  --out DIR          where the JSON goes (default bench-results)
`;

export const ALL = [
  'ceiling-http',
  'ceiling-koa',
  'introspect',
  'introspect-quiet',
  'introspect-fresh',
  'introspect-inactive',
  'client-credentials',
  'refresh',
  'password',
  'resource-server',
  'peer-introspect',
  'peer-cc-opaque',
  'peer-cc-jwt',
  'soak',
  'end-to-refusal',
] as const;
export type ScenarioId = (typeof ALL)[number];
export const ISSUER_SCENARIOS: readonly ScenarioId[] = ['introspect', 'introspect-quiet', 'introspect-fresh', 'introspect-inactive', 'client-credentials', 'refresh', 'password', 'resource-server', 'soak', 'end-to-refusal'];
/**
 * The scenarios that run on a PostgreSQL issuer only, whichever position its --db has (several issuer instances
 * share one database: SQLite is one process's file).
 */
export const POSTGRES_ONLY: readonly ScenarioId[] = ['end-to-refusal'];
/** The scenarios run again on every database after the first (the targets compare them across databases). */
export const COMPARED_ON_EVERY_DB: readonly ScenarioId[] = ['introspect', 'client-credentials', 'refresh'];
export const PEER_SCENARIOS = ['peer-introspect', 'peer-cc-opaque', 'peer-cc-jwt'] as const satisfies readonly ScenarioId[];
const ALIASES: Record<string, readonly ScenarioId[]> = {
  all: ALL,
  ceilings: ['ceiling-http', 'ceiling-koa'],
  issuer: ISSUER_SCENARIOS,
  peer: PEER_SCENARIOS,
  client_credentials: ['client-credentials'],
  cc: ['client-credentials'],
  login: ['password'],
};

export interface Options {
  duration: number;
  warmup: number;
  connections: number;
  scenarios: Set<ScenarioId>;
  sessions: number;
  freshPool: number;
  /** The databases the issuer runs on, in order: the first runs every issuer scenario, the others COMPARED_ON_EVERY_DB. */
  dbs: string[];
  cpuProf: boolean;
  /** GATEHOUSE_WORKERS for the issuer; undefined leaves it unset. */
  workers: number | undefined;
  settle: number;
  soak: number;
  /** Sessions the end-to-refusal scenario ends. */
  ends: number;
  generator: 'in-process' | 'process';
  out: string;
}

export class UsageError extends Error {}

function integer(raw: string | undefined, name: string, fallback: number, min: number, max: number): number {
  if (raw === undefined) return fallback;
  if (!/^\d+$/.test(raw)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(raw)}`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`--${name} must be between ${min} and ${max}`);
  return value;
}

function generatorOption(raw: string | undefined): Options['generator'] {
  if (raw === undefined || raw === 'in-process' || raw === 'process') return raw ?? 'in-process';
  throw new UsageError(`--generator must be in-process or process, got ${JSON.stringify(raw)}`);
}

/** The options of `argv`; --help prints the usage and exits 0. Throws a UsageError (or node's ERR_PARSE_ARGS_*). */
export function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      duration: { type: 'string' },
      warmup: { type: 'string' },
      connections: { type: 'string' },
      scenario: { type: 'string', multiple: true },
      sessions: { type: 'string' },
      'fresh-pool': { type: 'string' },
      db: { type: 'string', multiple: true },
      'cpu-prof': { type: 'boolean' },
      workers: { type: 'string' },
      settle: { type: 'string' },
      soak: { type: 'string' },
      ends: { type: 'string' },
      generator: { type: 'string' },
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
  const fromEnv = process.env.BENCH_DATABASE_URL || process.env.TEST_DATABASE_URL;
  const dbs = values.db ?? ['sqlite', ...(fromEnv ? [fromEnv] : [])];
  for (const db of dbs) if (db !== 'sqlite' && !/^postgres(ql)?:\/\//.test(db)) throw new UsageError('--db must be sqlite or a postgres:// URL');
  if (new Set(dbs).size !== dbs.length) throw new UsageError('--db names the same database twice');
  return {
    duration,
    warmup,
    connections: integer(values.connections, 'connections', 50, 1, 10_000),
    scenarios,
    sessions: integer(values.sessions, 'sessions', 100_000, 100, 10_000_000),
    freshPool: integer(values['fresh-pool'], 'fresh-pool', quick ? 30_000 : 100_000, 1000, 2_000_000),
    dbs,
    cpuProf: values['cpu-prof'] ?? false,
    workers: values.workers === undefined ? undefined : integer(values.workers, 'workers', 1, 1, 64),
    settle: integer(values.settle, 'settle', 0, 0, 3600),
    soak: integer(values.soak, 'soak', quick ? 20 : 300, 5, 3600),
    ends: integer(values.ends, 'ends', quick ? 50 : 1000, 1, 5000),
    generator: generatorOption(values.generator),
    out: resolve(ROOT, values.out ?? 'bench-results'),
  };
}
