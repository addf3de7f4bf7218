/**
 * Refresh-token rotation as one storage verb (the shape of fosite's RotateRefreshToken): the grant plans what
 * should happen given what is stored — a pure decision — and the store carries the plan out atomically. On a
 * SQLite file the whole rotation is one synchronous better-sqlite3 transaction of prepared statements, which
 * holds the write lock for microseconds instead of across a chain of awaits; on PostgreSQL it is a transaction
 * of named prepared statements on one connection of knex's pool; a store bound to a transaction uses knex.
 *
 * A step can find that another request changed the token between the read and the write (several instances on
 * one database): then the token is read again, inside the same transaction, and planned anew.
 */
import type { AuditRecord } from './audit.js';
import type { EventSignal } from '../events/signal.js';
import { isRetryableTransaction, TRANSACTION_ATTEMPTS, transactionRetryPause, type Database } from './database.js';
import { EVENT_CHANNEL, EVENT_ORDER_LOCK, eventRow, INSERT_EVENT_SQL, type NewEvent } from './events.js';
import { contextFromRow, FIND_WITH_SESSION_SQL, type RefreshTokenContext, type RefreshTokenRecord } from './refresh-tokens.js';
import { numbered, pgPool, type PgConnection } from './pg-reads.js';
import type { Store } from './store.js';

export type RotationStep<T> =
  /** Answer without changing anything (a refused refresh consumes nothing). */
  | { kind: 'answer'; result: T }
  /** End the session: a rotated token came back (RFC 9700 §4.14.2). */
  | { kind: 'end-session'; sessionId: string; at: number; audit: AuditRecord; event: NewEvent; result: T }
  /**
   * Use the presented token and store `issue`, its successor. A first use consumes the token (only if nobody
   * did meanwhile), tells its parent that a successor was used and supersedes its siblings. A replay within the
   * grace period consumes nothing and may mint a sibling only while no successor of the token has been used.
   */
  | { kind: 'rotate'; presented: string; replay: boolean; parent: string | null; at: number; issue: RefreshTokenRecord; result: T };

export type RotationPlanner<T> = (found: RefreshTokenContext | undefined) => RotationStep<T>;

export interface RefreshRotation {
  rotate<T>(tokenHash: string, plan: RotationPlanner<T>): Promise<T>;
}

/** A plan that keeps meeting changes made meanwhile cannot happen with the planner's rules; a bound all the same. */
const MAX_PLANS = 3;

/** What carrying out a step needs, on either dialect. */
interface Verbs {
  find(tokenHash: string): RefreshTokenContext | undefined | Promise<RefreshTokenContext | undefined>;
  endSession(sessionId: string, at: number): boolean | Promise<boolean>;
  audit(record: AuditRecord): unknown;
  event(event: NewEvent, at: number): unknown;
  markChildUsed(parentHash: string, at: number): unknown;
  consume(tokenHash: string, at: number): boolean | Promise<boolean>;
  supersedeSiblings(parentHash: string, used: string, at: number): unknown;
  claimReplay(tokenHash: string): boolean | Promise<boolean>;
  insert(token: RefreshTokenRecord): unknown;
}

/**
 * Carries a plan out with `verbs`, as a generator that yields each verb's result: the knex path awaits them, the
 * SQLite path takes them as they are, so one synchronous transaction runs the very same steps.
 */
function* carryOut<T>(tokenHash: string, plan: RotationPlanner<T>, verbs: Verbs): Generator<unknown, T, any> {
  for (let attempt = 1; ; attempt++) {
    const step = plan(yield verbs.find(tokenHash));
    switch (step.kind) {
      case 'answer':
        return step.result;
      case 'end-session':
        if (yield verbs.endSession(step.sessionId, step.at)) {
          yield verbs.audit(step.audit);
          yield verbs.event(step.event, step.at);
        }
        return step.result;
      case 'rotate': {
        // Lock order, on every path: the parent first, then the token, then its siblings.
        let changedMeanwhile: boolean;
        if (step.replay) {
          changedMeanwhile = !(yield verbs.claimReplay(step.presented));
        } else {
          if (step.parent !== null) yield verbs.markChildUsed(step.parent, step.at);
          changedMeanwhile = !(yield verbs.consume(step.presented, step.at));
          if (!changedMeanwhile && step.parent !== null) yield verbs.supersedeSiblings(step.parent, step.presented, step.at);
        }
        if (!changedMeanwhile) {
          yield verbs.insert(step.issue);
          return step.result;
        }
        if (attempt >= MAX_PLANS) throw new Error('refresh rotation: the token kept changing while being rotated');
      }
    }
  }
}

/** Runs carryOut, awaiting each verb. */
async function runAsync<T>(steps: Generator<unknown, T, any>): Promise<T> {
  let next = steps.next();
  while (!next.done) next = steps.next(await next.value);
  return next.value;
}

/** Runs carryOut with verbs that answer synchronously. */
function runSync<T>(steps: Generator<unknown, T, any>): T {
  let next = steps.next();
  while (!next.done) next = steps.next(next.value);
  return next.value;
}

/** Any dialect, through knex: a transaction of conditional UPDATEs. */
export function knexRotation(store: Store): RefreshRotation {
  return {
    rotate: (tokenHash, plan) =>
      store.transaction((tx) =>
        runAsync(
          carryOut(tokenHash, plan, {
            find: (hash) => tx.refreshTokens.findWithSession(hash),
            endSession: (sessionId, at) => tx.sessions.end(sessionId, at, 'refresh_reuse'),
            audit: (record) => tx.audit.insert(record),
            event: (event, at) => tx.events.append(at, event),
            markChildUsed: (parent, at) => tx.refreshTokens.markChildUsed(parent, at),
            consume: (hash, at) => tx.refreshTokens.markRotated(hash, at),
            supersedeSiblings: (parent, used, at) => tx.refreshTokens.supersedeSiblings(parent, used, at),
            claimReplay: (hash) => tx.refreshTokens.claimReplay(hash),
            insert: (token) => tx.refreshTokens.insert(token),
          }),
        ),
      ),
  };
}

interface SqliteConnection {
  prepare(sql: string): { get(...params: unknown[]): unknown; run(...params: unknown[]): { changes: number } };
  transaction<F extends (...args: never[]) => unknown>(fn: F): { immediate: F };
}

function prepareStatements(connection: SqliteConnection, wrote: { event: boolean }): Verbs {
  const find = connection.prepare(FIND_WITH_SESSION_SQL);
  const endSession = connection.prepare("UPDATE sessions SET ended_at = ?, end_reason = 'refresh_reuse' WHERE id = ? AND ended_at IS NULL");
  const audit = connection.prepare('INSERT INTO audit_events (id, at, type, actor, subject, client_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)');
  const event = connection.prepare(INSERT_EVENT_SQL);
  const markChildUsed = connection.prepare('UPDATE refresh_tokens SET child_used_at = COALESCE(child_used_at, ?) WHERE token_hash = ?');
  const consume = connection.prepare('UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL');
  const supersede = connection.prepare(
    'UPDATE refresh_tokens SET rotated_at = ?, superseded_at = ? WHERE parent_hash = ? AND token_hash <> ? AND rotated_at IS NULL',
  );
  const claimReplay = connection.prepare('UPDATE refresh_tokens SET child_used_at = NULL WHERE token_hash = ? AND child_used_at IS NULL');
  const insert = connection.prepare(
    'INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at, rotated_at) VALUES (?, ?, ?, ?, ?, ?)',
  );
  return {
    find: (hash) => {
      const row = find.get(hash) as Record<string, unknown> | undefined;
      return row && contextFromRow(row);
    },
    endSession: (sessionId, at) => endSession.run(at, sessionId).changes === 1,
    audit: (a) => audit.run(a.id, a.at, a.type, a.actor, a.subject, a.clientId, a.detail),
    event: (e, at) => {
      const row = eventRow(e, at);
      event.run(row.type, row.session_id, row.user_id, row.client_id, row.jti, row.kid, row.stream_id, row.reason, row.initiator, row.detail, row.created_at);
      wrote.event = true;
    },
    markChildUsed: (parent, at) => markChildUsed.run(at, parent),
    consume: (hash, at) => consume.run(at, hash).changes === 1,
    supersedeSiblings: (parent, used, at) => supersede.run(at, at, parent, used),
    claimReplay: (hash) => claimReplay.run(hash).changes === 1,
    insert: (t) => insert.run(t.tokenHash, t.sessionId, t.parentHash, t.createdAt, t.expiresAt, t.rotatedAt),
  };
}

/**
 * A SQLite file: the rotation runs on knex's own connection (borrowed from its pool of one, as a knex
 * transaction would), synchronously, as BEGIN IMMEDIATE … COMMIT.
 */
export function sqliteRotation(db: Database, signal: EventSignal): RefreshRotation {
  const prepared = new WeakMap<SqliteConnection, Verbs>();
  // Synchronous from BEGIN to COMMIT: no other rotation of this process runs in between.
  const wrote = { event: false };
  return {
    async rotate(tokenHash, plan) {
      const connection = (await db.client.acquireConnection()) as SqliteConnection;
      try {
        let verbs = prepared.get(connection);
        if (!verbs) prepared.set(connection, (verbs = prepareStatements(connection, wrote)));
        const statements = verbs;
        wrote.event = false;
        const result = connection.transaction(() => runSync(carryOut(tokenHash, plan, statements))).immediate();
        if (wrote.event) signal.wake();
        return result;
      } finally {
        await db.client.releaseConnection(connection);
      }
    },
  };
}

/** The statements of prepareStatements, named, so that node-postgres prepares each once per connection. */
const PG = Object.fromEntries(
  Object.entries({
    find: FIND_WITH_SESSION_SQL,
    endSession: "UPDATE sessions SET ended_at = ?, end_reason = 'refresh_reuse' WHERE id = ? AND ended_at IS NULL",
    audit: 'INSERT INTO audit_events (id, at, type, actor, subject, client_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)',
    markChildUsed: 'UPDATE refresh_tokens SET child_used_at = COALESCE(child_used_at, ?) WHERE token_hash = ?',
    consume: 'UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL',
    supersede: 'UPDATE refresh_tokens SET rotated_at = ?, superseded_at = ? WHERE parent_hash = ? AND token_hash <> ? AND rotated_at IS NULL',
    claimReplay: 'UPDATE refresh_tokens SET child_used_at = NULL WHERE token_hash = ? AND child_used_at IS NULL',
    insert: 'INSERT INTO refresh_tokens (token_hash, session_id, parent_hash, created_at, expires_at, rotated_at) VALUES (?, ?, ?, ?, ?, ?)',
    // The outbox, as EventStore.append writes it on PostgreSQL: ids drawn in commit order, NOTIFY at COMMIT.
    eventLock: 'SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))',
    event: INSERT_EVENT_SQL,
    notify: 'SELECT pg_notify(?, current_schema())',
  }).map(([name, sql]) => [name, { name: `gatehouse_rotation_${name}`, text: numbered(sql) }]),
) as Record<
  'find' | 'endSession' | 'audit' | 'markChildUsed' | 'consume' | 'supersede' | 'claimReplay' | 'insert' | 'eventLock' | 'event' | 'notify',
  { name: string; text: string }
>;

function pgVerbs(connection: PgConnection, wrote: { event: boolean }): Verbs {
  const run = (statement: { name: string; text: string }, values: unknown[]) => connection.query({ ...statement, values });
  const changed = async (statement: { name: string; text: string }, values: unknown[]) => (await run(statement, values)).rowCount === 1;
  return {
    find: async (hash) => {
      const row = (await run(PG.find, [hash])).rows[0];
      return row && contextFromRow(row);
    },
    endSession: (sessionId, at) => changed(PG.endSession, [at, sessionId]),
    audit: (a) => run(PG.audit, [a.id, a.at, a.type, a.actor, a.subject, a.clientId, a.detail]),
    event: async (e, at) => {
      const row = eventRow(e, at);
      await run(PG.eventLock, [EVENT_ORDER_LOCK]);
      await run(PG.event, [row.type, row.session_id, row.user_id, row.client_id, row.jti, row.kid, row.stream_id, row.reason, row.initiator, row.detail, row.created_at]);
      await run(PG.notify, [EVENT_CHANNEL]);
      wrote.event = true;
    },
    markChildUsed: (parent, at) => run(PG.markChildUsed, [at, parent]),
    consume: (hash, at) => changed(PG.consume, [at, hash]),
    supersedeSiblings: (parent, used, at) => run(PG.supersede, [at, at, parent, used]),
    claimReplay: (hash) => changed(PG.claimReplay, [hash]),
    insert: (t) => run(PG.insert, [t.tokenHash, t.sessionId, t.parentHash, t.createdAt, t.expiresAt, t.rotatedAt]),
  };
}

/**
 * PostgreSQL: the rotation as BEGIN … COMMIT of named prepared statements on one connection of knex's pool
 * (GATEHOUSE_DB_POOL_MAX bounds it with everything else; its statement and query timeouts apply). The same
 * steps as every other path (carryOut), the same retry of a transaction the database rolled back for a
 * serialization failure or a deadlock. A connection whose ROLLBACK failed is not handed out again.
 */
export function pgRotation(db: Database, signal: EventSignal): RefreshRotation {
  const pool = pgPool(db);
  return {
    async rotate(tokenHash, plan) {
      for (let attempt = 1; ; attempt++) {
        const connection = await pool.acquireConnection();
        let open = false;
        const wrote = { event: false };
        try {
          await connection.query('BEGIN');
          open = true;
          const result = await runAsync(carryOut(tokenHash, plan, pgVerbs(connection, wrote)));
          await connection.query('COMMIT');
          open = false;
          if (wrote.event) signal.wake();
          return result;
        } catch (error) {
          if (open) {
            await connection.query('ROLLBACK').catch((rollbackError: unknown) => {
              connection.__knex__disposed = rollbackError; // knex's pool then destroys it instead of reusing it
            });
          }
          if (attempt >= TRANSACTION_ATTEMPTS || !isRetryableTransaction(error)) throw error;
        } finally {
          await pool.releaseConnection(connection);
        }
        await transactionRetryPause(attempt);
      }
    },
  };
}
