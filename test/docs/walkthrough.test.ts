/**
 * The README's curl walk-through runs as written: the shell block is taken from the README itself and run with
 * bash against a real server (only its port differs), and what it prints is what the README's comments say.
 * The Grafana dashboard in docs/ is a dashboard whose every query names metrics the issuer exports.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { collectDefaultMetrics } from 'prom-client';
import { startMetricsServer } from '../../src/observability/metrics-server.js';
import { startWorld } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';
import { childEnv, cleanup, CLI_JS, ROOT, sandbox } from '../helpers/process.js';

test.after.always(cleanup);

function readmeBlock(heading: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf(`## ${heading}`));
  const match = /```sh\n([\s\S]*?)```/.exec(section);
  if (!match) throw new Error(`no sh block under "${heading}"`);
  return match[1]!;
}

function bash(script: string, options: { cwd: string; env: Record<string, string> }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', script], { cwd: options.cwd, env: childEnv(options.env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('the README walk-through runs as written and prints what its comments say', async (t) => {
  t.timeout(180_000);
  const box = await sandbox();
  const server = await box.start();
  // `npx gatehouse` as in a checkout: the bin of this package, found in the working folder's node_modules/.bin
  // (a shim that runs it with node, as npm's own bin links do; the built file need not be executable).
  mkdirSync(join(box.dir, 'node_modules', '.bin'), { recursive: true });
  writeFileSync(join(box.dir, 'node_modules', '.bin', 'gatehouse'), `#!/bin/sh\nexec "${process.execPath}" "${CLI_JS}" "$@"\n`, { mode: 0o755 });
  const script = readmeBlock('A walk through with curl').replaceAll('http://localhost:4000', server.issuer);
  const result = await bash(script, { cwd: box.dir, env: box.env });
  t.is(result.code, 0, result.stderr);
  // curl prints its JSON without a newline: pick the JSON objects and the status code out of the output in order.
  const printed = result.stdout.match(/\{[^{}]*\}|\b204(?=\n)/g) ?? [];
  t.log(printed.map((item) => item.slice(0, 120)).join('\n'));

  // The comments of the block, in order: the introspection, the 204, the inactive token and invalid_grant.
  const [login, introspected, renewed, ended, inactive, refused] = printed;
  t.like(JSON.parse(login!), { token_type: 'Bearer', expires_in: 300, scope: 'notes:read notes:write' });
  t.true(introspected!.startsWith('{"active":true,"scope":"notes:read notes:write","client_id":"web","username":"alice","token_type":"Bearer",'), introspected);
  t.like(JSON.parse(renewed!), { token_type: 'Bearer' });
  t.is(ended, '204');
  t.is(inactive, '{"active":false}');
  t.is(refused, '{"error":"invalid_grant","error_description":"The refresh token is invalid, expired or revoked"}');
  t.is(printed.length, 6);
  await server.stop();
});

test('the Grafana dashboard is a dashboard, and every metric it queries is one the issuer exports', async (t) => {
  const dashboard = JSON.parse(readFileSync(join(ROOT, 'docs', 'grafana-dashboard.json'), 'utf8'));
  t.is(typeof dashboard.title, 'string');
  t.is(typeof dashboard.uid, 'string');
  t.true(Number.isInteger(dashboard.schemaVersion) && dashboard.schemaVersion >= 30);
  t.true(Array.isArray(dashboard.panels) && dashboard.panels.length > 0);
  const ids = new Set<number>();
  for (const panel of dashboard.panels) {
    t.true(['timeseries', 'stat'].includes(panel.type), panel.title);
    t.true(Number.isInteger(panel.id) && !ids.has(panel.id), `panel ids are unique: ${panel.title}`);
    ids.add(panel.id);
    for (const key of ['x', 'y', 'w', 'h']) t.true(Number.isInteger(panel.gridPos?.[key]), `${panel.title} gridPos.${key}`);
    t.true(panel.targets.length > 0 && panel.targets.every((target: any) => typeof target.expr === 'string' && typeof target.refId === 'string'));
  }

  // Every metric name in every query exists in a real exposition.
  const w = await startWorld();
  t.teardown(() => w.close());
  await w.login();
  collectDefaultMetrics({ register: w.metrics.registry }); // what main.ts adds; test issuers leave them out
  const { server, port } = await startMetricsServer(w.metrics, '127.0.0.1', 0);
  t.teardown(() => server.close());
  const exposed = (await send(`http://127.0.0.1:${port}/metrics`)).text;
  const known = new Set([...exposed.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_count`, `${name}_sum`] : [name!])));
  for (const panel of dashboard.panels) {
    for (const target of panel.targets) {
      for (const [name] of target.expr.matchAll(/\b(?:gatehouse|process|nodejs)_[a-z0-9_]+/g)) t.true(known.has(name), `${panel.title}: ${name} is not exported`);
    }
  }
});
