/**
 * End-to-refusal (issue 12): how soon after the admin API ends a session both event-mode APIs refuse its token,
 * with three issuer instances on one PostgreSQL schema and two example-API processes under steady load.
 *
 * - Issuers: the run's issuer (the issuer identifier's address) and two more instances on the same schema.
 * - APIs: two example-API processes in event mode. The middleware reaches the issuer at its identifier's address,
 *   so both APIs introspect and long poll at the first instance; the ends rotate over the three instances, so two
 *   ends in three are committed by an instance other than the one that delivers their events (PostgreSQL NOTIFY).
 * - Each ended session's token was accepted (and cached) by both APIs before; after the admin call's answer, each
 *   API is probed with it every PROBE_EVERY_MS until it answers 401. The time is taken from the admin answer to
 *   the first 401 of each API (the probe's own round trip included). Probing goes on until both refused, one
 *   more probe each, and a last sweep of every ended token at the end: any 200 after a 401 is a violation.
 */
import { Agent } from 'node:http';
import { call, getNotes, lostCurrency, startEventApi, acceptEach, answerEach } from '../event-api.js';
import type { SessionRef } from '../issuer.js';
import { drive, percentile, type Measurement } from '../load.js';
import { readCounter } from '../metrics.js';
import type { Child } from '../proc.js';
import type { Row } from '../results.js';
import { log, serverUse } from '../runner.js';
import type { IssuerRun } from './issuer.js';

export const END_ROW = 'end-to-refusal: admin answer → 401 at both APIs (3 issuers, 2 APIs)';
/** Sessions whose tokens carry the background load; the ended sessions come after them in the live list. */
const LOAD_SESSIONS = 100;
/** Background load on each API: bounded in rate and connections, so the probes are not starved by it. */
const LOAD_RATE = 500;
const LOAD_CONNECTIONS = 5;
/**
 * Ends before the measured ones, as every scenario has a warm-up: the first end runs code paths the processes
 * have not run yet (SET signing, the receiver's eviction, a refusal). They are checked like the others.
 */
const WARMUP_ENDS = 5;
const PROBE_EVERY_MS = 2;
/** An API that has not refused within this is counted as not refused: the event was lost, not late. */
const REFUSAL_DEADLINE_MS = 5000;
/** The ends stop after this (the tokens signed before them live 300 s): a full run reports how many were done. */
const ENDS_BUDGET_MS = 180_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const isList = (body: string) => body.startsWith('[');

interface Probe {
  /** ms from the admin answer to this API's first 401; undefined when it never came within the deadline. */
  refusedMs: number | undefined;
  violations: number;
  errors: number;
}

/**
 * Probes one API with `token` until it refuses, then on until `settled()` (every API refused or gave up) and once
 * more. Every 200 after this API's first 401 is a violation.
 */
async function probeUntilRefused(agent: Agent, apiUrl: string, token: string, answeredAt: number, done: () => void, settled: () => boolean): Promise<Probe> {
  const probe: Probe = { refusedMs: undefined, violations: 0, errors: 0 };
  let finished = false;
  for (;;) {
    const status = await getNotes(agent, apiUrl, token).catch(() => 0);
    const at = performance.now();
    if (status === 401) {
      if (probe.refusedMs === undefined) probe.refusedMs = at - answeredAt;
    } else if (status === 200) {
      if (probe.refusedMs !== undefined) probe.violations++;
    } else {
      probe.errors++;
    }
    if (!finished && (probe.refusedMs !== undefined || at - answeredAt > REFUSAL_DEADLINE_MS)) {
      finished = true;
      done();
    } else if (finished && settled()) {
      return probe; // at least one probe after every API settled
    }
    await sleep(PROBE_EVERY_MS);
  }
}

function summary(values: number[]): string {
  const sorted = Float64Array.from(values).sort();
  return `p50 ${percentile(sorted, 50).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms, max ${(sorted[sorted.length - 1] ?? NaN).toFixed(1)} ms`;
}

export async function runEndToRefusal(run: IssuerRun, row: Row): Promise<void> {
  const { runner, issuer, server } = run;
  const { options } = runner;
  row.scenario = END_ROW;
  const ended: SessionRef[] = issuer.live.slice(LOAD_SESSIONS, LOAD_SESSIONS + WARMUP_ENDS + options.ends);
  if (ended.length < WARMUP_ENDS + options.ends) row.notes.push(`only ${Math.max(0, ended.length - WARMUP_ENDS)} live sessions to end (raise --sessions)`);
  if (ended.length <= WARMUP_ENDS) throw new Error('no live session to end');
  const metricsUrl = issuer.metricsUrl;

  const children: Array<{ stop(): Promise<unknown> }> = [];
  const agents: Agent[] = [];
  const agent = () => {
    const made = new Agent({ keepAlive: true, maxSockets: 4 });
    agents.push(made);
    return made;
  };
  let stopLoad: () => void = () => {};
  let loads: Array<Promise<Measurement>> = [];
  try {
    const others = [await issuer.startInstance({}), await issuer.startInstance({})];
    children.push(...others);
    const issuerUrls = [issuer.url, ...others.map((other) => other.url)];
    const apis: Child[] = [];
    for (const name of ['example-api A (event mode)', 'example-api B (event mode)']) {
      const api = await startEventApi(issuer, name);
      children.push(api);
      apis.push(api);
    }
    const apiUrls = apis.map((api) => api.ready[1]!);

    // Tokens signed now live 300 s: the ends below stop after ENDS_BUDGET_MS.
    const loadTokens = await issuer.signPool(issuer.live.slice(0, LOAD_SESSIONS), LOAD_SESSIONS);
    const endTokens = await issuer.signPool(ended, ended.length);
    const budgetEnd = performance.now() + ENDS_BUDGET_MS;
    for (const url of apiUrls) {
      const refused = await acceptEach(url, [...loadTokens, ...endTokens]);
      if (refused > 0) throw new Error(`${url} refused ${refused} tokens while its cache was warmed`);
    }

    const adminAnswer = await call(agent(), `${issuer.url}/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${issuer.admin.id}:${issuer.admin.secret}`).toString('base64') },
      body: 'grant_type=client_credentials',
    });
    const adminToken = /"access_token":"([^"]+)"/.exec(adminAnswer.body)?.[1];
    if (adminAnswer.status !== 200 || !adminToken) throw new Error(`the admin token was refused: ${adminAnswer.status} ${adminAnswer.body.slice(0, 200)}`);

    // Steady load on both APIs for as long as the ends last (bounded by the budget).
    const stopped = new Promise<void>((resolve) => (stopLoad = resolve));
    const headerPool = loadTokens.map((token) => ({ authorization: `Bearer ${token}` }));
    loads = apiUrls.map((url) =>
      drive({ url, connections: LOAD_CONNECTIONS, duration: Math.ceil(ENDS_BUDGET_MS / 1000) + 10, method: 'GET', path: '/notes', headerPool, verify: isList, overallRate: LOAD_RATE, until: stopped }),
    );
    const activeBefore = metricsUrl ? await readCounter(metricsUrl, 'gatehouse_introspections_total', { result: 'active' }) : undefined;
    const servers = [server, ...others.map((other) => other.child), ...apis];
    const before = runner.snapshot(servers);

    const adminAgents = issuerUrls.map(agent);
    const probeAgents = apiUrls.map(agent);
    const both: number[] = [];
    const perApi: number[][] = apiUrls.map(() => []);
    const byInstance: number[][] = issuerUrls.map(() => []);
    /** The slowest API refusal of each end, to name the outliers. */
    const slowest: Array<{ ms: number; end: number; via: number }> = [];
    const adminStatuses: Record<string, number> = {};
    let adminFailures = 0;
    let notRefused = 0;
    let violations = 0;
    let probeErrors = 0;
    /** Measured ends; every ended token (warm-up included) is swept at the end. */
    let done = 0;
    const endedTokens: string[] = [];
    let started = performance.now();
    for (const [i, session] of ended.entries()) {
      const measuring = i >= WARMUP_ENDS;
      if (i === WARMUP_ENDS) started = performance.now();
      if (performance.now() > budgetEnd) {
        row.notes.push(`stopped after ${done} measured ends: the ${ENDS_BUDGET_MS / 1000} s budget ran out`);
        break;
      }
      const via = i % issuerUrls.length;
      const answer = await call(adminAgents[via]!, `${issuerUrls[via]}/admin/sessions/${session.sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
      const answeredAt = performance.now();
      adminStatuses[answer.status] = (adminStatuses[answer.status] ?? 0) + 1;
      if (answer.status !== 204) {
        adminFailures++;
        continue;
      }
      endedTokens.push(endTokens[i]!);
      let settledCount = 0;
      const probes = await Promise.all(
        apiUrls.map((url, k) => probeUntilRefused(probeAgents[k]!, url, endTokens[i]!, answeredAt, () => settledCount++, () => settledCount === apiUrls.length)),
      );
      for (const probe of probes) {
        violations += probe.violations;
        probeErrors += probe.errors;
        if (probe.refusedMs === undefined) notRefused++;
      }
      if (!measuring) continue;
      done++;
      slowest.push({ ms: Math.max(...probes.map((probe) => probe.refusedMs ?? REFUSAL_DEADLINE_MS)), end: done, via: via + 1 });
      for (const [k, probe] of probes.entries()) if (probe.refusedMs !== undefined) perApi[k]!.push(probe.refusedMs);
      if (probes.every((probe) => probe.refusedMs !== undefined)) {
        const later = Math.max(...probes.map((probe) => probe.refusedMs!));
        both.push(later);
        byInstance[via]!.push(later);
      }
      if (done % 250 === 0) log(`  ${done} of ${ended.length - WARMUP_ENDS} sessions ended`);
    }
    const elapsedSec = (performance.now() - started) / 1000;
    const use = serverUse(before, runner.snapshot(servers));
    const activeAfter = metricsUrl ? await readCounter(metricsUrl, 'gatehouse_introspections_total', { result: 'active' }) : undefined;
    stopLoad();
    const loaded = await Promise.all(loads);

    // Later than every probe above: every ended token once more on both APIs; only 401 is right.
    for (const url of apiUrls) {
      const sweep = await answerEach(url, endedTokens);
      violations += sweep.get(200) ?? 0;
      probeErrors += endedTokens.length - (sweep.get(200) ?? 0) - (sweep.get(401) ?? 0);
    }

    const sorted = Float64Array.from(both).sort();
    const measured: Measurement = {
      requests: done,
      durationSec: elapsedSec,
      rps: done / elapsedSec,
      p50: percentile(sorted, 50),
      p90: percentile(sorted, 90),
      p99: percentile(sorted, 99),
      max: sorted.length ? sorted[sorted.length - 1]! : NaN,
      non2xx: adminFailures,
      socketErrors: probeErrors,
      timeouts: notRefused,
      mismatches: violations,
      errors: adminFailures + probeErrors + notRefused + violations,
      statusCodes: adminStatuses,
    };
    row.measured = measured;
    if (use) row.server = use;
    row.counts = { acceptedAfterRefusal: violations, notRefused };
    row.warmupErrors = loaded.reduce((sum, m) => sum + m.errors, 0);

    row.notes.push(
      `${done} sessions ended one at a time (after ${WARMUP_ENDS} unmeasured ones) through DELETE /admin/sessions/:sid, rotating over 3 issuer instances on one PostgreSQL schema; req/s is ends per second, p50/p99/max the time from the admin answer to the later of the two APIs' first 401 (probes every ${PROBE_EVERY_MS} ms, their round trip included)`,
      `per API: ${perApi.map((values, k) => `${'AB'[k]} ${summary(values)}`).join('; ')}; by the instance that ended it: ${byInstance.map((values, k) => `#${k + 1}${k === 0 ? ' (the one the APIs poll)' : ''} ${values.length ? summary(values) : '—'}`).join('; ')}`,
      `accepted after a refusal: ${violations} (probes until both refused, then a sweep of all ${endedTokens.length} ended tokens on both APIs); not refused within ${REFUSAL_DEADLINE_MS / 1000} s: ${notRefused}${adminFailures ? `; admin calls not answered 204: ${adminFailures}` : ''}${probeErrors ? `; probes answered neither 200 nor 401: ${probeErrors}` : ''}`,
      `API load meanwhile, ${LOAD_CONNECTIONS} connections at ${LOAD_RATE} req/s on each API over ${LOAD_SESSIONS} cached tokens: ${loaded.map((m, k) => `${'AB'[k]} ${m.rps.toFixed(0)} req/s p99 ${m.p99.toFixed(2)} ms${m.errors ? ` (${m.errors} errors)` : ''}`).join(', ')}; load, probes and admin calls from the bench process, server CPU is 3 issuers + 2 APIs`,
    );
    const outliers = slowest.sort((a, b) => b.ms - a.ms).slice(0, 3);
    row.notes.push(`slowest ends: ${outliers.map((o) => `${o.ms.toFixed(0)} ms (end ${o.end}, through instance #${o.via})`).join(', ')}`);
    if (activeBefore !== undefined && activeAfter !== undefined) {
      row.notes.push(`introspections answered active during the ends: ${activeAfter - activeBefore} (0: every acceptance came from the APIs' caches, every refusal followed an event)`);
    }
    const lost = apis.filter(lostCurrency);
    if (lost.length > 0) row.notes.push(`${lost.map((api) => api.name).join(' and ')} reported the event stream not current at some point: refusals then came from introspection, not from events`);
  } finally {
    stopLoad();
    await Promise.allSettled(loads);
    for (const made of agents) made.destroy();
    await Promise.all(children.map((child) => child.stop()));
  }
}
