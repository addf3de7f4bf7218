import type { Knex } from 'knex';

export type SessionEndReason =
  | 'admin' // ended through the admin API or the CLI
  | 'revoked' // its refresh token was revoked at /revoke (logout)
  | 'refresh_reuse' // a rotated refresh token came back: presumed stolen (RFC 9700 §4.14.2)
  | 'password_changed'
  | 'user_disabled'
  | 'client_disabled'
  | 'code_reuse' // the authorization code it was opened with came back (RFC 6749 §4.1.2)
  | 'logout' // its login session was ended at /logout
  | 'consent_revoked' // the user's consent to this (third-party) client was revoked
  | 'replaced'; // another user logged in in the browser of its login session

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
  /** The issuer login session (browser) it was opened through; null for the password grant. */
  loginSessionId: string | null;
}

/** A live session with its user's name, as `sessions list` and the admin API show it. */
export interface SessionListing {
  sid: string;
  username: string;
  clientId: string;
  createdAt: number;
  expiresAt: number;
  loginSessionId: string | null;
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
  login_session_id: string | null;
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
    loginSessionId: row.login_session_id ?? null,
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
      login_session_id: session.loginSessionId,
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
      .select('s.id as sid', 'u.username', 's.client_id', 's.created_at', 's.expires_at', 's.login_session_id')
      .orderBy('s.created_at')
      .orderBy('s.id');
    if (filter.userId !== undefined) query.where('s.user_id', filter.userId);
    const rows: Array<{ sid: string; username: string; client_id: string; created_at: number; expires_at: number; login_session_id: string | null }> =
      await query;
    return rows.map((row) => ({
      sid: row.sid,
      username: row.username,
      clientId: row.client_id,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      loginSessionId: row.login_session_id,
    }));
  }

  /** Ends one session; true if it was live until now. Ending an ended session changes nothing. */
  async end(id: string, now: number, reason: SessionEndReason): Promise<boolean> {
    const updated = await this.db('sessions').where({ id }).whereNull('ended_at').update({ ended_at: now, end_reason: reason });
    return updated > 0;
  }

  /**
   * Ends every live session of a user, of a client, of a user at one client, or opened through one login
   * session; returns how many were ended.
   */
  async endAll(
    owner: { userId: string; clientId?: string } | { clientId: string } | { loginSessionId: string },
    now: number,
    reason: SessionEndReason,
  ): Promise<number> {
    return (await this.endAllListed(owner, now, reason)).length;
  }

  /** endAll, answering which sessions it ended: exactly those, also against a concurrent end (RETURNING). */
  async endAllListed(
    owner: { userId: string; clientId?: string } | { clientId: string } | { loginSessionId: string },
    now: number,
    reason: SessionEndReason,
  ): Promise<Array<{ id: string; userId: string; clientId: string }>> {
    const where =
      'loginSessionId' in owner
        ? { login_session_id: owner.loginSessionId }
        : 'userId' in owner
          ? { user_id: owner.userId, ...(owner.clientId === undefined ? {} : { client_id: owner.clientId }) }
          : { client_id: owner.clientId };
    const rows: Array<{ id: string; user_id: string; client_id: string }> = await this.db('sessions')
      .where(where)
      .whereNull('ended_at')
      .update({ ended_at: now, end_reason: reason })
      .returning(['id', 'user_id', 'client_id']);
    return rows.map((row) => ({ id: row.id, userId: row.user_id, clientId: row.client_id }));
  }
}
