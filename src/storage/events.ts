/**
 * The event outbox: one row for every change that ends tokens early, written in the transaction of the change
 * (storage/migrations/007_events.ts). Readers follow `id`, which grows in commit order on both dialects.
 */
import type { Knex } from 'knex';

export type EventType =
  | 'session_revoked' // one session (session_id), or every session of a user (user_id alone), or of a user at a client
  | 'credential_change' // the user's password changed (their sessions ended with it)
  | 'account_disabled'
  | 'account_enabled'
  | 'client_disabled' // the client's tokens are all inactive
  | 'token_revoked' // one access token (jti) revoked at /revoke
  | 'key_revoked' // a signing key (kid) revoked: every token it signed is inactive
  | 'verification' // SSF verification, for one stream (stream_id)
  | 'stream_updated'; // SSF stream status changed, for one stream (stream_id)

/** CAEP 1.0 §2 initiating_entity. */
export type Initiator = 'admin' | 'user' | 'policy' | 'system';

export interface NewEvent {
  type: EventType;
  sessionId?: string | null;
  userId?: string | null;
  clientId?: string | null;
  jti?: string | null;
  kid?: string | null;
  streamId?: string | null;
  reason?: string | null;
  initiator?: Initiator | null;
  detail?: Record<string, string> | null;
}

export interface EventRecord {
  id: number;
  type: EventType;
  sessionId: string | null;
  userId: string | null;
  clientId: string | null;
  jti: string | null;
  kid: string | null;
  streamId: string | null;
  reason: string | null;
  initiator: Initiator | null;
  detail: Record<string, string> | null;
  createdAt: number;
}

interface EventRow {
  id: number | string;
  type: EventType;
  session_id: string | null;
  user_id: string | null;
  client_id: string | null;
  jti: string | null;
  kid: string | null;
  stream_id: string | null;
  reason: string | null;
  initiator: Initiator | null;
  detail: string | null;
  created_at: number | string;
}

export function eventFromRow(row: EventRow): EventRecord {
  return {
    id: Number(row.id),
    type: row.type,
    sessionId: row.session_id,
    userId: row.user_id,
    clientId: row.client_id,
    jti: row.jti,
    kid: row.kid,
    streamId: row.stream_id,
    reason: row.reason,
    initiator: row.initiator,
    detail: row.detail === null ? null : (JSON.parse(row.detail) as Record<string, string>),
    createdAt: Number(row.created_at),
  };
}

/** The columns of a new event, for knex and for the prepared statement of the SQLite refresh rotation. */
export function eventRow(event: NewEvent, now: number): Omit<EventRow, 'id'> {
  return {
    type: event.type,
    session_id: event.sessionId ?? null,
    user_id: event.userId ?? null,
    client_id: event.clientId ?? null,
    jti: event.jti ?? null,
    kid: event.kid ?? null,
    stream_id: event.streamId ?? null,
    reason: event.reason ?? null,
    initiator: event.initiator ?? null,
    detail: event.detail ? JSON.stringify(event.detail) : null,
    created_at: now,
  };
}

export const INSERT_EVENT_SQL =
  'INSERT INTO events (type, session_id, user_id, client_id, jti, kid, stream_id, reason, initiator, detail, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** An arbitrary constant ("evts"): the advisory lock that orders event ids by commit on PostgreSQL. */
export const EVENT_ORDER_LOCK = 0x6576_7473;
/** The NOTIFY channel; the payload is the schema, so deployments sharing a database wake only their own. */
export const EVENT_CHANNEL = 'gatehouse_events';

export class EventStore {
  /** Set once this store (bound to a transaction) wrote an event: Store.transaction wakes waiters after COMMIT. */
  wrote = false;

  constructor(private readonly db: Knex) {}

  /**
   * Appends events inside the caller's transaction; refuses to run outside one, where the change and its event
   * could be split by a crash.
   */
  async append(now: number, ...events: NewEvent[]): Promise<void> {
    if (events.length === 0) return;
    if (!this.db.isTransaction) throw new Error('events are written in the transaction of their change');
    if (this.db.client.config.client === 'pg') {
      // Held until COMMIT: ids are drawn in commit order, so a reader past id n never misses a smaller one.
      await this.db.raw('SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))', [EVENT_ORDER_LOCK]);
      await this.db('events').insert(events.map((event) => eventRow(event, now)));
      // Delivered at COMMIT, to every instance listening, and never if the transaction rolls back.
      await this.db.raw('SELECT pg_notify(?, current_schema())', [EVENT_CHANNEL]);
    } else {
      await this.db('events').insert(events.map((event) => eventRow(event, now)));
    }
    this.wrote = true;
  }

  /** Events after `afterId`, oldest first. */
  async after(afterId: number, limit: number): Promise<EventRecord[]> {
    const rows: EventRow[] = await this.db('events').where('id', '>', afterId).orderBy('id').limit(limit);
    return rows.map(eventFromRow);
  }

  /** The newest event's id, 0 when there is none. */
  async latestId(): Promise<number> {
    const row = await this.db('events').max('id as id').first();
    return Number(row?.id ?? 0);
  }

  /** Whether an event of `type` has an id in (afterId, upTo]. */
  async anyOfType(type: EventType, afterId: number, upTo: number): Promise<boolean> {
    if (upTo <= afterId) return false;
    const row = await this.db('events').where('id', '>', afterId).where('id', '<=', upTo).where({ type }).first('id');
    return row !== undefined;
  }

  /** How many events have an id in (afterId, upTo]. */
  async countAfter(afterId: number, upTo: number): Promise<number> {
    if (upTo <= afterId) return 0;
    const [row] = await this.db('events').where('id', '>', afterId).where('id', '<=', upTo).count<{ n: number | string }[]>({ n: '*' });
    return Number(row?.n ?? 0);
  }

  /** Events written before `before`, a batch at a time (the janitor). */
  async deleteOlderThan(before: number, limit: number): Promise<number> {
    return this.db.transaction(async (trx): Promise<number> => {
      const rows: Array<{ id: number | string }> = await trx('events').select('id').where('created_at', '<', before).orderBy('id').limit(limit);
      if (rows.length === 0) return 0;
      const ids = rows.map((row) => Number(row.id));
      // Deliveries still waiting for them go too: a receiver away longer than the retention misses them.
      await trx('ssf_pending').whereIn('event_id', ids).delete();
      return trx('events').whereIn('id', ids).delete();
    });
  }
}
