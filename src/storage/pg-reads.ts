/**
 * The hot reads (storage/hot-reads.ts) on PostgreSQL: named prepared statements, run on a connection of knex's
 * own pool (so GATEHOUSE_DB_POOL_MAX bounds them with everything else, and the connection's statement_timeout,
 * query_timeout and keep-alive apply). node-postgres prepares a named statement once per connection and then
 * sends only Bind/Execute: no SQL text to parse, no plan to make, and none of knex's query building. Errors are
 * those of any other query (storage/database.ts classifies them: a lost database is a 503).
 */
import type { Knex } from 'knex';
import { CALLER_AND_TOKEN_STATE_SQL, CLIENT_ROW_SQL, TOKEN_STATE_SQL, type HotReads } from './hot-reads.js';

/** A node-postgres client, as knex's pool hands it out. */
export interface PgConnection {
  query(config: string | { name: string; text: string; values: unknown[] }): Promise<{ rowCount: number | null; rows: Array<Record<string, unknown>> }>;
  /** Set when the connection must not be handed out again: knex's pool destroys it at the next validation. */
  __knex__disposed?: unknown;
}

/** knex's pool, for statements of our own on its connections. */
export function pgPool(db: Knex): { acquireConnection(): Promise<PgConnection>; releaseConnection(connection: PgConnection): Promise<void> } {
  return db.client as ReturnType<typeof pgPool>;
}

/** `?` placeholders as PostgreSQL's $1, $2, …: the SQL is ours and holds no literal question mark. */
export const numbered = (sql: string) => {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
};

const CLIENT_ROW = { name: 'gatehouse_client_row', text: numbered(CLIENT_ROW_SQL) };
const TOKEN_STATE = { name: 'gatehouse_token_state', text: numbered(TOKEN_STATE_SQL) };
const CALLER_AND_TOKEN_STATE = { name: 'gatehouse_caller_and_token_state', text: numbered(CALLER_AND_TOKEN_STATE_SQL) };

export function openPgReads(db: Knex): HotReads {
  const client = pgPool(db);
  const first = async (statement: { name: string; text: string }, values: unknown[]) => {
    const connection = await client.acquireConnection();
    try {
      const result = await connection.query({ ...statement, values });
      return result.rows[0];
    } finally {
      await client.releaseConnection(connection);
    }
  };
  return {
    dialect: 'postgres',
    clientRow: (id) => first(CLIENT_ROW, [id]),
    tokenStateRow: (clientId, sid, jti) => first(TOKEN_STATE, [sid ?? '', jti, clientId]),
    callerAndTokenStateRow: (callerId, clientId, sid, jti) => first(CALLER_AND_TOKEN_STATE, [clientId, sid ?? '', jti, callerId]),
    close: () => {},
  };
}
