import type { Knex } from 'knex';

export interface ThrottleRow {
  key: string;
  failures: number;
  lastFailureAt: number;
  blockedUntil: number;
}

interface Row {
  key: string;
  failures: number;
  last_failure_at: number;
  blocked_until: number;
}

const fromRow = (row: Row): ThrottleRow => ({
  key: row.key,
  failures: Number(row.failures),
  lastFailureAt: Number(row.last_failure_at),
  blockedUntil: Number(row.blocked_until),
});

/** Failure counters keyed by a hash of what they count (never the raw username or address). */
export class ThrottleStore {
  constructor(private readonly db: Knex) {}

  async find(keys: readonly string[]): Promise<ThrottleRow[]> {
    if (keys.length === 0) return [];
    const rows: Row[] = await this.db('throttle').whereIn('key', keys);
    return rows.map(fromRow);
  }

  async save(row: ThrottleRow): Promise<void> {
    await this.db('throttle')
      .insert({ key: row.key, failures: row.failures, last_failure_at: row.lastFailureAt, blocked_until: row.blockedUntil })
      .onConflict('key')
      .merge(['failures', 'last_failure_at', 'blocked_until']);
  }

  async delete(keys: readonly string[]): Promise<void> {
    if (keys.length > 0) await this.db('throttle').whereIn('key', keys).delete();
  }

  /** Counters idle since before `before`: the janitor's. */
  deleteIdle(before: number, limit: number): Promise<number> {
    const batch = this.db('throttle').select('key').where('last_failure_at', '<', before).limit(limit);
    return this.db('throttle').whereIn('key', batch).delete();
  }
}
