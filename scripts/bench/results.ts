/**
 * What a run produces: one row per scenario (or per measured variant of one), with its measurement, the CPU and
 * memory of the servers around it, and notes. The table, the targets and the JSON are all read from these rows.
 */
import type { Measurement } from './load.js';

export interface ServerUse {
  /** CPU cores the server process used during the measured run (all its threads). */
  cores: number;
  /** CPU cores of the bench process (the load generator). */
  benchCores?: number;
  /** CPU cores of the PostgreSQL server processes (with --db postgres://…). */
  dbCores?: number;
  /** CPU cores used by every other process on the machine (interference: other work on a shared machine). */
  otherCores?: number;
  rssStartMb: number;
  rssEndMb: number;
}

export type Dialect = 'sqlite' | 'postgres';
export const DIALECT_NAMES: Record<Dialect, string> = { sqlite: 'SQLite', postgres: 'PostgreSQL' };

export interface Row {
  id: string;
  /** The issuer's database, for the issuer's rows. */
  db?: Dialect;
  scenario: string;
  measured?: Measurement;
  /** Errors outside the measured run: its warm-up, runs discarded for interference, concurrent side load. */
  warmupErrors?: number;
  server?: ServerUse;
  /** Why it did not run (not a failure). */
  skipped?: string;
  /** Why it could not run (a failure). */
  failed?: string;
  /** Counts a target reads besides the measurement (e.g. introspections for tokens already accepted). */
  counts?: Record<string, number>;
  notes: string[];
}

/**
 * The first measured row of scenario `id` (and of that display name, when given); `db` picks the issuer's
 * database (default: whichever ran first).
 */
export function rowById(rows: readonly Row[], id: string, scenario?: string, db?: Dialect): Row | undefined {
  return rows.find((row) => row.id === id && (scenario === undefined || row.scenario === scenario) && (db === undefined || row.db === db) && row.measured);
}

/** Rows that make the bench exit 1: a scenario that could not run, or any error in or around its measured run. */
export function failedRows(rows: readonly Row[]): Row[] {
  return rows.filter((row) => row.failed !== undefined || (row.measured && row.measured.errors + (row.warmupErrors ?? 0) > 0));
}

export function describeErrors(m: Measurement): string {
  const parts: string[] = [];
  if (m.non2xx > 0) parts.push(`${m.non2xx} non-2xx (${Object.entries(m.statusCodes).filter(([code]) => !code.startsWith('2')).map(([code, count]) => `${code}×${count}`).join(', ')})`);
  if (m.socketErrors > 0) parts.push(`${m.socketErrors} socket errors (${m.timeouts} timeouts)`);
  if (m.mismatches > 0) parts.push(`${m.mismatches} 2xx answers with an unexpected body`);
  return parts.join('; ');
}
