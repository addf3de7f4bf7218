import type { Knex } from 'knex';

/** Access tokens revoked one by one at /revoke, by jti, kept until the token would have expired anyway. */
export class RevocationStore {
  constructor(private readonly db: Knex) {}

  async revokeAccessToken(jti: string, expiresAt: number, now: number): Promise<void> {
    await this.db('revoked_access_tokens').insert({ jti, expires_at: expiresAt, revoked_at: now }).onConflict('jti').ignore();
  }
}
