import type { Knex } from 'knex';

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
    if (!row) return undefined;
    return {
      tokenHash: row.token_hash,
      sessionId: row.session_id,
      createdAt: Number(row.created_at),
      expiresAt: Number(row.expires_at),
      rotatedAt: row.rotated_at === null ? null : Number(row.rotated_at),
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
