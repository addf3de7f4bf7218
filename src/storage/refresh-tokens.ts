import type { Knex } from 'knex';
import type { SessionRecord } from './sessions.js';

export interface RefreshTokenRecord {
  tokenHash: string;
  sessionId: string;
  /** The token this one was minted from by a refresh; null for the first of a session. */
  parentHash: string | null;
  createdAt: number;
  expiresAt: number;
  rotatedAt: number | null;
}

/** A stored token with what its family says about it. */
export interface StoredRefreshToken extends RefreshTokenRecord {
  /** When a token minted from this one was first used: from then on this one may not be replayed. */
  childUsedAt: number | null;
  /** When a sibling (minted from the same parent) was used first: this one may never be used. */
  supersededAt: number | null;
}

interface RefreshTokenRow {
  token_hash: string;
  session_id: string;
  parent_hash: string | null;
  created_at: number;
  expires_at: number;
  rotated_at: number | null;
  child_used_at: number | null;
  superseded_at: number | null;
}

/** A refresh token with what a refresh needs to decide: its session and the session's user. */
const optionalNumber = (value: number | string | null) => (value === null ? null : Number(value));

function fromRow(row: RefreshTokenRow): StoredRefreshToken {
  return {
    tokenHash: row.token_hash,
    sessionId: row.session_id,
    parentHash: row.parent_hash,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    rotatedAt: optionalNumber(row.rotated_at),
    childUsedAt: optionalNumber(row.child_used_at),
    supersededAt: optionalNumber(row.superseded_at),
  };
}

/** Shared by the knex path and the SQLite prepared statement (storage/refresh-rotation.ts). */
export const FIND_WITH_SESSION_SQL = `
  SELECT t.token_hash, t.session_id, t.parent_hash, t.created_at, t.expires_at, t.rotated_at, t.child_used_at, t.superseded_at,
         s.user_id AS s_user_id, s.client_id AS s_client_id, s.scope AS s_scope, s.audience AS s_audience,
         s.created_at AS s_created_at, s.expires_at AS s_expires_at, s.ended_at AS s_ended_at, s.end_reason AS s_end_reason,
         s.login_session_id AS s_login_session_id,
         u.username AS u_username, u.disabled_at AS u_disabled_at
  FROM refresh_tokens t
  JOIN sessions s ON s.id = t.session_id
  JOIN users u ON u.id = s.user_id
  WHERE t.token_hash = ?`;

export function contextFromRow(row: Record<string, any>): RefreshTokenContext {
  const num = (value: unknown) => (value === null ? null : Number(value));
  return {
    token: fromRow(row as RefreshTokenRow),
    session: {
      id: row.session_id,
      userId: row.s_user_id,
      clientId: row.s_client_id,
      scope: row.s_scope === '' ? [] : String(row.s_scope).split(' '),
      audience: row.s_audience,
      createdAt: Number(row.s_created_at),
      expiresAt: Number(row.s_expires_at),
      endedAt: num(row.s_ended_at),
      endReason: row.s_end_reason,
      loginSessionId: row.s_login_session_id ?? null,
    },
    user: { id: row.s_user_id, username: row.u_username, disabledAt: num(row.u_disabled_at) },
  };
}

export interface RefreshTokenContext {
  token: StoredRefreshToken;
  session: SessionRecord;
  user: { id: string; username: string; disabledAt: number | null };
}

export class RefreshTokenStore {
  constructor(private readonly db: Knex) {}

  async insert(token: RefreshTokenRecord): Promise<void> {
    await this.db('refresh_tokens').insert({
      token_hash: token.tokenHash,
      session_id: token.sessionId,
      parent_hash: token.parentHash,
      created_at: token.createdAt,
      expires_at: token.expiresAt,
      rotated_at: token.rotatedAt,
    });
  }

  async find(tokenHash: string): Promise<StoredRefreshToken | undefined> {
    const row = await this.db<RefreshTokenRow>('refresh_tokens').where({ token_hash: tokenHash }).first();
    return row && fromRow(row);
  }

  /** The token, its session and its user in one indexed read (the first step of every refresh). */
  async findWithSession(tokenHash: string): Promise<RefreshTokenContext | undefined> {
    const result: unknown = await this.db.raw(FIND_WITH_SESSION_SQL, [tokenHash]);
    // knex.raw answers an array of rows on SQLite and a pg result on PostgreSQL.
    const rows = Array.isArray(result) ? result : (result as { rows: unknown[] }).rows;
    const row = rows[0] as Record<string, unknown> | undefined;
    return row && contextFromRow(row);
  }

  /**
   * Marks the token consumed, only if nobody consumed it before: the conditional UPDATE is the atomic step of
   * rotation, so of two concurrent refreshes exactly one sees `true`.
   */
  async markRotated(tokenHash: string, now: number): Promise<boolean> {
    const updated = await this.db('refresh_tokens').where({ token_hash: tokenHash }).whereNull('rotated_at').update({ rotated_at: now });
    return updated === 1;
  }

  /**
   * Records on `parentHash` that a token minted from it was used (its first use only), which also locks the
   * parent's row: every step of a family goes through its parent first, so two of them cannot interleave.
   */
  async markChildUsed(parentHash: string, now: number): Promise<void> {
    await this.db('refresh_tokens')
      .where({ token_hash: parentHash })
      .update({ child_used_at: this.db.raw('COALESCE(child_used_at, ?)', [now]) });
  }

  /** The other unused tokens minted from `parentHash` than `used`: never usable from now on. */
  async supersedeSiblings(parentHash: string, used: string, now: number): Promise<void> {
    await this.db('refresh_tokens')
      .where({ parent_hash: parentHash })
      .whereNot({ token_hash: used })
      .whereNull('rotated_at')
      .update({ rotated_at: now, superseded_at: now });
  }

  /**
   * A replay within the grace period may mint another successor only while no successor of the token has been
   * used. The conditional UPDATE is that check, atomically, with the row locked.
   */
  async claimReplay(tokenHash: string): Promise<boolean> {
    const updated = await this.db('refresh_tokens')
      .where({ token_hash: tokenHash })
      .whereNull('child_used_at')
      .update({ child_used_at: null });
    return updated === 1;
  }
}
