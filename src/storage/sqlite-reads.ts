/**
 * The two reads on the introspection path, as prepared statements on a read-only SQLite connection of their
 * own. knex builds, compiles and queues every query anew; better-sqlite3 runs a prepared statement several
 * times faster. WAL lets this reader see every committed write at once, so nothing here is ever stale: it is a
 * faster way to the same rows, not a cache. Transactions keep using knex (they must see their own writes).
 */
import BetterSqlite3 from 'better-sqlite3';

export interface HotReads {
  clientRow(id: string): Record<string, unknown> | undefined;
  tokenStateRow(clientId: string, sid: string | null, jti: string): Record<string, unknown> | undefined;
  close(): void;
}

export const TOKEN_STATE_SQL = `
  SELECT c.disabled_at AS client_disabled_at,
         s.id AS session_id, s.ended_at AS session_ended_at, s.expires_at AS session_expires_at,
         u.disabled_at AS user_disabled_at, u.username AS username,
         r.jti AS revoked_jti
  FROM clients c
  LEFT JOIN sessions s ON s.id = ?
  LEFT JOIN users u ON u.id = s.user_id
  LEFT JOIN revoked_access_tokens r ON r.jti = ?
  WHERE c.id = ?
  LIMIT 1`;

export function openSqliteReads(filename: string): HotReads {
  const db = new BetterSqlite3(filename, { readonly: true, fileMustExist: true, timeout: 5000 });
  const client = db.prepare<[string], Record<string, unknown>>('SELECT * FROM clients WHERE id = ?');
  const tokenState = db.prepare<[string, string, string], Record<string, unknown>>(TOKEN_STATE_SQL);
  return {
    clientRow: (id) => client.get(id),
    tokenStateRow: (clientId, sid, jti) => tokenState.get(sid ?? '', jti, clientId),
    close: () => db.close(),
  };
}
