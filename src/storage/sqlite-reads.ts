/**
 * The hot reads (storage/hot-reads.ts) on SQLite: prepared statements on a read-only connection of their own.
 * better-sqlite3 runs a prepared statement several times faster than knex's path to the same query, and WAL
 * lets this reader see every committed write at once, so nothing here is ever stale.
 */
import BetterSqlite3 from 'better-sqlite3';
import { CALLER_AND_TOKEN_STATE_SQL, CLIENT_ROW_SQL, TOKEN_STATE_SQL, type HotReads } from './hot-reads.js';

export function openSqliteReads(filename: string): HotReads {
  const db = new BetterSqlite3(filename, { readonly: true, fileMustExist: true, timeout: 5000 });
  const client = db.prepare<[string], Record<string, unknown>>(CLIENT_ROW_SQL);
  const tokenState = db.prepare<[string, string, string], Record<string, unknown>>(TOKEN_STATE_SQL);
  const callerAndTokenState = db.prepare<[string, string, string, string], Record<string, unknown>>(CALLER_AND_TOKEN_STATE_SQL);
  return {
    dialect: 'sqlite',
    clientRow: (id) => client.get(id),
    tokenStateRow: (clientId, sid, jti) => tokenState.get(sid ?? '', jti, clientId),
    callerAndTokenStateRow: (callerId, clientId, sid, jti) => callerAndTokenState.get(clientId, sid ?? '', jti, callerId),
    close: () => db.close(),
  };
}
