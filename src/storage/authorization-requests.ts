import type { Knex } from 'knex';

/**
 * An authorization request (RFC 6749 §4.1.1) that is waiting for the login or the consent form. The form carries
 * a random id, of which only the hash is stored, and the request is bound to the browser that opened it (the hash
 * of its browser cookie): a copy of the form posted from another browser is refused.
 */
export interface AuthorizationRequestRecord {
  idHash: string;
  browserHash: string;
  clientId: string;
  redirectUri: string;
  state: string | null;
  codeChallenge: string;
  scope: string[];
  audience: string;
  /** The login session that logged in for this request; null until then. */
  loginSessionId: string | null;
  createdAt: number;
  expiresAt: number;
  completedAt: number | null;
}

interface Row {
  id_hash: string;
  browser_hash: string;
  client_id: string;
  redirect_uri: string;
  state: string | null;
  code_challenge: string;
  scope: string;
  audience: string;
  login_session_id: string | null;
  created_at: number;
  expires_at: number;
  completed_at: number | null;
}

function fromRow(row: Row): AuthorizationRequestRecord {
  return {
    idHash: row.id_hash,
    browserHash: row.browser_hash,
    clientId: row.client_id,
    redirectUri: row.redirect_uri,
    state: row.state,
    codeChallenge: row.code_challenge,
    scope: row.scope === '' ? [] : row.scope.split(' '),
    audience: row.audience,
    loginSessionId: row.login_session_id,
    createdAt: Number(row.created_at),
    expiresAt: Number(row.expires_at),
    completedAt: row.completed_at === null ? null : Number(row.completed_at),
  };
}

export class AuthorizationRequestStore {
  constructor(private readonly db: Knex) {}

  async insert(request: AuthorizationRequestRecord): Promise<void> {
    await this.db('authorization_requests').insert({
      id_hash: request.idHash,
      browser_hash: request.browserHash,
      client_id: request.clientId,
      redirect_uri: request.redirectUri,
      state: request.state,
      code_challenge: request.codeChallenge,
      scope: request.scope.join(' '),
      audience: request.audience,
      login_session_id: request.loginSessionId,
      created_at: request.createdAt,
      expires_at: request.expiresAt,
      completed_at: request.completedAt,
    });
  }

  async find(idHash: string): Promise<AuthorizationRequestRecord | undefined> {
    const row = await this.db<Row>('authorization_requests').where({ id_hash: idHash }).first();
    return row && fromRow(row);
  }

  /** Records that `loginSessionId` logged in for this request (the consent that follows must come from it). */
  async attachLoginSession(idHash: string, loginSessionId: string): Promise<void> {
    await this.db('authorization_requests').where({ id_hash: idHash }).whereNull('completed_at').update({ login_session_id: loginSessionId });
  }

  /**
   * Ends the request, only if nothing ended it before: the conditional UPDATE makes a form answer once, however
   * often it is posted.
   */
  async complete(idHash: string, now: number): Promise<boolean> {
    const updated = await this.db('authorization_requests').where({ id_hash: idHash }).whereNull('completed_at').update({ completed_at: now });
    return updated === 1;
  }
}
