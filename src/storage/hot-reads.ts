/**
 * The two reads on the path of every introspection and every client authentication, as prepared statements:
 * the client row, and everything that can end an access token early (storage/token-state.ts). knex builds,
 * compiles and queues every query anew, and the database plans it anew; a prepared statement does neither.
 * They read the committed rows, nothing is cached: a faster way to the same rows. Transactions keep using knex.
 *
 * One implementation per dialect: storage/sqlite-reads.ts (a read-only connection of its own, synchronous) and
 * storage/pg-reads.ts (named statements on the connections of knex's own pool, one round trip each).
 */
import { CLIENT_COLUMNS } from './clients.js';

export interface HotReads {
  readonly dialect: 'sqlite' | 'postgres';
  clientRow(id: string): Row | Promise<Row>;
  tokenStateRow(clientId: string, sid: string | null, jti: string): Row | Promise<Row>;
  /** The caller's client row and the token state in one statement (CALLER_AND_TOKEN_STATE_SQL). */
  callerAndTokenStateRow(callerId: string, clientId: string, sid: string | null, jti: string): Row | Promise<Row>;
  close(): void;
}

type Row = Record<string, unknown> | undefined;

/** The token-state query with `?` placeholders in the order (sid, jti, clientId). */
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

export const CLIENT_ROW_SQL = `SELECT ${CLIENT_COLUMNS.join(', ')} FROM clients WHERE id = ?`;

/**
 * The introspecting caller's client row (the columns of CLIENT_ROW_SQL) and the state of the token it asks
 * about (as TOKEN_STATE_SQL, plus token_client_id: null when the token's client does not exist), in one
 * statement: one round trip where there were two. `?` in the order (clientId, sid, jti, callerId). No row when
 * the caller does not exist. The state's aliases are not column names of clients.
 */
export const CALLER_AND_TOKEN_STATE_SQL = `
  SELECT ${CLIENT_COLUMNS.map((column) => `k.${column}`).join(', ')},
         c.id AS token_client_id, c.disabled_at AS client_disabled_at,
         s.id AS session_id, s.ended_at AS session_ended_at, s.expires_at AS session_expires_at,
         u.disabled_at AS user_disabled_at, u.username AS username,
         r.jti AS revoked_jti
  FROM clients k
  LEFT JOIN clients c ON c.id = ?
  LEFT JOIN sessions s ON s.id = ?
  LEFT JOIN users u ON u.id = s.user_id
  LEFT JOIN revoked_access_tokens r ON r.jti = ?
  WHERE k.id = ?
  LIMIT 1`;
