/**
 * The targets of issue 6, checked against the rows of a run. Informative only: the bench never fails on speed.
 */
import { cpus } from 'node:os';
import { rowById, type Row } from './results.js';
import { ISSUER_NAMES } from './scenarios/issuer.js';

export interface Target {
  target: string;
  value: string;
  met: boolean | undefined;
}

export function evaluateTargets(rows: readonly Row[]): Target[] {
  const rps = (id: string, scenario?: string) => rowById(rows, id, scenario)?.measured?.rps;
  const http = rps('ceiling-http');
  const introspect = rowById(rows, 'introspect')?.measured;
  const fresh = rps('introspect-fresh');
  const peerIntrospect = rps('peer-introspect');
  const cc = rps('client-credentials');
  const peerJwt = rps('peer-cc-jwt');
  const peerOpaque = rps('peer-cc-opaque');
  const refresh = rps('refresh');
  const logins = rps('password', ISSUER_NAMES.password);
  const storm = rowById(rows, 'password', 'introspect during logins')?.measured;
  const baseline = introspect ?? rowById(rows, 'password', 'introspect (baseline)')?.measured;
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
  const quiet = rps('introspect-quiet');
  const observed = ratio(introspect?.rps, quiet);
  add('introspect with metrics + request log ≥ 90% of without', observed === undefined ? undefined : observed * 100, 90, '%');
  return targets;
}
