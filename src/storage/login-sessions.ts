import type { Knex } from 'knex';

export type LoginSessionEndReason =
  | 'logout' // the user logged out at /logout
  | 'admin' // ended through the admin API or the CLI
  | 'password_changed'
  | 'user_disabled'
  | 'replaced'; // another user logged in in the same browser

/**
 * The issuer's own session: a browser that logged in at the login page. The cookie holds a random value, of which
 * only the SHA-256 is stored; a new login in the same browser replaces it (no session fixation).
 */
export interface LoginSessionRecord {
  id: string;
  tokenHash: string;
  userId: string;
  createdAt: number;
  /** When the password was last checked: what `max_age` and `prompt=login` look at. */
  authenticatedAt: number;
  expiresAt: number;
  endedAt: number | null;
  endReason: LoginSessionEndReason | null;
}

/** A login session with what deciding about it needs: its user's name and state. */
export interface LoginSessionWithUser extends LoginSessionRecord {
  username: string;
  userDisabled: boolean;
}

interface Row {
  id: string;
  token_hash: string;
  user_id: string;
  created_at: number;
  authenticated_at: number;
  expires_at: number;
  ended_at: number | null;
  end_reason: LoginSessionEndReason | null;
}

const optional = (value: number | string | null) => (value === null ? null : Number(value));

function fromRow(row: Row): LoginSessionRecord {
  return {
    id: row.id,
    tokenHash: row.token_hash,
    userId: row.user_id,
    createdAt: Number(row.created_at),
    authenticatedAt: Number(row.authenticated_at),
    expiresAt: Number(row.expires_at),
    endedAt: optional(row.ended_at),
    endReason: row.end_reason,
  };
}

export class LoginSessionStore {
  constructor(private readonly db: Knex) {}

  async insert(session: LoginSessionRecord): Promise<void> {
    await this.db('login_sessions').insert({
      id: session.id,
      token_hash: session.tokenHash,
      user_id: session.userId,
      created_at: session.createdAt,
      authenticated_at: session.authenticatedAt,
      expires_at: session.expiresAt,
      ended_at: session.endedAt,
      end_reason: session.endReason,
    });
  }

  /** The login session a cookie names (by the hash of its value), with its user. */
  async findByTokenHash(tokenHash: string): Promise<LoginSessionWithUser | undefined> {
    const row = await this.db('login_sessions as l')
      .join('users as u', 'u.id', 'l.user_id')
      .where('l.token_hash', tokenHash)
      .first('l.*', 'u.username as username', 'u.disabled_at as user_disabled_at');
    return row && { ...fromRow(row as Row), username: row.username, userDisabled: row.user_disabled_at !== null };
  }

  async find(id: string): Promise<LoginSessionRecord | undefined> {
    if (id.includes('\0')) return undefined; // PostgreSQL refuses NUL in a text parameter
    const row = await this.db<Row>('login_sessions').where({ id }).first();
    return row && fromRow(row);
  }

  /**
   * Reads a login session inside the transaction that opens a token session through it. On PostgreSQL the row is
   * locked FOR SHARE: ending it (which updates this row first, then the sessions that carry its id) either waits
   * for this transaction, and then also ends the session opened here, or has committed and is seen here. SQLite
   * write transactions hold the database lock already.
   */
  async lockForUse(id: string): Promise<LoginSessionRecord | undefined> {
    const query = this.db<Row>('login_sessions').where({ id }).first();
    if (this.db.client.config.client === 'pg') query.forShare();
    const row = await query;
    return row && fromRow(row);
  }

  /**
   * A new password check in the browser of a live login session of the same user: the cookie value is replaced
   * (whoever knew the old one is out) and the session is renewed. False when it ended meanwhile.
   */
  async reauthenticate(id: string, tokenHash: string, now: number, expiresAt: number): Promise<boolean> {
    const updated = await this.db('login_sessions')
      .where({ id })
      .whereNull('ended_at')
      .update({ token_hash: tokenHash, authenticated_at: now, expires_at: expiresAt });
    return updated === 1;
  }

  /** Ends one login session; true if it was live until now. (The caller ends the sessions opened through it.) */
  async end(id: string, now: number, reason: LoginSessionEndReason): Promise<boolean> {
    const updated = await this.db('login_sessions').where({ id }).whereNull('ended_at').update({ ended_at: now, end_reason: reason });
    return updated === 1;
  }

  /** Ends every live login session of a user; returns how many. */
  endAllOfUser(userId: string, now: number, reason: LoginSessionEndReason): Promise<number> {
    return this.db('login_sessions').where({ user_id: userId }).whereNull('ended_at').update({ ended_at: now, end_reason: reason });
  }
}
