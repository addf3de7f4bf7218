/**
 * The resource-server round trip: the example API (scripts/example-api.ts) once with its middleware stubbed out
 * (scripts/bench/example-noauth.ts), once behind Gatehouse's middleware, and what the middleware adds.
 */
import { existsSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { API } from '../issuer.js';
import type { Measurement } from '../load.js';
import { ROOT, TSX } from '../paths.js';
import { childEnv, startChild } from '../proc.js';
import type { Row } from '../results.js';
import type { IssuerRun } from './issuer.js';

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
}
