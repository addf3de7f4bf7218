/**
 * Shared Signals streams and their undelivered events (storage/migrations/008_shared_signals.ts). Sorting outbox
 * events into a stream (`fanOut`), reading what it owes (`pending`) and acknowledging (`acknowledge`) run in the
 * caller's transaction; on PostgreSQL the poll locks its stream's row first, so two polls of one stream take
 * turns.
 */
import type { Knex } from 'knex';
import { eventFromRow, type EventRecord } from './events.js';

export type StreamStatus = 'enabled' | 'paused' | 'disabled';

/** SSF 1.0 §8.1.1 delivery methods: poll (RFC 8936), the default, and push (RFC 8935). */
export const POLL_METHOD = 'urn:ietf:rfc:8936';
export const PUSH_METHOD = 'urn:ietf:rfc:8935';
export type DeliveryMethod = typeof POLL_METHOD | typeof PUSH_METHOD;

/**
 * How a stream delivers. `sealedAuthorization` is the receiver's Authorization header sealed at rest
 * (ssf/push-authorization.ts): never logged nor returned, opened only to push.
 */
export type Delivery = { method: typeof POLL_METHOD } | { method: typeof PUSH_METHOD; endpointUrl: string; sealedAuthorization: string | null };

/** What push delivery did lately, for operators (`gatehouse streams show`); times in epoch milliseconds. */
export interface PushState {
  delivered: number;
  lastAttemptAt: number | null;
  lastSuccessAt: number | null;
  lastError: string | null;
  retryAt: number | null;
}

/** A SET that will not be pushed again: `rejected` by the receiver (RFC 8935 §2.3) or `dead` after the limit. */
export type PendingState = 'pending' | 'rejected' | 'dead';

/** A subject as a stream filters on it: a user (their sub), a session (sid) or an application (client_id). */
export interface SubjectKey {
  kind: 'user' | 'session' | 'application';
  value: string;
}

export interface StreamRecord {
  id: string;
  clientId: string;
  audience: string;
  eventsRequested: string[];
  description: string | null;
  status: StreamStatus;
  statusReason: string | null;
  cursor: number;
  createdAt: number;
  updatedAt: number;
  polledAt: number | null;
  delivery: Delivery;
  push: PushState;
}

interface StreamRow {
  id: string;
  client_id: string;
  audience: string;
  events_requested: string;
  description: string | null;
  status: StreamStatus;
  status_reason: string | null;
  cursor: number | string;
  created_at: number | string;
  updated_at: number | string;
  polled_at: number | string | null;
  delivery_method: DeliveryMethod;
  push_endpoint: string | null;
  push_authorization_sealed: string | null;
  push_delivered: number | string;
  push_last_attempt_at: number | string | null;
  push_last_success_at: number | string | null;
  push_last_error: string | null;
  push_retry_at: number | string | null;
}

const numberOrNull = (value: number | string | null): number | null => (value === null ? null : Number(value));

function fromRow(row: StreamRow): StreamRecord {
  return {
    id: row.id,
    clientId: row.client_id,
    audience: row.audience,
    eventsRequested: row.events_requested === '' ? [] : row.events_requested.split(' '),
    description: row.description,
    status: row.status,
    statusReason: row.status_reason,
    cursor: Number(row.cursor),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
    polledAt: row.polled_at === null ? null : Number(row.polled_at),
    delivery: row.delivery_method === PUSH_METHOD ? { method: PUSH_METHOD, endpointUrl: row.push_endpoint ?? '', sealedAuthorization: row.push_authorization_sealed } : { method: POLL_METHOD },
    push: {
      delivered: Number(row.push_delivered ?? 0),
      lastAttemptAt: numberOrNull(row.push_last_attempt_at),
      lastSuccessAt: numberOrNull(row.push_last_success_at),
      lastError: row.push_last_error,
      retryAt: numberOrNull(row.push_retry_at),
    },
  };
}

function deliveryColumns(delivery: Delivery): Record<string, unknown> {
  return delivery.method === PUSH_METHOD
    ? { delivery_method: PUSH_METHOD, push_endpoint: delivery.endpointUrl, push_authorization: null, push_authorization_sealed: delivery.sealedAuthorization, push_retry_at: null }
    : { delivery_method: POLL_METHOD, push_endpoint: null, push_authorization: null, push_authorization_sealed: null, push_retry_at: null };
}

/** The status reason of a stream the janitor disabled because its receiver went away. */
export const INACTIVE = 'inactive';

/** How many outbox events one fan-out step reads. */
const FAN_OUT_BATCH = 500;

export class StreamStore {
  constructor(private readonly db: Knex) {}

  async insert(stream: StreamRecord): Promise<void> {
    await this.db('ssf_streams').insert({
      id: stream.id,
      client_id: stream.clientId,
      audience: stream.audience,
      events_requested: stream.eventsRequested.join(' '),
      description: stream.description,
      status: stream.status,
      status_reason: stream.statusReason,
      cursor: stream.cursor,
      created_at: stream.createdAt,
      updated_at: stream.updatedAt,
      polled_at: stream.polledAt,
      ...deliveryColumns(stream.delivery),
    });
  }

  /** One stream; with `lock`, its row is locked until the transaction ends (PostgreSQL; SQLite has one writer). */
  async find(id: string, lock = false): Promise<StreamRecord | undefined> {
    if (id.includes('\0')) return undefined; // PostgreSQL refuses NUL in a text parameter
    const query = this.db<StreamRow>('ssf_streams').where({ id }).first();
    if (lock && this.db.client.config.client === 'pg') query.forUpdate();
    const row = await query;
    return row && fromRow(row);
  }

  /** The streams of one receiver, or all of them; oldest first. */
  async list(clientId?: string): Promise<StreamRecord[]> {
    const query = this.db<StreamRow>('ssf_streams').orderBy('created_at').orderBy('id');
    if (clientId !== undefined) query.where({ client_id: clientId });
    return (await query).map(fromRow);
  }

  async count(clientId: string): Promise<number> {
    const [row] = await this.db('ssf_streams').where({ client_id: clientId }).count<{ n: number | string }[]>({ n: '*' });
    return Number(row?.n ?? 0);
  }

  async update(id: string, changes: { eventsRequested?: string[]; description?: string | null; status?: StreamStatus; statusReason?: string | null; delivery?: Delivery }, now: number): Promise<boolean> {
    const update: Record<string, unknown> = { updated_at: now, ...(changes.delivery ? deliveryColumns(changes.delivery) : {}) };
    if (changes.eventsRequested !== undefined) update.events_requested = changes.eventsRequested.join(' ');
    if (changes.description !== undefined) update.description = changes.description;
    if (changes.status !== undefined) update.status = changes.status;
    if (changes.statusReason !== undefined) update.status_reason = changes.statusReason;
    return (await this.db('ssf_streams').where({ id }).update(update)) > 0;
  }

  /**
   * Seals the Authorization headers migration 009 stored in the clear (see 010_sealed_push_authorization.ts) and
   * clears them there; `reseal` re-seals sealed ones `seal` wants renewed (a rotated key secret). Each row changes
   * only if it is still as read, so two instances doing this at once do not undo each other. Returns how many
   * changed.
   */
  async sealAuthorizations(seal: (streamId: string, header: string) => string, reseal: (streamId: string, sealed: string) => string | undefined): Promise<number> {
    const rows: Array<{ id: string; push_authorization: string | null; push_authorization_sealed: string | null }> = await this.db('ssf_streams')
      .whereNotNull('push_authorization')
      .orWhereNotNull('push_authorization_sealed')
      .select('id', 'push_authorization', 'push_authorization_sealed');
    let changed = 0;
    for (const row of rows) {
      if (row.push_authorization !== null) {
        const sealed = seal(row.id, row.push_authorization);
        changed += await this.db('ssf_streams').where({ id: row.id, push_authorization: row.push_authorization }).update({ push_authorization: null, push_authorization_sealed: sealed });
      } else if (row.push_authorization_sealed !== null) {
        const renewed = reseal(row.id, row.push_authorization_sealed);
        if (renewed === undefined) continue;
        changed += await this.db('ssf_streams').where({ id: row.id, push_authorization_sealed: row.push_authorization_sealed }).update({ push_authorization_sealed: renewed });
      }
    }
    return changed;
  }

  async delete(id: string): Promise<boolean> {
    await this.db('ssf_pending').where({ stream_id: id }).delete();
    await this.db('ssf_excluded_subjects').where({ stream_id: id }).delete();
    return (await this.db('ssf_streams').where({ id }).delete()) > 0;
  }

  /**
   * Sorts the outbox events after the stream's cursor into it: those `wanted` become pending, the rest are
   * passed over, and the cursor moves past all of them. Returns how many became pending.
   */
  async fanOut(stream: StreamRecord, wanted: (event: EventRecord) => boolean, now: number): Promise<number> {
    let cursor = stream.cursor;
    let added = 0;
    for (;;) {
      const rows = await this.db('events').where('id', '>', cursor).orderBy('id').limit(FAN_OUT_BATCH);
      if (rows.length === 0) break;
      const events = rows.map(eventFromRow);
      const pending = events.filter(wanted).map((event) => ({ stream_id: stream.id, event_id: event.id }));
      if (pending.length > 0) await this.db('ssf_pending').insert(pending).onConflict(['stream_id', 'event_id']).ignore();
      added += pending.length;
      cursor = events[events.length - 1]!.id;
      if (rows.length < FAN_OUT_BATCH) break;
    }
    if (cursor !== stream.cursor) await this.db('ssf_streams').where({ id: stream.id }).update({ cursor, updated_at: now });
    stream.cursor = cursor;
    return added;
  }

  /** The events the stream owes, oldest first, at most `limit`; and whether there are more. */
  async pending(streamId: string, limit: number): Promise<{ events: EventRecord[]; more: boolean }> {
    if (limit <= 0) {
      const [row] = await this.db('ssf_pending').where({ stream_id: streamId, state: 'pending' }).count<{ n: number | string }[]>({ n: '*' });
      return { events: [], more: Number(row?.n ?? 0) > 0 };
    }
    const rows = await this.db('ssf_pending as p')
      .join('events as e', 'e.id', 'p.event_id')
      .where('p.stream_id', streamId)
      .where('p.state', 'pending')
      .orderBy('p.event_id')
      .limit(limit + 1)
      .select('e.*');
    return { events: rows.slice(0, limit).map(eventFromRow), more: rows.length > limit };
  }

  /** Forgets the pending events with these ids (acknowledged, or reported as errors); how many there were. */
  async acknowledge(streamId: string, eventIds: readonly number[]): Promise<number> {
    if (eventIds.length === 0) return 0;
    return this.db('ssf_pending').where({ stream_id: streamId }).whereIn('event_id', [...eventIds]).delete();
  }

  /** Stops delivering events about `subject` on the stream (SSF remove subject); false if it was removed already. */
  async excludeSubject(streamId: string, subject: SubjectKey): Promise<boolean> {
    const rows = await this.db('ssf_excluded_subjects')
      .insert({ stream_id: streamId, kind: subject.kind, value: subject.value })
      .onConflict(['stream_id', 'kind', 'value'])
      .ignore()
      .returning('value');
    return rows.length > 0;
  }

  /** Delivers events about `subject` again (SSF add subject). */
  async includeSubject(streamId: string, subject: SubjectKey): Promise<void> {
    await this.db('ssf_excluded_subjects').where({ stream_id: streamId, kind: subject.kind, value: subject.value }).delete();
  }

  async excludedSubjects(streamId: string): Promise<SubjectKey[]> {
    const rows: Array<{ kind: SubjectKey['kind']; value: string }> = await this.db('ssf_excluded_subjects').where({ stream_id: streamId }).select('kind', 'value');
    return rows.map((row) => ({ kind: row.kind, value: row.value }));
  }

  async countExcluded(streamId: string): Promise<number> {
    const [row] = await this.db('ssf_excluded_subjects').where({ stream_id: streamId }).count<{ n: number | string }[]>({ n: '*' });
    return Number(row?.n ?? 0);
  }

  /**
   * Streams not disabled whose receiver has done nothing with them since `before`: no poll, no change (a poll
   * or a receiver's change moves updated_at too), not created since. Push streams are never polled: they are not
   * judged by this (their undeliverable SETs are dead-lettered instead).
   */
  async listInactive(before: number): Promise<string[]> {
    const rows: StreamRow[] = await this.db<StreamRow>('ssf_streams').whereNot('status', 'disabled').whereNot('delivery_method', PUSH_METHOD).where('updated_at', '<', before);
    return rows
      .map(fromRow)
      .filter((stream) => Math.max(stream.createdAt, stream.updatedAt, stream.polledAt ?? 0) < before)
      .map((stream) => stream.id);
  }

  /** Deletes, a batch at a time, the streams disabled for inactivity (reason `inactive`) before `before`. */
  async deleteAbandoned(before: number, limit: number): Promise<number> {
    return this.db.transaction(async (trx): Promise<number> => {
      const rows: Array<{ id: string }> = await trx('ssf_streams')
        .where({ status: 'disabled', status_reason: INACTIVE })
        .where('updated_at', '<', before)
        .orderBy('id')
        .limit(limit)
        .select('id');
      if (rows.length === 0) return 0;
      const ids = rows.map((row) => row.id);
      await trx('ssf_pending').whereIn('stream_id', ids).delete();
      await trx('ssf_excluded_subjects').whereIn('stream_id', ids).delete();
      return trx('ssf_streams').whereIn('id', ids).delete();
    });
  }

  /** How many events the stream owes, and when the oldest of them happened. */
  async pendingSummary(streamId: string): Promise<{ count: number; oldest: number | null }> {
    const row: { n: number | string; oldest: number | string | null } | undefined = await this.db('ssf_pending as p')
      .join('events as e', 'e.id', 'p.event_id')
      .where('p.stream_id', streamId)
      .where('p.state', 'pending')
      .select(this.db.raw('COUNT(*) AS n'), this.db.raw('MIN(e.created_at) AS oldest'))
      .first();
    return { count: Number(row?.n ?? 0), oldest: row?.oldest === null || row?.oldest === undefined ? null : Number(row.oldest) };
  }

  /** SETs push delivery gave up on: rejected by the receiver, and dead-lettered after the attempt limit. */
  async undeliverableSummary(streamId: string): Promise<{ rejected: number; dead: number }> {
    const rows: Array<{ state: PendingState; n: number | string }> = await this.db('ssf_pending')
      .where({ stream_id: streamId })
      .whereIn('state', ['rejected', 'dead'])
      .groupBy('state')
      .select('state', this.db.raw('COUNT(*) AS n'));
    const count = (state: PendingState) => Number(rows.find((row) => row.state === state)?.n ?? 0);
    return { rejected: count('rejected'), dead: count('dead') };
  }

  /** Moves the cursor past every event up to `eventId`, none of them delivered. */
  async skipTo(streamId: string, eventId: number): Promise<void> {
    await this.db('ssf_streams').where({ id: streamId }).where('cursor', '<', eventId).update({ cursor: eventId });
  }

  async deleteAllPending(streamId: string): Promise<void> {
    await this.db('ssf_pending').where({ stream_id: streamId }).delete();
  }

  async markPolled(id: string, now: number): Promise<void> {
    await this.db('ssf_streams').where({ id }).update({ polled_at: now });
  }
}
