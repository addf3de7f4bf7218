import type { Knex } from 'knex';
import { clientFromRow, type ClientRecord, type ClientRow } from './clients.js';
import type { HotReads } from './hot-reads.js';

/**
 * Everything that can end an access token before its exp, read in one indexed query: the issuing client, the
 * session and its user (absent for client_credentials tokens), and a per-token revocation.
 */
export interface AccessTokenState {
  clientDisabled: boolean;
  session: { endedAt: number | null; expiresAt: number; userDisabled: boolean; username: string } | null;
  revoked: boolean;
}

interface StateRow {
  client_disabled_at: number | null;
  session_id: string | null;
  session_ended_at: number | null;
  session_expires_at: number | null;
  user_disabled_at: number | null;
  username: string | null;
  revoked_jti: string | null;
}

function stateFromRow(row: StateRow): AccessTokenState {
  return {
    clientDisabled: row.client_disabled_at !== null,
    session:
      row.session_id === null
        ? null
        : {
            endedAt: row.session_ended_at === null ? null : Number(row.session_ended_at),
            expiresAt: Number(row.session_expires_at),
            userDisabled: row.user_disabled_at !== null,
            username: row.username ?? '',
          },
    revoked: row.revoked_jti !== null,
  };
}

export class TokenStateStore {
  constructor(
    private readonly db: Knex,
    private readonly hot?: HotReads,
  ) {}

  /** Returns undefined when the client does not exist. `sid` null = a token without a session. */
  async accessTokenState(clientId: string, sid: string | null, jti: string): Promise<AccessTokenState | undefined> {
    const row = this.hot ? ((await this.hot.tokenStateRow(clientId, sid, jti)) as StateRow | undefined) : await this.query(clientId, sid, jti);
    return row && stateFromRow(row);
  }

  /**
   * The client row of `callerId` and the state of a token (as accessTokenState), read together: one statement
   * where the hot reads exist, two queries otherwise. `caller` is undefined when that client does not exist,
   * and `state` then is not read.
   */
  async callerAndTokenState(
    callerId: string,
    token: { clientId: string; sid: string | null; jti: string },
  ): Promise<{ caller: ClientRecord | undefined; state: AccessTokenState | undefined }> {
    if (!this.hot) {
      const row = await this.db<ClientRow>('clients').where({ id: callerId }).first();
      if (!row) return { caller: undefined, state: undefined };
      return { caller: clientFromRow(row), state: await this.accessTokenState(token.clientId, token.sid, token.jti) };
    }
    const row = (await this.hot.callerAndTokenStateRow(callerId, token.clientId, token.sid, token.jti)) as
      | (ClientRow & StateRow & { token_client_id: string | null })
      | undefined;
    if (!row) return { caller: undefined, state: undefined };
    return { caller: clientFromRow(row), state: row.token_client_id === null ? undefined : stateFromRow(row) };
  }

  /** The same query as TOKEN_STATE_SQL (storage/hot-reads.ts), through knex: for a store bound to a transaction. */
  private query(clientId: string, sid: string | null, jti: string): Promise<StateRow | undefined> {
    return this.db('clients as c')
      .leftJoin('sessions as s', (join) => join.on('s.id', '=', this.db.raw('?', [sid ?? ''])))
      .leftJoin('users as u', 'u.id', 's.user_id')
      .leftJoin('revoked_access_tokens as r', (join) => join.on('r.jti', '=', this.db.raw('?', [jti])))
      .where('c.id', clientId)
      .first(
        'c.disabled_at as client_disabled_at',
        's.id as session_id',
        's.ended_at as session_ended_at',
        's.expires_at as session_expires_at',
        'u.disabled_at as user_disabled_at',
        'u.username as username',
        'r.jti as revoked_jti',
      );
  }
}
