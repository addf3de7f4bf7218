import type { Knex } from 'knex';

/**
 * Authorization codes (RFC 6749 §4.1.2), stored as SHA-256 hashes only, bound to the client, the redirect URI and
 * the PKCE challenge they were issued for.
 */
export interface AuthorizationCodeRecord {
  codeHash: string;
  clientId: string;
  redirectUri: string;
  /** RFC 7636 §4.2: BASE64URL(SHA256(code_verifier)); only S256 is accepted. */
  codeChallenge: string;
  userId: string;
  loginSessionId: string;
  scope: string[];
  audience: string;
  createdAt: number;
  expiresAt: number;
  usedAt: number | null;
  /** The session its redemption opened. */
  sessionId: string | null;
}

interface Row {
  code_hash: string;
  client_id: string;
  redirect_uri: string;
  code_challenge: string;
  user_id: string;
  login_session_id: string;
  scope: string;
  audience: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
  session_id: string | null;
}

function fromRow(row: Row): AuthorizationCodeRecord {
  return {
    codeHash: row.code_hash,
    clientId: row.client_id,
    redirectUri: row.redirect_uri,
    codeChallenge: row.code_challenge,
    userId: row.user_id,
    loginSessionId: row.login_session_id,
    scope: row.scope === '' ? [] : row.scope.split(' '),
    audience: row.audience,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    usedAt: row.used_at === null ? null : Number(row.used_at),
    sessionId: row.session_id,
  };
}

export class AuthorizationCodeStore {
  constructor(private readonly db: Knex) {}

  async insert(code: AuthorizationCodeRecord): Promise<void> {
    await this.db('authorization_codes').insert({
      code_hash: code.codeHash,
      client_id: code.clientId,
      redirect_uri: code.redirectUri,
      code_challenge: code.codeChallenge,
      user_id: code.userId,
      login_session_id: code.loginSessionId,
      scope: code.scope.join(' '),
      audience: code.audience,
      created_at: code.createdAt,
      expires_at: code.expiresAt,
      used_at: code.usedAt,
      session_id: code.sessionId,
    });
  }

  async find(codeHash: string): Promise<AuthorizationCodeRecord | undefined> {
    const row = await this.db<Row>('authorization_codes').where({ code_hash: codeHash }).first();
    return row && fromRow(row);
  }

  /**
   * Marks the code used, only if nobody used it before. This conditional UPDATE is the one decision concurrent
   * redemptions race on: on PostgreSQL a second UPDATE waits for the first transaction's row lock and then finds
   * used_at set; SQLite serialises write transactions. So exactly one of them sees `true`.
   */
  async consume(codeHash: string, now: number): Promise<boolean> {
    const updated = await this.db('authorization_codes').where({ code_hash: codeHash }).whereNull('used_at').update({ used_at: now });
    return updated === 1;
  }

  /** Records the session a redemption opened, so that a second use of the code can end it. */
  async attachSession(codeHash: string, sessionId: string): Promise<void> {
    await this.db('authorization_codes').where({ code_hash: codeHash }).update({ session_id: sessionId });
  }
}
