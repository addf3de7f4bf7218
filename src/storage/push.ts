/**
 * Push delivery's bookkeeping (RFC 8935; storage/migrations/009_ssf_push.ts): which push streams have work, the
 * lease that lets one worker at a time deliver a stream (so no SET is pushed by two instances at once, and a
 * stream's SETs go out in order), and the outcome of each attempt. Times here are epoch milliseconds.
 */
import type { Knex } from 'knex';
import { eventFromRow, type EventRecord } from './events.js';
import { PUSH_METHOD } from './streams.js';

export interface PendingPush {
  event: EventRecord;
  attempts: number;
}

export type AttemptOutcome =
  | { kind: 'delivered' }
  | { kind: 'rejected'; error: string }
  | { kind: 'failed'; error: string; retryAt: number }
  | { kind: 'dead'; error: string };

export class PushStore {
  constructor(private readonly db: Knex) {}

  /**
   * Leases up to `limit` enabled push streams that have work: outbox events not sorted in yet (cursor behind
   * `latestEventId`), or pending SETs whose retry time has come. A stream leased by another worker, live
   * (`push_lease_until` ahead), is passed over; on PostgreSQL its row is skipped, not waited for
   * (FOR UPDATE SKIP LOCKED), so instances claim different streams at once. SQLite has one writer.
   */
  async claim(owner: string, nowMs: number, leaseMs: number, latestEventId: number, limit: number, exclude: readonly string[]): Promise<string[]> {
    return this.db.transaction(async (trx) => {
      const query = trx('ssf_streams as s')
        .select('s.id')
        .where('s.delivery_method', PUSH_METHOD)
        .where('s.status', 'enabled')
        .where((q) => q.whereNull('s.push_lease_until').orWhere('s.push_lease_until', '<', nowMs))
        .where((q) =>
          q
            .where('s.cursor', '<', latestEventId)
            .orWhere((due) =>
              due
                .where((r) => r.whereNull('s.push_retry_at').orWhere('s.push_retry_at', '<=', nowMs))
                .whereExists((p) => p.select(trx.raw('1')).from('ssf_pending as p').whereRaw('p.stream_id = s.id').where('p.state', 'pending')),
            ),
        )
        .orderBy('s.id')
        .limit(limit);
      if (exclude.length > 0) query.whereNotIn('s.id', [...exclude]);
      if (trx.client.config.client === 'pg') query.forUpdate('s').skipLocked();
      const ids = (await query).map((row: { id: string }) => row.id);
      if (ids.length === 0) return [];
      // The lease condition again: a compare-and-set that holds even where the SELECT could not lock.
      await trx('ssf_streams')
        .whereIn('id', ids)
        .where((q) => q.whereNull('push_lease_until').orWhere('push_lease_until', '<', nowMs))
        .update({ push_lease_owner: owner, push_lease_until: nowMs + leaseMs });
      const mine: Array<{ id: string }> = await trx('ssf_streams').whereIn('id', ids).where({ push_lease_owner: owner }).select('id');
      return mine.map((row) => row.id);
    });
  }

  /** Extends the lease; false when it is no longer ours (it expired and another worker took the stream). */
  async renew(streamId: string, owner: string, nowMs: number, leaseMs: number): Promise<boolean> {
    const updated = await this.db('ssf_streams').where({ id: streamId, push_lease_owner: owner }).where('push_lease_until', '>=', nowMs).update({ push_lease_until: nowMs + leaseMs });
    return updated > 0;
  }

  async release(streamId: string, owner: string): Promise<void> {
    await this.db('ssf_streams').where({ id: streamId, push_lease_owner: owner }).update({ push_lease_owner: null, push_lease_until: null });
  }

  /** The stream's next SET to push: the oldest pending one (order is kept: a SET waits for those before it). */
  async head(streamId: string): Promise<PendingPush | undefined> {
    const row = await this.db('ssf_pending as p')
      .join('events as e', 'e.id', 'p.event_id')
      .where('p.stream_id', streamId)
      .where('p.state', 'pending')
      .orderBy('p.event_id')
      .select('e.*', 'p.attempts as push_attempts')
      .first();
    return row && { event: eventFromRow(row), attempts: Number(row.push_attempts) };
  }

  /** Records one attempt, if the lease is still `owner`'s; false otherwise (nothing is written). */
  async record(streamId: string, eventId: number, owner: string, nowMs: number, outcome: AttemptOutcome): Promise<boolean> {
    return this.db.transaction(async (trx) => {
      const lease = trx('ssf_streams').where({ id: streamId, push_lease_owner: owner }).first('id');
      if (trx.client.config.client === 'pg') lease.forUpdate();
      if (!(await lease)) return false;
      const pending = trx('ssf_pending').where({ stream_id: streamId, event_id: eventId });
      const stream = trx('ssf_streams').where({ id: streamId });
      switch (outcome.kind) {
        case 'delivered':
          await pending.delete();
          await stream.update({ push_delivered: trx.raw('push_delivered + 1'), push_last_attempt_at: nowMs, push_last_success_at: nowMs, push_retry_at: null });
          break;
        case 'rejected':
        case 'dead':
          await pending.update({ state: outcome.kind, attempts: trx.raw('attempts + 1'), last_attempt_at: nowMs, last_error: outcome.error });
          await stream.update({ push_last_attempt_at: nowMs, push_last_error: outcome.error, push_retry_at: null });
          break;
        case 'failed':
          await pending.update({ attempts: trx.raw('attempts + 1'), last_attempt_at: nowMs, last_error: outcome.error });
          await stream.update({ push_last_attempt_at: nowMs, push_last_error: outcome.error, push_retry_at: outcome.retryAt });
          break;
      }
      return true;
    });
  }

  /** The earliest retry time among enabled push streams with pending SETs (the worker's timer); null if none. */
  async nextRetryAt(): Promise<number | null> {
    const row = (await this.db('ssf_streams')
      .where({ delivery_method: PUSH_METHOD, status: 'enabled' })
      .whereNotNull('push_retry_at')
      .min('push_retry_at as at')
      .first()) as { at: number | string | null } | undefined;
    return row?.at === null || row?.at === undefined ? null : Number(row.at);
  }

  /** Whether any push stream exists at all (an idle worker only looks now and then). */
  async any(): Promise<boolean> {
    return (await this.db('ssf_streams').where({ delivery_method: PUSH_METHOD }).first('id')) !== undefined;
  }
}
