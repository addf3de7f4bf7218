/**
 * The issuer's scenarios, all on one issuer process (node dist/main.js over a temp SQLite file or a fresh
 * PostgreSQL schema, seeded by ../issuer.ts): introspection of steady, never-seen and inactive tokens,
 * client_credentials, refresh rotation, then the password logins (./password.ts) and the resource-server round
 * trip (./resource-server.ts). With --cpu-prof the issuer runs under node --cpu-prof and its profile is summarised.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { IssuerRefused, startIssuer, type Issuer, type SessionRef } from '../issuer.js';
import { COMPARED_ON_EVERY_DB, ISSUER_SCENARIOS, POSTGRES_ONLY } from '../options.js';
import { ROOT } from '../paths.js';
import { sampleProcess, type Child } from '../proc.js';
import { summarizeProfile, type ProfileSummary } from '../profile.js';
import { closers, log, MAX_RETRIES, type Runner, type RunSpec } from '../runner.js';
import { FORM, hasAccessToken, hasRefreshToken, isActive, refreshChain } from './common.js';
import { runEndToRefusal } from './end-to-refusal.js';
import { runPassword } from './password.js';
import { runResourceServer } from './resource-server.js';
import { runSoak } from './soak.js';

export const ISSUER_NAMES: Record<string, string> = {
  introspect: 'introspect',
  'introspect-quiet': 'introspect, metrics and request log off',
  'introspect-fresh': 'introspect-fresh',
  'introspect-inactive': 'introspect-inactive',
  'client-credentials': 'client_credentials',
  refresh: 'refresh',
  password: 'password login',
  'resource-server': 'resource-server round trip',
  soak: 'soak: mixed load, RSS growth',
  'end-to-refusal': 'end-to-refusal: 3 issuers, 2 event-mode APIs',
};

/** What the issuer's scenarios share. */
export interface IssuerRun {
  runner: Runner;
  issuer: Issuer;
  server: Child;
  /** 1,000 live sessions spread over all of them: the steady token pools are signed for these. */
  steady: SessionRef[];
  introspectSpec(bodies: string[], verify: (body: string) => boolean): RunSpec;
  /** The p99 of the introspect scenario, when it ran: the baseline of the login storm. */
  introspectP99: number | undefined;
}

export interface IssuerProfile {
  summary: ProfileSummary;
  file: string;
}

function spreadOver<T>(items: readonly T[], count: number): T[] {
  if (items.length <= count) return [...items];
  const step = items.length / count;
  return Array.from({ length: count }, (_, i) => items[Math.floor(i * step)]!);
}

/**
 * Every login of the benchmark is one user from one address (127.0.0.1), 50 at once: the lockout counts attempts
 * before they are checked and caps concurrent checks per user and per address, so at their defaults those
 * defences would refuse most of this load, as they should refuse it from a real client. They are lifted for the
 * benchmark, which measures Argon2 throughput, not the lockout.
 */
const LOGIN_STORM_ENV = {
  GATEHOUSE_LOCKOUT_THRESHOLD: '1000',
  GATEHOUSE_LOCKOUT_IP_THRESHOLD: '100000',
  GATEHOUSE_LOCKOUT_USER_THRESHOLD: '10000',
  GATEHOUSE_LOGIN_CONCURRENCY_USER: '1000',
  GATEHOUSE_LOGIN_CONCURRENCY_IP: '100000',
};

/**
 * The issuer runs as operators run it: Prometheus metrics on (on a port of their own) and a JSON log line per
 * request. introspect-quiet measures the same introspections on a second instance with both off, so that their
 * cost is one ratio of one run.
 */
const OBSERVED_ENV = { GATEHOUSE_METRICS_PORT: '0', GATEHOUSE_LOG_LEVEL: 'info' };
const QUIET_ENV = { GATEHOUSE_LOG_LEVEL: 'warn' };

/**
 * Runs the issuer's scenarios that were asked for on each database of --db: all of them on the first, those
 * COMPARED_ON_EVERY_DB on the others. With --cpu-prof (first database only), returns the summary of the issuer's
 * profile.
 */
export async function runIssuer(runner: Runner, stamp: string): Promise<IssuerProfile | undefined> {
  let profile: IssuerProfile | undefined;
  for (const [i, db] of runner.options.dbs.entries()) {
    const dialect = db === 'sqlite' ? 'sqlite' : 'postgres';
    runner.issuerDb = { dialect, ...(i > 0 ? { only: new Set([...COMPARED_ON_EVERY_DB, ...POSTGRES_ONLY]) } : {}) };
    try {
      const result = await runIssuerOn(runner, stamp, db, i === 0 && runner.options.cpuProf);
      if (i === 0) profile = result;
    } finally {
      runner.issuerDb = undefined;
    }
  }
  if (!runner.options.dbs.some((db) => db !== 'sqlite')) {
    runner.skip(POSTGRES_ONLY, ISSUER_NAMES, 'PostgreSQL only (several issuer instances on one database): give --db postgres://…');
  }
  return profile;
}

async function runIssuerOn(runner: Runner, stamp: string, db: string, cpuProf: boolean): Promise<IssuerProfile | undefined> {
  const { options } = runner;
  const only = runner.issuerDb?.only;
  const dialect = db === 'sqlite' ? 'sqlite' : 'postgres';
  const wanted = ISSUER_SCENARIOS.filter((id) => options.scenarios.has(id) && (!only || only.has(id)) && (dialect === 'postgres' || !POSTGRES_ONLY.includes(id)));
  if (wanted.length === 0) return undefined;
  const profileDir = join(options.out, 'profiles');
  const profileName = `issuer-${stamp}.cpuprofile`;
  if (cpuProf) mkdirSync(profileDir, { recursive: true });

  log(`… preparing the issuer (${db === 'sqlite' ? 'SQLite' : 'PostgreSQL'}, ${options.sessions.toLocaleString('en-US')} sessions)`);
  let issuer: Issuer;
  try {
    issuer = await startIssuer({
      sessions: options.sessions,
      // Every run (warm-up, measured, each retry) starts fresh chains on every connection; one more set for chains
      // that break.
      chains:
        (options.scenarios.has('refresh') ? options.connections * (3 + (options.settle > 0 ? MAX_RETRIES : 0)) : 0) +
        // the soak's 10 refresh connections, warm-up and measured run, and as many spares
        (options.scenarios.has('soak') ? 40 : 0),
      db,
      nodeArgs: cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-name=${profileName}`] : [],
      env: { ...LOGIN_STORM_ENV, ...OBSERVED_ENV, ...(options.workers === undefined ? {} : { GATEHOUSE_WORKERS: String(options.workers) }) },
      root: ROOT,
    });
  } catch (error) {
    if (error instanceof IssuerRefused) {
      log(`  skipped: ${error.message}`);
      runner.skip(wanted, ISSUER_NAMES, error.message);
      return undefined;
    }
    throw error;
  }
  closers.add(issuer.close);
  runner.countPostgres = issuer.dialect === 'postgres';
  log(`  ready in ${Object.entries(issuer.timings).map(([step, ms]) => `${step} ${ms} ms`).join(', ')}`);
  const server = issuer.child;
  const run: IssuerRun = {
    runner,
    issuer,
    server,
    steady: spreadOver(issuer.live, 1000),
    introspectSpec: (bodies, verify) => ({
      url: issuer.url,
      method: 'POST',
      path: '/introspect',
      headers: { 'content-type': FORM, authorization: issuer.auth.rs },
      bodies,
      verify,
    }),
    introspectP99: undefined,
  };
  const { steady, introspectSpec } = run;

  try {
    // A process just started runs its first seconds unoptimised: the first scenario measured on the issuer gets a
    // longer warm-up (of its own load, so a --cpu-prof profile holds nothing but that scenario).
    runner.coldServer = server;

    await runner.scenario('introspect', ISSUER_NAMES.introspect!, async (row) => {
      const tokens = await issuer.signPool(steady, 1000);
      const m = await runner.measure(row, introspectSpec(tokens.map((token) => `token=${token}`), isActive), server);
      run.introspectP99 = m.p99;
      row.notes.push(`1,000 active tokens of ${steady.length.toLocaleString('en-US')} sessions, ${issuer.live.length.toLocaleString('en-US')} live and ${issuer.ended.length.toLocaleString('en-US')} ended sessions in the table`);
    }, server);

    await runner.scenario('introspect-quiet', ISSUER_NAMES['introspect-quiet']!, async (row) => {
      const quiet = await issuer.startInstance({ ...LOGIN_STORM_ENV, ...QUIET_ENV, ...(options.workers === undefined ? {} : { GATEHOUSE_WORKERS: String(options.workers) }) });
      try {
        const tokens = await issuer.signPool(steady, 1000);
        // A fresh process: its own longer warm-up, as for the first scenario of the main instance.
        runner.coldServer = quiet.child;
        await runner.measure(row, { ...introspectSpec(tokens.map((token) => `token=${token}`), isActive), url: quiet.url }, quiet.child);
        row.notes.push('a second instance on the same database with GATEHOUSE_LOG_LEVEL=warn and no GATEHOUSE_METRICS_PORT; the other issuer rows run with both on');
      } finally {
        await quiet.stop();
      }
    }, server);

    await runner.scenario('introspect-fresh', ISSUER_NAMES['introspect-fresh']!, async (row) => {
      // The warm-up draws from a pool of its own. Each measured run gets a pool of tokens never sent before,
      // signed between warm-up and run: --fresh-pool of them, or more if the warm-up's rate calls for more.
      let pool = issuer.signFast(issuer.live, options.freshPool);
      let next = 0;
      let signMs = 0;
      await runner.measure(
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

    await runner.scenario('introspect-inactive', ISSUER_NAMES['introspect-inactive']!, async (row) => {
      if (issuer.ended.length === 0) throw new Error('no ended session was preloaded');
      const tokens = await issuer.signPool(issuer.ended, 1000);
      await runner.measure(row, introspectSpec(tokens.map((token) => `token=${token}`), (body) => body === '{"active":false}'), server);
      row.notes.push(`1,000 tokens of ${issuer.ended.length.toLocaleString('en-US')} ended sessions`);
    }, server);

    await runner.scenario('client-credentials', ISSUER_NAMES['client-credentials']!, async (row) => {
      await runner.measure(
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

    await runner.scenario('refresh', ISSUER_NAMES.refresh!, async (row) => {
      let broken = 0;
      await runner.measure(
        row,
        {
          url: issuer.url,
          method: 'POST',
          path: '/token',
          headers: { 'content-type': FORM, authorization: issuer.auth.app },
          // Each connection rotates a chain of its own.
          perConnection: () => refreshChain(issuer, () => broken++),
          verify: hasRefreshToken,
        },
        server,
      );
      row.notes.push(`${options.connections} chains, one per connection${broken > 0 ? `; ${broken} chains broke` : ''}`);
    }, server);

    await runner.scenario('password', ISSUER_NAMES.password!, (row) => runPassword(run, row), server);

    await runner.scenario('resource-server', ISSUER_NAMES['resource-server']!, (row) => runResourceServer(run, row), server);

    await runner.scenario('soak', ISSUER_NAMES.soak!, (row) => runSoak(run, row), server);

    // Last: it ends sessions of the live list, which the scenarios above sign tokens for.
    if (issuer.dialect === 'postgres') await runner.scenario('end-to-refusal', ISSUER_NAMES['end-to-refusal']!, (row) => runEndToRefusal(run, row), server);
  } finally {
    const rssAtEnd = sampleProcess(server.pid);
    if (rssAtEnd) log(`  issuer RSS at the end: ${rssAtEnd.rssMb.toFixed(0)} MiB`);
    closers.delete(issuer.close);
    await issuer.close();
  }

  if (cpuProf) {
    const file = join(profileDir, profileName);
    if (existsSync(file)) return { summary: summarizeProfile(file, 30), file };
    log(`  no profile was written (looked for ${file}; found ${readdirSync(profileDir).join(', ') || 'nothing'})`);
  }
  return undefined;
}
