import type { Knex } from 'knex';
import type { SessionRecord } from './sessions.js';

export interface RefreshTokenRecord {
  tokenHash: string;
  sessionId: string;
  createdAt: number;
  expiresAt: number;
  rotatedAt: number | null;
}

interface RefreshTokenRow {
  token_hash: string;
  session_id: string;
  created_at: number;
  expires_at: number;
  rotated_at: number | null;
}

/** A refresh token with what a refresh needs to decide: its session and the session's user. */
function fromRow(row: RefreshTokenRow): RefreshTokenRecord {
  return {
    tokenHash: row.token_hash,
    sessionId: row.session_id,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    rotatedAt: row.rotated_at === null ? null : Number(row.rotated_at),
  };
}

export interface RefreshTokenContext {
  token: RefreshTokenRecord;
  session: SessionRecord;
  user: { id: string; username: string; disabledAt: number | null };
}

export class RefreshTokenStore {
  constructor(private readonly db: Knex) {}

  async insert(token: RefreshTokenRecord): Promise<void> {
    await this.db('refresh_tokens').insert({
      token_hash: token.tokenHash,
      session_id: token.sessionId,
      created_at: token.createdAt,
      expires_at: token.expiresAt,
      rotated_at: token.rotatedAt,
    });
  }

  async find(tokenHash: string): Promise<RefreshTokenRecord | undefined> {
    const row = await this.db<RefreshTokenRow>('refresh_tokens').where({ token_hash: tokenHash }).first();
    return row && fromRow(row);
  }

  /** The token, its session and its user in one indexed read (the first step of every refresh). */
  async findWithSession(tokenHash: string): Promise<RefreshTokenContext | undefined> {
    const row = await this.db('refresh_tokens as t')
      .join('sessions as s', 's.id', 't.session_id')
      .join('users as u', 'u.id', 's.user_id')
      .where('t.token_hash', tokenHash)
      .first(
        't.token_hash',
        't.session_id',
        't.created_at',
        't.expires_at',
        't.rotated_at',
        's.user_id as s_user_id',
        's.client_id as s_client_id',
        's.scope as s_scope',
        's.audience as s_audience',
        's.created_at as s_created_at',
        's.expires_at as s_expires_at',
        's.ended_at as s_ended_at',
        's.end_reason as s_end_reason',
        'u.username as u_username',
        'u.disabled_at as u_disabled_at',
      );
    if (!row) return undefined;
    const num = (value: unknown) => (value === null ? null : Number(value));
    return {
      token: fromRow(row),
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
      },
      user: { id: row.s_user_id, username: row.u_username, disabledAt: num(row.u_disabled_at) },
    };
  }

  /**
   * Marks the token consumed, only if nobody consumed it before: the conditional UPDATE is the atomic step of
   * rotation, so of two concurrent refreshes exactly one sees `true`.
   */
  async markRotated(tokenHash: string, now: number): Promise<boolean> {
    const updated = await this.db('refresh_tokens').where({ token_hash: tokenHash }).whereNull('rotated_at').update({ rotated_at: now });
    return updated === 1;
  }
}
