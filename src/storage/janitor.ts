import type { Knex } from 'knex';

/**
 * Deletes rows that can no longer matter, a bounded batch per call, so that no statement holds a lock for long.
 * Each method returns how many rows it deleted; 0 means nothing is left. Deletes are idempotent, so several
 * instances may run them at once.
 */
export class JanitorStore {
  constructor(private readonly db: Knex) {}

  /** Per-token revocations whose token has expired anyway. */
  deleteExpiredRevocations(now: number, limit: number): Promise<number> {
    const batch = this.db('revoked_access_tokens').select('jti').where('expires_at', '<', now).limit(limit);
    return this.db('revoked_access_tokens').whereIn('jti', batch).delete();
  }

  /** Refresh tokens expired before `before` (rotated ones included: they stay for reuse detection until then). */
  deleteExpiredRefreshTokens(before: number, limit: number): Promise<number> {
    const batch = this.db('refresh_tokens').select('token_hash').where('expires_at', '<', before).limit(limit);
    return this.db('refresh_tokens').whereIn('token_hash', batch).delete();
  }

  /** Sessions that ended or expired before `before`, with their remaining refresh tokens. */
  async deleteFinishedSessions(before: number, limit: number): Promise<number> {
    return this.db.transaction(async (trx): Promise<number> => {
      const rows: Array<{ id: string }> = await trx('sessions')
        .select('id')
        .where((q) => q.where('expires_at', '<', before).orWhere('ended_at', '<', before))
        .limit(limit);
      if (rows.length === 0) return 0;
      const ids = rows.map((row) => row.id);
      await trx('refresh_tokens').whereIn('session_id', ids).delete();
      return trx('sessions').whereIn('id', ids).delete();
    });
  }

  /** Pending login and consent forms that expired before `before`: nothing refers to them afterwards. */
  deleteExpiredAuthorizationRequests(before: number, limit: number): Promise<number> {
    const batch = this.db('authorization_requests').select('id_hash').where('expires_at', '<', before).limit(limit);
    return this.db('authorization_requests').whereIn('id_hash', batch).delete();
  }

  /** Authorization codes that expired before `before` (used ones are kept until then, for reuse detection). */
  deleteExpiredAuthorizationCodes(before: number, limit: number): Promise<number> {
    const batch = this.db('authorization_codes').select('code_hash').where('expires_at', '<', before).limit(limit);
    return this.db('authorization_codes').whereIn('code_hash', batch).delete();
  }

  /**
   * Login sessions that ended or expired before `before`. The token sessions opened through one keep its id; they
   * never outlive it (their end is capped at its end), and ending it has already ended them.
   */
  deleteFinishedLoginSessions(before: number, limit: number): Promise<number> {
    const batch = this.db('login_sessions')
      .select('id')
      .where((q) => q.where('expires_at', '<', before).orWhere('ended_at', '<', before))
      .limit(limit);
    return this.db('login_sessions').whereIn('id', batch).delete();
  }
}
