import type { Knex } from 'knex';
import { ClientStore } from './clients.js';
import { RefreshTokenStore } from './refresh-tokens.js';
import { RevocationStore } from './revocations.js';
import { SessionStore } from './sessions.js';
import { SigningKeyStore } from './signing-keys.js';
import { TokenStateStore } from './token-state.js';
import { UserStore } from './users.js';

/** The repositories, all bound to one connection or to one transaction. */
export class Store {
  readonly clients: ClientStore;
  readonly users: UserStore;
  readonly sessions: SessionStore;
  readonly refreshTokens: RefreshTokenStore;
  readonly revocations: RevocationStore;
  readonly tokenState: TokenStateStore;
  readonly signingKeys: SigningKeyStore;

  constructor(private readonly db: Knex) {
    this.clients = new ClientStore(db);
    this.users = new UserStore(db);
    this.sessions = new SessionStore(db);
    this.refreshTokens = new RefreshTokenStore(db);
    this.revocations = new RevocationStore(db);
    this.tokenState = new TokenStateStore(db);
    this.signingKeys = new SigningKeyStore(db);
  }

  /** Runs `work` in one transaction: all of it commits, or none of it does. */
  transaction<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    return this.db.transaction((trx) => work(new Store(trx)));
  }
}
