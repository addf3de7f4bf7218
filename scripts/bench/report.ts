/**
 * What a run reports: the table printed at the end (with the CPU use of each run, the notes and the targets) and
 * the same as JSON in bench-results/, with the machine, the commit and the options it ran with.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './paths.js';
import { DIALECT_NAMES, rowById, type Dialect, type Row } from './results.js';
import { DISTURBED_CORES, type Runner } from './runner.js';
import type { IssuerProfile } from './scenarios/issuer.js';
import { evaluateTargets } from './targets.js';

const dialectOf = (db: string): Dialect => (db === 'sqlite' ? 'sqlite' : 'postgres');
const fmt = (value: number | undefined, digits: number) => (value === undefined || Number.isNaN(value) ? '—' : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits }));

export function formatTable({ options, rows, countPostgres }: Runner): string {
  const http = rowById(rows, 'ceiling-http')?.measured?.rps;
  const header = ['scenario', 'req/s', 'p50 ms', 'p99 ms', 'errors', '× node:http'];
  const lines: string[][] = [];
  // With several databases, each issuer row names its own.
  const name = (row: Row) => (options.dbs.length > 1 && row.db ? `${row.scenario} [${DIALECT_NAMES[row.db]}]` : row.scenario);
  for (const row of rows) {
    const m = row.measured;
    if (!m) {
      lines.push([name(row), row.skipped ? `skipped: ${row.skipped}` : `FAILED: ${row.failed ?? 'no measurement'}`]);
      continue;
    }
    lines.push([name(row), fmt(m.rps, 0), fmt(m.p50, 2), fmt(m.p99, 2), String(m.errors + (row.warmupErrors ?? 0)), http ? fmt(m.rps / http, 2) : '—']);
  }
  const widths = header.map((title, i) => Math.max(title.length, ...lines.filter((line) => line.length > 2).map((line) => (line[i] ?? '').length)));
  const render = (cells: string[]) =>
    cells.length === 2 ? `${cells[0]!.padEnd(widths[0]!)}  ${cells[1]}` : cells.map((cell, i) => (i === 0 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ');
  const out: string[] = [];
  out.push(
    `Gatehouse benchmark — ${options.connections} connections, ${options.duration} s per run after ${options.warmup} s of warm-up, ${options.sessions.toLocaleString('en-US')} sessions preloaded, ${options.dbs.map((db) => DIALECT_NAMES[dialectOf(db)]).join(' then ')}${options.workers === undefined ? '' : `, GATEHOUSE_WORKERS=${options.workers}`}`,
  );
  out.push(`${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, load generator: ${options.generator === 'process' ? 'autocannon in a process of its own' : 'autocannon in the bench process'}, on the same machine`);
  out.push('');
  out.push(render(header));
  out.push(widths.map((width) => '-'.repeat(width)).join('  '));
  for (const line of lines) out.push(render(line));

  const used = rows.filter((row) => row.server);
  if (used.length > 0) {
    out.push('', `CPU cores used during the measured run by the server (all its threads), the load generator${countPostgres ? ', PostgreSQL' : ''} and every other process; server RSS start → end:`);
    for (const row of used) {
      const use = row.server!;
      out.push(
        `  ${name(row).padEnd(widths[0]!)}  server ${use.cores.toFixed(2)}  bench ${fmt(use.benchCores, 2)}${use.dbCores === undefined ? '' : `  postgres ${use.dbCores.toFixed(2)}`}  other ${fmt(use.otherCores, 2)}  RSS ${use.rssStartMb.toFixed(0)} → ${use.rssEndMb.toFixed(0)} MiB`,
      );
    }
    const disturbed = used.filter((row) => (row.server!.otherCores ?? 0) > DISTURBED_CORES);
    if (disturbed.length > 0) {
      out.push(`  ! other processes used more than ${DISTURBED_CORES} cores during: ${disturbed.map(name).join(', ')}; those figures are low (try --settle 60)`);
    }
  }
  const notes = rows.filter((row) => row.notes.length > 0);
  if (notes.length > 0) {
    out.push('', 'Notes:');
    for (const row of notes) for (const note of row.notes) out.push(`  ${name(row)}: ${note}`);
  }
  const targets = evaluateTargets(rows);
  out.push('', 'Targets (informative: the bench never fails on speed):');
  let group = '';
  for (const target of targets) {
    if (target.group !== group) out.push(`  ${(group = target.group)}`);
    out.push(`    ${target.met === undefined ? '·' : target.met ? '✓' : '✗'} ${target.target.padEnd(58)} ${target.value}`);
  }
  return out.join('\n');
}

function gitDescription(): string | undefined {
  try {
    const git = (args: string[]) => execFileSync('git', args, { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const commit = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--untracked-files=no']) !== '';
    return dirty ? `${commit} (with uncommitted changes)` : commit;
  } catch {
    return undefined;
  }
}

/** Writes bench-results/bench-<stamp>.json (or --out's); returns its path and the run's elapsed seconds. */
export function writeJsonReport(runner: Runner, run: { stamp: string; started: number; profile: IssuerProfile | undefined }): { file: string; elapsedSeconds: number } {
  const { options, rows } = runner;
  const { profile } = run;
  mkdirSync(options.out, { recursive: true });
  const file = join(options.out, `bench-${run.stamp}.json`);
  const report = {
    date: new Date(run.started).toISOString(),
    command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpu: cpus()[0]?.model, cores: cpus().length, memoryGiB: Math.round(totalmem() / 2 ** 30), kernel: release(), node: process.version },
    commit: gitDescription(),
    // The database URLs stay out of the report (one may hold a password): their dialects say enough.
    options: { ...options, scenarios: [...options.scenarios], dbs: options.dbs.map(dialectOf) },
    loadGenerator: `autocannon (${options.generator === 'process' ? 'a process of its own per run' : 'in the bench process'}, same machine), keep-alive, 1 request in flight per connection`,
    rows: rows.map((row) => {
      const http = rowById(rows, 'ceiling-http')?.measured?.rps;
      return { ...row, ratioToNodeHttp: row.measured && http ? row.measured.rps / http : undefined };
    }),
    targets: evaluateTargets(rows),
    profile: profile && { ...profile.summary, file: profile.file },
    elapsedSeconds: Math.round((Date.now() - run.started) / 1000),
  };
  writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
  return { file, elapsedSeconds: report.elapsedSeconds };
}
