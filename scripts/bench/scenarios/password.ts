/**
 * The password scenario: Argon2id logins at full load, then the introspection p99 while a login storm runs,
 * against the p99 without one (introspect's, or a baseline run of its own when introspect did not run).
 */
import { cpus } from 'node:os';
import { drive, type LoadSpec, type Measurement } from '../load.js';
import { describeErrors, type Row } from '../results.js';
import { DISTURBED_CORES, MAX_RETRIES, serverUse } from '../runner.js';
import { FORM, hasAccessToken, isActive } from './common.js';
import type { IssuerRun } from './issuer.js';

export async function runPassword(run: IssuerRun, row: Row): Promise<void> {
  const { runner, issuer, server, steady, introspectSpec } = run;
  const { options } = runner;
  const login: Omit<LoadSpec, 'duration' | 'connections'> = {
    url: issuer.url,
    method: 'POST',
    path: '/token',
    headers: { 'content-type': FORM, authorization: issuer.auth.app },
    body: issuer.loginBody,
    verify: hasAccessToken,
    timeoutSec: 30,
  };
  const logins = await runner.measure(row, login, server);
  const cores = cpus().length;
  row.notes.push(`Argon2id at the default parameters (19 MiB, 2 passes): ${logins.rps.toFixed(1)} logins/s = ${(logins.rps / cores).toFixed(1)} per core on ${cores} cores`);

  // The introspection p99 while a login storm runs, against the p99 without one.
  const tokens = await issuer.signPool(steady, 1000);
  const introspectBodies = tokens.map((token) => `token=${token}`);
  let baseline = run.introspectP99;
  if (baseline === undefined) {
    const base: Row = run.runner.newRow('password', 'introspect (baseline)');
    runner.rows.push(base);
    baseline = (await runner.measure(base, introspectSpec(introspectBodies, isActive), server)).p99;
  }
  const storm: Row = run.runner.newRow('password', 'introspect during logins');
  runner.rows.push(storm);
  let during: Measurement;
  let loginsDuring: Measurement;
  for (let attempt = 0; ; attempt++) {
    await runner.settle(storm, server);
    const before = runner.snapshot(server);
    [during, loginsDuring] = await Promise.all([
      drive({ ...introspectSpec(introspectBodies, isActive), connections: options.connections, duration: options.duration }),
      drive({ ...login, connections: options.connections, duration: options.duration }),
    ]);
    const use = serverUse(before, runner.snapshot(server));
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
}
