import type { Knex } from 'knex';
import { isRetryableTransaction, TRANSACTION_ATTEMPTS, transactionRetryPause } from './database.js';
import { AuditStore } from './audit.js';
import { AuthorizationCodeStore } from './authorization-codes.js';
import { AuthorizationRequestStore } from './authorization-requests.js';
import { ClientStore } from './clients.js';
import { ConsentStore } from './consents.js';
import { EventSignal } from '../events/signal.js';
import { EventStore } from './events.js';
import { JanitorStore } from './janitor.js';
import { LoginSessionStore } from './login-sessions.js';
import { knexRotation, pgRotation, sqliteRotation, type RefreshRotation } from './refresh-rotation.js';
import type { HotReads } from './hot-reads.js';
import { RefreshTokenStore } from './refresh-tokens.js';
import { RevocationStore } from './revocations.js';
import { SessionStore } from './sessions.js';
import { SigningKeyStore } from './signing-keys.js';
import { PushStore } from './push.js';
import { StreamStore } from './streams.js';
import { ThrottleStore } from './throttle.js';
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
  readonly janitor: JanitorStore;
  readonly throttle: ThrottleStore;
  readonly audit: AuditStore;
  readonly refreshRotation: RefreshRotation;
  readonly loginSessions: LoginSessionStore;
  readonly authorizationRequests: AuthorizationRequestStore;
  readonly authorizationCodes: AuthorizationCodeStore;
  readonly consents: ConsentStore;
  readonly events: EventStore;
  readonly streams: StreamStore;
  readonly push: PushStore;
  /** Wakes long polls once events committed; shared by the root store and every transaction of it. */
  readonly eventSignal: EventSignal;

  /**
   * `hot`: prepared statements for the introspection path (storage/hot-reads.ts); only the root store has them,
   * a store bound to a transaction reads through the transaction.
   */
  constructor(
    private readonly db: Knex,
    hot?: HotReads,
    eventSignal?: EventSignal,
  ) {
    this.eventSignal = eventSignal ?? new EventSignal();
    this.clients = new ClientStore(db, hot);
    this.users = new UserStore(db);
    this.sessions = new SessionStore(db);
    this.refreshTokens = new RefreshTokenStore(db);
    this.revocations = new RevocationStore(db);
    this.tokenState = new TokenStateStore(db, hot);
    this.signingKeys = new SigningKeyStore(db);
    this.janitor = new JanitorStore(db);
    this.throttle = new ThrottleStore(db);
    this.audit = new AuditStore(db);
    this.loginSessions = new LoginSessionStore(db);
    this.authorizationRequests = new AuthorizationRequestStore(db);
    this.authorizationCodes = new AuthorizationCodeStore(db);
    this.consents = new ConsentStore(db);
    this.events = new EventStore(db);
    this.streams = new StreamStore(db);
    this.push = new PushStore(db);
    // Only the root store has hot reads: a store bound to a transaction rotates through that transaction (knex).
    // SQLite hot reads exist exactly for a SQLite file, where a rotation can run as one synchronous transaction.
    this.refreshRotation =
      hot?.dialect === 'sqlite' ? sqliteRotation(db, this.eventSignal) : hot?.dialect === 'postgres' ? pgRotation(db, this.eventSignal) : knexRotation(this);
  }

  /** One round trip to the database: for readiness checks. */
  async ping(): Promise<void> {
    await this.db.raw('SELECT 1');
  }

  /**
   * Runs `work` in one transaction: all of it commits, or none of it does. A transaction that the database
   * rolled back for a serialization failure or a deadlock is run again, a bounded number of times; such a
   * rollback is certain, so the retry cannot apply anything twice. (A dropped connection is not retried: whether
   * its COMMIT arrived is unknown, and the request answers 503 instead.)
   */
  async transaction<T>(work: (tx: Store) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        let tx: Store | undefined;
        const result = await this.db.transaction((trx) => work((tx = new Store(trx, undefined, this.eventSignal))));
        // After COMMIT: long polls in this process look at the outbox now (other processes: NOTIFY or their poll).
        // A nested transaction (a savepoint) has not committed anything yet: its outer one wakes them.
        if (tx?.events.wrote) {
          if (this.db.isTransaction) this.events.wrote = true;
          else this.eventSignal.wake();
        }
        return result;
      } catch (error) {
        if (attempt >= TRANSACTION_ATTEMPTS || !isRetryableTransaction(error)) throw error;
        await transactionRetryPause(attempt);
      }
    }
  }
}
