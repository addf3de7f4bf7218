/**
 * `npm run bench`: the benchmark of issue 6. Starts the issuer as a real child process (node dist/main.js on
 * PORT=0 over a temp SQLite file, or a fresh schema of a PostgreSQL database with --db postgres://…), the two
 * ceilings (a bare node:http hello-world, a bare Koa form POST) and the peer (node-oidc-provider 9), drives each
 * scenario with autocannon at N connections for a fixed duration after a warm-up, prints one table and writes
 * the same as JSON to bench-results/.
 *
 *   npm run bench                                   # the full run: 10 s per scenario, 100,000 sessions
 *   npm run bench -- --duration 2 --sessions 2000   # the CI smoke run
 *   npm run bench -- --scenario introspect --cpu-prof
 *
 * Exit status: 1 when any request of any scenario failed (a non-2xx answer, a socket error or timeout, a 2xx
 * answer with the wrong body) or a scenario could not run; never because of a speed. Skipped scenarios (the
 * issuer refused the database, the resource-server example does not exist yet) are reported, not failed.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseOptions, USAGE, UsageError, type Options } from './bench/options.js';
import { ROOT } from './bench/paths.js';
import { killAllChildrenNow } from './bench/proc.js';
import { formatSummary } from './bench/profile.js';
import { formatTable, writeJsonReport } from './bench/report.js';
import { failedRows } from './bench/results.js';
import { log, Runner, shutdown } from './bench/runner.js';
import { runCeilings } from './bench/scenarios/ceilings.js';
import { runIssuer, type IssuerProfile } from './bench/scenarios/issuer.js';
import { runPeer } from './bench/scenarios/peer.js';

async function main(): Promise<number> {
  let options: Options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`bench: ${(error as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (!existsSync(join(ROOT, 'dist', 'main.js'))) {
    process.stderr.write('bench: dist/main.js is missing; run `npm run build` (npm run bench does it first)\n');
    return 2;
  }
  const started = Date.now();
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  process.on('SIGINT', () => {
    log('interrupted: stopping the servers');
    void shutdown().finally(() => process.exit(130));
  });
  process.on('exit', killAllChildrenNow);

  const runner = new Runner(options);
  let profile: IssuerProfile | undefined;
  try {
    await runCeilings(runner);
    profile = await runIssuer(runner, stamp);
    await runPeer(runner);
  } finally {
    await shutdown();
  }

  const table = formatTable(runner);
  process.stdout.write(`\n${table}\n`);
  if (profile) process.stdout.write(`\n${formatSummary(profile.summary)}\n`);

  const json = writeJsonReport(runner, { stamp, started, profile });

  const failures = failedRows(runner.rows);
  process.stdout.write(`\nJSON: ${json.file}\nElapsed: ${json.elapsedSeconds} s\n`);
  if (failures.length > 0) {
    process.stdout.write(`FAILED: ${failures.map((row) => (row.db && options.dbs.length > 1 ? `${row.scenario} [${row.db}]` : row.scenario)).join(', ')} (errors or non-2xx answers; see the notes)\n`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    await shutdown();
    process.exit(1);
  },
);
