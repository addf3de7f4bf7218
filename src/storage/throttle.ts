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

  /**
   * The counters for `keys`, locked until the transaction ends (call it inside one): a missing counter is created
   * at zero first, so that there is a row to lock. On SQLite the transaction holds the database's write lock
   * already (BEGIN IMMEDIATE); on PostgreSQL the rows are locked with FOR UPDATE, in key order so that two
   * transactions locking overlapping sets cannot deadlock.
   */
  async lock(keys: readonly string[]): Promise<Map<string, ThrottleRow>> {
    const sorted = [...new Set(keys)].sort();
    if (sorted.length === 0) return new Map();
    const zero = sorted.map((key) => ({ key, failures: 0, last_failure_at: 0, blocked_until: 0 }));
    // A row deleted by another transaction (the janitor's clean-up) while this one waited for its lock is not
    // returned: it is created again and locked then. Twice in a row is as unlikely as it gets.
    for (let attempt = 1; ; attempt++) {
      await this.db('throttle').insert(zero).onConflict('key').ignore();
      const query = this.db('throttle').whereIn('key', sorted).orderBy('key');
      if (this.db.client.config.client === 'pg') query.forUpdate();
      const rows: Row[] = await query;
      if (rows.length === sorted.length || attempt === 3) return new Map(rows.map((row) => [row.key, fromRow(row)]));
    }
  }

  async save(row: ThrottleRow): Promise<void> {
    await this.db('throttle')
      .insert({ key: row.key, failures: row.failures, last_failure_at: row.lastFailureAt, blocked_until: row.blockedUntil })
      .onConflict('key')
      .merge(['failures', 'last_failure_at', 'blocked_until']);
  }

  /** Counters idle since before `before`: the janitor's. */
  deleteIdle(before: number, limit: number): Promise<number> {
    const batch = this.db('throttle').select('key').where('last_failure_at', '<', before).limit(limit);
    return this.db('throttle').whereIn('key', batch).delete();
  }
}
