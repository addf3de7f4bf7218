/**
 * The soak: introspection, client_credentials and refresh rotation at once, on one issuer, for --soak seconds
 * (5 minutes by default), to show that memory stays flat under a long mixed load: the issuer's RSS (with its
 * workers) after a warm-up of the same mix, and at the end. Access tokens live 300 s, so the introspected pool
 * is signed afresh every minute.
 */
import { drive, type LoadSpec, type Measurement } from '../load.js';
import { sampleProcess } from '../proc.js';
import { describeErrors, type Row } from '../results.js';
import { FORM, hasAccessToken, hasRefreshToken, isActive, refreshChain } from './common.js';
import type { IssuerRun } from './issuer.js';

const RESIGN_EVERY_MS = 60_000;

export async function runSoak(run: IssuerRun, row: Row): Promise<void> {
  const { runner, issuer, server, steady } = run;
  const { options } = runner;
  // 30 + 10 + 10 connections: mostly introspection, as on a real deployment.
  let pool = await issuer.signPool(steady, 1000);
  const resign = setInterval(() => {
    void issuer.signPool(steady, 1000).then((fresh) => (pool = fresh));
  }, RESIGN_EVERY_MS);
  let brokenChains = 0;
  const specs = (duration: number): Array<[string, LoadSpec]> => [
    [
      'introspect',
      {
        url: issuer.url,
        connections: 30,
        duration,
        method: 'POST',
        path: '/introspect',
        headers: { 'content-type': FORM, authorization: issuer.auth.rs },
        perConnection: () => {
          let next = Math.floor(Math.random() * 1000);
          return { next: () => `token=${pool[next++ % pool.length]}` };
        },
        verify: isActive,
      },
    ],
    [
      'client_credentials',
      { url: issuer.url, connections: 10, duration, method: 'POST', path: '/token', headers: { 'content-type': FORM, authorization: issuer.auth.svc }, body: 'grant_type=client_credentials', verify: hasAccessToken },
    ],
    [
      'refresh',
      {
        url: issuer.url,
        connections: 10,
        duration,
        method: 'POST',
        path: '/token',
        headers: { 'content-type': FORM, authorization: issuer.auth.app },
        perConnection: () => refreshChain(issuer, () => brokenChains++),
        verify: hasRefreshToken,
      },
    ],
  ];
  const mix = (duration: number) => Promise.all(specs(duration).map(async ([name, spec]) => [name, await drive(spec)] as [string, Measurement]));
  try {
    const warm = await mix(Math.max(5, Math.min(30, Math.round(options.soak / 5))));
    const warmErrors = warm.reduce((sum, [, m]) => sum + m.errors, 0);
    row.warmupErrors = warmErrors;
    for (const [name, m] of warm) if (m.errors > 0) row.notes.push(`warm-up ${name}: ${describeErrors(m)}`);
    const before = sampleProcess(server.pid);
    const measured = await mix(options.soak);
    const after = sampleProcess(server.pid);
    const introspect = measured.find(([name]) => name === 'introspect')![1];
    const total = measured.reduce((sum, [, m]) => sum + m.requests, 0);
    const errors = measured.reduce((sum, [, m]) => sum + m.errors, 0);
    row.measured = { ...introspect, requests: total, rps: total / introspect.durationSec, errors };
    if (before && after) {
      row.server = { cores: (after.cpuSeconds - before.cpuSeconds) / ((after.at - before.at) / 1000), rssStartMb: before.rssMb, rssEndMb: after.rssMb };
      row.notes.push(`RSS ${before.rssMb.toFixed(0)} → ${after.rssMb.toFixed(0)} MiB over ${options.soak} s (${(((after.rssMb - before.rssMb) / before.rssMb) * 100).toFixed(1)}%)`);
    }
    row.notes.push(`mixed load: ${measured.map(([name, m]) => `${name} ${m.rps.toFixed(0)} req/s`).join(', ')}; p50/p99 are introspection's${brokenChains > 0 ? `; ${brokenChains} refresh chains broke` : ''}`);
    for (const [name, m] of measured) if (m.errors > 0) row.notes.push(`${name}: ${describeErrors(m)}`);
  } finally {
    clearInterval(resign);
  }
}
