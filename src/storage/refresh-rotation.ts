/**
 * Refresh-token rotation as one storage verb (the shape of fosite's RotateRefreshToken): the grant plans what
 * should happen given what is stored — a pure decision — and the store carries the plan out atomically. On a
 * SQLite file the whole rotation is one synchronous better-sqlite3 transaction of prepared statements, which
 * holds the write lock for microseconds instead of across a chain of awaits; elsewhere it is a knex transaction.
 */
import type { AuditRecord } from './audit.js';
import type { Database } from './database.js';
import { contextFromRow, FIND_WITH_SESSION_SQL, type RefreshTokenContext, type RefreshTokenRecord } from './refresh-tokens.js';
import type { Store } from './store.js';

export type RotationStep<T> =
  /** Answer without changing anything (a refused refresh consumes nothing). */
  | { kind: 'answer'; result: T }
  /** End the session: a rotated token came back (RFC 9700 §4.14.2). */
  | { kind: 'end-session'; sessionId: string; at: number; audit: AuditRecord; result: T }
  /**
   * Consume `consume` (null: a replay within the grace period, nothing to consume) and store `issue`. If another
   * request consumed it first, `ifConsumedMeanwhile` is carried out instead.
   */
  | { kind: 'rotate'; consume: string | null; at: number; issue: RefreshTokenRecord; result: T; ifConsumedMeanwhile: RotationStep<T> };

export type RotationPlanner<T> = (found: RefreshTokenContext | undefined) => RotationStep<T>;

export interface RefreshRotation {
  rotate<T>(tokenHash: string, plan: RotationPlanner<T>): Promise<T>;
}

/** Any dialect, through knex: a transaction with a conditional UPDATE. */
export function knexRotation(store: Store): RefreshRotation {
  return {
    rotate: (tokenHash, plan) =>
      store.transaction(async (tx) => {
        let step = plan(await tx.refreshTokens.findWithSession(tokenHash));
        for (;;) {
          switch (step.kind) {
            case 'answer':
              return step.result;
            case 'end-session':
              if (await tx.sessions.end(step.sessionId, step.at, 'refresh_reuse')) await tx.audit.insert(step.audit);
              return step.result;
            case 'rotate':
              if (step.consume !== null && !(await tx.refreshTokens.markRotated(step.consume, step.at))) {
                step = step.ifConsumedMeanwhile;
                continue;
              }
              await tx.refreshTokens.insert(step.issue);
              return step.result;
          }
        }
      }),
  };
}

interface SqliteConnection {
  prepare(sql: string): { get(...params: unknown[]): unknown; run(...params: unknown[]): { changes: number } };
  transaction<F extends (...args: never[]) => unknown>(fn: F): { immediate: F };
}

/**
 * A SQLite file: the rotation runs on knex's own connection (borrowed from its pool of one, as a knex
 * transaction would), synchronously, as BEGIN IMMEDIATE … COMMIT.
 */
export function sqliteRotation(db: Database): RefreshRotation {
  const prepared = new WeakMap<SqliteConnection, ReturnType<typeof prepare>>();
  const prepare = (connection: SqliteConnection) => ({
    find: connection.prepare(FIND_WITH_SESSION_SQL),
    consume: connection.prepare('UPDATE refresh_tokens SET rotated_at = ? WHERE token_hash = ? AND rotated_at IS NULL'),
    insert: connection.prepare('INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, rotated_at) VALUES (?, ?, ?, ?, ?)'),
    endSession: connection.prepare("UPDATE sessions SET ended_at = ?, end_reason = 'refresh_reuse' WHERE id = ? AND ended_at IS NULL"),
    audit: connection.prepare('INSERT INTO audit_events (id, at, type, actor, subject, client_id, detail) VALUES (?, ?, ?, ?, ?, ?, ?)'),
  });
  return {
    async rotate(tokenHash, plan) {
      const connection = (await db.client.acquireConnection()) as SqliteConnection;
      try {
        let statements = prepared.get(connection);
        if (!statements) prepared.set(connection, (statements = prepare(connection)));
        const s = statements;
        const run = connection.transaction(() => {
          const row = s.find.get(tokenHash) as Record<string, unknown> | undefined;
          let step = plan(row && contextFromRow(row));
          for (;;) {
            switch (step.kind) {
              case 'answer':
                return step.result;
              case 'end-session': {
                if (s.endSession.run(step.at, step.sessionId).changes === 1) {
                  const a = step.audit;
                  s.audit.run(a.id, a.at, a.type, a.actor, a.subject, a.clientId, a.detail);
                }
                return step.result;
              }
              case 'rotate':
                if (step.consume !== null && s.consume.run(step.at, step.consume).changes !== 1) {
                  step = step.ifConsumedMeanwhile;
                  continue;
                }
                s.insert.run(step.issue.tokenHash, step.issue.sessionId, step.issue.createdAt, step.issue.expiresAt, step.issue.rotatedAt);
                return step.result;
            }
          }
        });
        return run.immediate();
      } finally {
        await db.client.releaseConnection(connection);
      }
    },
  };
}
