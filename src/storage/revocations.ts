import type { Knex } from 'knex';

/** Access tokens revoked one by one at /revoke, by jti, kept until the token would have expired anyway. */
export class RevocationStore {
  constructor(private readonly db: Knex) {}

  /** True if this call revoked it, false if it was revoked already. */
  async revokeAccessToken(jti: string, expiresAt: number, now: number): Promise<boolean> {
    const rows = await this.db('revoked_access_tokens').insert({ jti, expires_at: expiresAt, revoked_at: now }).onConflict('jti').ignore().returning('jti');
    return rows.length > 0;
  }
}
