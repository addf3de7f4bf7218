import type { Knex } from 'knex';

export type SessionEndReason =
  | 'admin' // ended through the admin API or the CLI
  | 'revoked' // its refresh token was revoked at /revoke (logout)
  | 'refresh_reuse' // a rotated refresh token came back: presumed stolen (RFC 9700 §4.14.2)
  | 'password_changed'
  | 'user_disabled'
  | 'client_disabled';

export interface SessionRecord {
  id: string;
  userId: string;
  clientId: string;
  scope: string[];
  audience: string;
  createdAt: number;
  expiresAt: number;
  endedAt: number | null;
  endReason: SessionEndReason | null;
}

/** A live session with its user's name, as `sessions list` and the admin API show it. */
export interface SessionListing {
  sid: string;
  username: string;
  clientId: string;
  createdAt: number;
  expiresAt: number;
}

interface SessionRow {
  id: string;
  user_id: string;
  client_id: string;
  scope: string;
  audience: string;
  created_at: number;
  expires_at: number;
  ended_at: number | null;
  end_reason: SessionEndReason | null;
}

function fromRow(row: SessionRow): SessionRecord {
  return {
    id: row.id,
    userId: row.user_id,
    clientId: row.client_id,
    scope: row.scope === '' ? [] : row.scope.split(' '),
    audience: row.audience,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    endReason: row.end_reason,
  };
}

export class SessionStore {
  constructor(private readonly db: Knex) {}

  async insert(session: SessionRecord): Promise<void> {
    await this.db('sessions').insert({
      id: session.id,
      user_id: session.userId,
      client_id: session.clientId,
      scope: session.scope.join(' '),
      audience: session.audience,
      created_at: session.createdAt,
      expires_at: session.expiresAt,
      ended_at: session.endedAt,
      end_reason: session.endReason,
    });
  }

  async find(id: string): Promise<SessionRecord | undefined> {
    if (id.includes('\0')) return undefined; // PostgreSQL refuses NUL in a text parameter
    const row = await this.db<SessionRow>('sessions').where({ id }).first();
    return row && fromRow(row);
  }

  /** Sessions that are neither ended nor past their absolute end, oldest first. */
  async listLive(now: number, filter: { userId?: string } = {}): Promise<SessionListing[]> {
    const query = this.db('sessions as s')
      .join('users as u', 'u.id', 's.user_id')
      .whereNull('s.ended_at')
      .where('s.expires_at', '>', now)
      .select('s.id as sid', 'u.username', 's.client_id', 's.created_at', 's.expires_at')
      .orderBy('s.created_at')
      .orderBy('s.id');
    if (filter.userId !== undefined) query.where('s.user_id', filter.userId);
    const rows: Array<{ sid: string; username: string; client_id: string; created_at: number; expires_at: number }> =
      await query;
    return rows.map((row) => ({
      sid: row.sid,
      username: row.username,
      clientId: row.client_id,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
    }));
  }

  /** Ends one session; true if it was live until now. Ending an ended session changes nothing. */
  async end(id: string, now: number, reason: SessionEndReason): Promise<boolean> {
    const updated = await this.db('sessions').where({ id }).whereNull('ended_at').update({ ended_at: now, end_reason: reason });
    return updated > 0;
  }

  /** Ends every live session of a user (or of a client); returns how many were ended. */
  async endAll(owner: { userId: string } | { clientId: string }, now: number, reason: SessionEndReason): Promise<number> {
    const where = 'userId' in owner ? { user_id: owner.userId } : { client_id: owner.clientId };
    return this.db('sessions').where(where).whereNull('ended_at').update({ ended_at: now, end_reason: reason });
  }
}
