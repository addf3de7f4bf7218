/**
 * The resource-server round trip: the example API (scripts/example-api.ts) once with its middleware stubbed out
 * (scripts/bench/example-noauth.ts), once behind Gatehouse's middleware in its default introspection mode, once in
 * event mode (issue 12), and what the middleware adds.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { API } from '../issuer.js';
import type { Measurement } from '../load.js';
import { ROOT, TSX } from '../paths.js';
import { acceptEach, lostCurrency, startEventApi } from '../event-api.js';
import { readCounter } from '../metrics.js';
import { childEnv, startChild, type Child } from '../proc.js';
import type { Row } from '../results.js';
import { log } from '../runner.js';
import type { IssuerRun } from './issuer.js';

export const EVENT_MODE_ROW = 'resource-server: example API + middleware, event mode';

export async function runResourceServer(run: IssuerRun, row: Row): Promise<void> {
  const { runner, issuer, server, steady } = run;
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
  runner.coldServer = plain;
  let baseline: Measurement;
  row.scenario = 'resource-server: example API, no auth';
  try {
    baseline = await runner.measure(row, { url: plain.ready[1]!, method: 'GET', path: '/notes', headerPool, verify: isList }, plain);
  } finally {
    await plain.stop();
  }
  const guarded: Row = run.runner.newRow('resource-server', 'resource-server: example API + middleware');
  runner.rows.push(guarded);
  const api = await startChild({
    name: 'example-api',
    args: [...TSX, example],
    env: childEnv({ ISSUER: issuer.issuer, CLIENT_ID: issuer.rs.id, CLIENT_SECRET: issuer.rs.secret, AUDIENCE: API, PORT: '0' }),
    ready,
    cwd: ROOT,
  });
  runner.coldServer = api;
  try {
    const withAuth = await runner.measure(guarded, { url: api.ready[1]!, method: 'GET', path: '/notes', headerPool, verify: isList }, [api, server]);
    guarded.notes.push(
      `the middleware adds ${(withAuth.p50 - baseline.p50).toFixed(2)} ms at p50 and ${(withAuth.p99 - baseline.p99).toFixed(2)} ms at p99: one introspection per request (no cache), API, issuer and load generator sharing ${cpus().length} cores; server CPU is API + issuer`,
    );
  } finally {
    await api.stop();
  }
  await runEventMode(run, headerPool, tokens, baseline);
}

/**
 * The same API with the middleware in event mode (issue 12): each token is introspected once, then answered from
 * the cache until an event ends it. Every token of the pool is accepted once before the warm-up, so any call to
 * /introspect during the measured window is one for a token already accepted; the issuer's own request counter
 * (read before and after the window) counts them exactly.
 */
async function runEventMode(run: IssuerRun, headerPool: Record<string, string>[], tokens: readonly string[], baseline: Measurement): Promise<void> {
  const { runner, issuer, server } = run;
  const row: Row = runner.newRow('resource-server', EVENT_MODE_ROW);
  runner.rows.push(row);
  const isList = (body: string) => body.startsWith('[');
  const introspections = () => (issuer.metricsUrl ? readCounter(issuer.metricsUrl, 'gatehouse_http_requests_total', { route: '/introspect' }) : Promise.resolve(undefined));
  let api: Child | undefined;
  try {
    api = await startEventApi(issuer, 'example-api (event mode)');
    const url = api.ready[1]!;
    const refused = await acceptEach(url, tokens);
    if (refused > 0) throw new Error(`${refused} of ${tokens.length} tokens were refused while the cache was warmed`);
    runner.coldServer = api;
    const beforeWarmup = await introspections();
    let windowStart: number | undefined;
    const m = await runner.measure(row, { url, method: 'GET', path: '/notes', headerPool, verify: isList }, [api, server], async () => {
      windowStart = await introspections();
    });
    const windowEnd = await introspections();
    if (windowStart === undefined || windowEnd === undefined || beforeWarmup === undefined) {
      row.notes.push('/introspect calls not counted: the issuer announced no metrics listener');
    } else {
      const accepted = windowEnd - windowStart;
      row.counts = { introspectionsOfAccepted: accepted };
      row.notes.push(
        `/introspect calls during the measured window: ${accepted} for ${m.requests.toLocaleString('en-US')} requests (target 0: all ${tokens.length.toLocaleString('en-US')} tokens were accepted once before the warm-up; ${windowStart - beforeWarmup} calls during warm-up), counted by the issuer's gatehouse_http_requests_total{route="/introspect"}`,
      );
    }
    if (lostCurrency(api)) row.notes.push('the API reported its event stream not current at some point: it introspected every request meanwhile');
    row.notes.push(`the middleware adds ${(m.p50 - baseline.p50).toFixed(2)} ms at p50 and ${(m.p99 - baseline.p99).toFixed(2)} ms at p99 over no auth; waited for the API's "event stream current" line before the first request; server CPU is API + issuer`);
  } catch (error) {
    row.failed = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    log(`  failed: ${row.failed}`);
  } finally {
    await api?.stop();
  }
}
