/**
 * The targets the issues set, checked against the rows of one run. Informative only: the bench never fails on
 * speed. Ratios compare rows of the same run; "not measured" when a row it needs did not run (a scenario left
 * out, or no PostgreSQL database given).
 */
import { cpus } from 'node:os';
import { rowById, type Dialect, type Row } from './results.js';
import { END_ROW } from './scenarios/end-to-refusal.js';
import { ISSUER_NAMES } from './scenarios/issuer.js';
import { EVENT_MODE_ROW } from './scenarios/resource-server.js';

export interface Target {
  /** The issue that set it. */
  group: string;
  target: string;
  value: string;
  met: boolean | undefined;
}

export function evaluateTargets(rows: readonly Row[]): Target[] {
  const measured = (id: string, db?: Dialect, scenario?: string) => rowById(rows, id, scenario, db)?.measured;
  const rps = (id: string, db?: Dialect, scenario?: string) => measured(id, db, scenario)?.rps;
  const ratio = (a: number | undefined, b: number | undefined) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
  const percent = (a: number | undefined, b: number | undefined) => {
    const r = ratio(a, b);
    return r === undefined ? undefined : r * 100;
  };
  const targets: Target[] = [];
  let group = '';
  const add = (target: string, value: number | undefined, threshold: number, unit: string, higherIsBetter = true) =>
    targets.push({
      group,
      target,
      value: value === undefined ? 'not measured' : `${value.toFixed(unit === '×' ? 2 : unit === '%' || unit === '' ? 0 : 1)}${unit}`,
      met: value === undefined ? undefined : higherIsBetter ? value >= threshold : value <= threshold,
    });

  const http = rps('ceiling-http');
  const introspect = measured('introspect', 'sqlite');
  const peerIntrospect = rps('peer-introspect');
  const cc = rps('client-credentials', 'sqlite');
  const refresh = rps('refresh', 'sqlite');

  group = 'issue 11: introspection and issuance (SQLite, one process)';
  add('introspect ≥ 3× peer introspection', ratio(introspect?.rps, peerIntrospect), 3, '×');
  add('introspect ≥ 40% of node:http', percent(introspect?.rps, http), 40, '%');
  add('introspect p99 < 10 ms', introspect?.p99, 10, ' ms', false);
  add('introspect-fresh ≥ 1.5× peer introspection', ratio(rps('introspect-fresh', 'sqlite'), peerIntrospect), 1.5, '×');
  add('client_credentials ≥ 2× peer JWT issuance', ratio(cc, rps('peer-cc-jwt')), 2, '×');
  add('client_credentials ≥ 1× peer opaque issuance', ratio(cc, rps('peer-cc-opaque')), 1, '×');
  add('refresh ≥ 60% of client_credentials', percent(refresh, cc), 60, '%');

  group = 'issue 11: PostgreSQL, same run';
  const pgIntrospect = rps('introspect', 'postgres');
  add('PostgreSQL introspect ≥ 60% of SQLite', percent(pgIntrospect, introspect?.rps), 60, '%');
  add('PostgreSQL introspect ≥ 1× peer introspection', ratio(pgIntrospect, peerIntrospect), 1, '×');
  add('PostgreSQL refresh ≥ 50% of SQLite', percent(rps('refresh', 'postgres'), refresh), 50, '%');
  add('PostgreSQL client_credentials ≥ 70% of SQLite', percent(rps('client-credentials', 'postgres'), cc), 70, '%');

  const soak = rowById(rows, 'soak', undefined, 'sqlite')?.server;
  add('RSS growth < 5% over the soak (mixed load)', soak ? ((soak.rssEndMb - soak.rssStartMb) / soak.rssStartMb) * 100 : undefined, 5, '%', false);

  group = 'issue 13: observability';
  add('introspect with metrics + request log ≥ 90% of without', percent(introspect?.rps, rps('introspect-quiet', 'sqlite')), 90, '%');

  group = 'issue 6: logins';
  const logins = rps('password', 'sqlite', ISSUER_NAMES.password);
  add('password logins ≥ 30/s per core', logins === undefined ? undefined : logins / cpus().length, 30, '/s/core');
  const storm = measured('password', 'sqlite', 'introspect during logins');
  const baseline = introspect ?? measured('password', 'sqlite', 'introspect (baseline)');
  add('introspect p99 during logins ≤ 3× without', ratio(storm?.p99, baseline?.p99), 3, '×', false);

  group = 'issue 12: shared signals';
  const noAuth = rps('resource-server', undefined, 'resource-server: example API, no auth');
  const eventMode = rowById(rows, 'resource-server', EVENT_MODE_ROW);
  add('event-mode API ≥ 80% of no-auth', percent(eventMode?.measured?.rps, noAuth), 80, '%');
  add('no /introspect for accepted tokens in event mode', eventMode?.counts?.introspectionsOfAccepted, 0, '', false);
  const refusal = rowById(rows, 'end-to-refusal', END_ROW);
  add('end-to-refusal p99 ≤ 100 ms (3 issuers, 2 APIs, PostgreSQL)', refusal?.measured?.p99, 100, ' ms', false);
  add('accepted after refusal: 0', refusal?.counts?.acceptedAfterRefusal, 0, '', false);
  return targets;
}
