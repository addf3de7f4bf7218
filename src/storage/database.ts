/**
 * The one place that knows which database is behind knex. Everything else speaks knex's query builder.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import knexFactory, { type Knex } from 'knex';
import { ConfigError, type DatabaseConfig } from '../config.js';
import { silentLogger, type Logger } from '../lib/log.js';
import { migrationSource } from './migrations/index.js';
import { SqliteClient } from './sqlite-client.js';
import type { HotReads } from './hot-reads.js';
import { openPgReads } from './pg-reads.js';
import { openSqliteReads } from './sqlite-reads.js';

export type Database = Knex;

export function createDatabase(config: DatabaseConfig, log: Logger = silentLogger): Database {
  return config.client === 'sqlite' ? createSqlite(config.filename, log) : createPostgres(config, log);
}

/** knex's own warnings (a failed connection attempt, say) as one log line each, without stacks or SQL. */
function knexLog(log: Logger) {
  const firstLine = (message: unknown) => String(message).split('\n')[0]!.slice(0, 300);
  return {
    warn: (message: unknown) => log.warn(`database: ${firstLine(message)}`),
    error: (message: unknown) => log.error(`database: ${firstLine(message)}`),
    deprecate: () => {},
    debug: () => {},
  };
}

function createPostgres(config: Extract<DatabaseConfig, { client: 'postgres' }>, log: Logger): Database {
  return knexFactory({
    log: knexLog(log),
    client: 'pg',
    connection: {
      connectionString: config.connectionString,
      connectionTimeoutMillis: config.connectTimeoutSeconds * 1000,
      // A query that hangs (a lock held elsewhere, a stalled server) fails instead of holding a request forever.
      statement_timeout: config.statementTimeoutSeconds * 1000,
      query_timeout: (config.statementTimeoutSeconds + 1) * 1000,
      keepAlive: true,
    },
    // min 0: a pool that held a broken connection after an outage would hand it out again; new ones are cheap.
    pool: { min: 0, max: config.poolMax, idleTimeoutMillis: 30_000 },
    acquireConnectionTimeout: config.connectTimeoutSeconds * 1000,
  });
}

function createSqlite(filename: string, log: Logger): Database {
  if (filename !== ':memory:') {
    try {
      mkdirSync(dirname(filename), { recursive: true });
      // Create the file ourselves so it is 0600 from its first byte: it holds password hashes and sessions.
      closeSync(openSync(filename, 'a', 0o600));
    } catch (error) {
      throw new ConfigError('DATABASE_URL', `cannot create ${filename} (${(error as { code?: string }).code ?? 'error'})`);
    }
  }
  return knexFactory({
    log: knexLog(log),
    client: SqliteClient as unknown as typeof knexFactory.Client,
    connection: { filename },
    useNullAsDefault: true,
    // better-sqlite3 is synchronous: one connection serialises every statement of this process, and
    // transactions cannot interleave. Several processes on one file are serialised by SQLite's own lock.
    pool: {
      min: 1,
      max: 1,
      afterCreate(connection: { pragma(sql: string): unknown }, done: (error: Error | null, connection: unknown) => void) {
        try {
          // WAL: readers never block the writer, and a crash of the process loses no committed transaction.
          connection.pragma('journal_mode = WAL');
          connection.pragma('synchronous = NORMAL');
          connection.pragma('foreign_keys = ON');
          connection.pragma('busy_timeout = 5000');
          done(null, connection);
        } catch (error) {
          done(error as Error, connection);
        }
      },
    },
  });
}

/** An arbitrary constant: the PostgreSQL advisory lock that serialises migrations across instances. */
const MIGRATION_LOCK = 0x6761_7465; // "gate"
/** How long an instance waits for another one's migrations before it gives up starting. */
const MIGRATION_WAIT_MS = 300_000;

/**
 * Applies pending migrations. On PostgreSQL, instances starting together wait on an advisory lock instead of
 * failing on knex's own lock ("Migration table is already locked"); the lock is held by a transaction on one
 * connection while knex migrates on another, and released when that transaction ends.
 *
 * The lock is keyed by the schema (the search_path's first), which is what knex migrates: instances of one
 * deployment share it, while deployments on other schemas of the same database (tenants, test runs) do not wait
 * for each other. And the wait is not bounded by GATEHOUSE_DB_STATEMENT_TIMEOUT: another instance's migrations
 * (a new index on a large table) may well take longer than any single query should.
 */
export async function migrate(db: Database): Promise<void> {
  if (db.client.config.client !== 'pg') {
    await db.migrate.latest({ migrationSource });
    return;
  }
  await db.transaction(async (lock) => {
    await lock.raw(`SET LOCAL statement_timeout = ${MIGRATION_WAIT_MS}`);
    await lock.raw('SELECT pg_advisory_xact_lock(?, hashtext(current_schema()))', [MIGRATION_LOCK]);
    await db.migrate.latest({ migrationSource });
  });
}

const UNAVAILABLE_SQLITE = /^SQLITE_(BUSY|LOCKED|FULL|IOERR|CANTOPEN|READONLY|PROTOCOL|NOLFS)/;
/** node-postgres reports a lost or timed-out connection with these messages and no code (pg/lib/client.js). */
const PG_CONNECTION_LOST =
  /(^| - )(Connection terminated( unexpectedly| due to connection timeout)?|Client has encountered a connection error and is not queryable|Client was closed and is not queryable|Query read timeout|timeout expired|timeout exceeded when trying to connect)$/;
const UNAVAILABLE_NODE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND']);

/**
 * True for faults of the database rather than of the request: the server answers them with 503
 * temporarily_unavailable, because the same request can succeed once the database is back.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === 'KnexTimeoutError') return true;
  if (PG_CONNECTION_LOST.test(error.message)) return true;
  const code = (error as { code?: unknown }).code;
  if (typeof code !== 'string') return false;
  if (UNAVAILABLE_SQLITE.test(code) || UNAVAILABLE_NODE.has(code)) return true;
  // PostgreSQL SQLSTATE classes 08 (connection exception), 53 (insufficient resources), 57P (operator intervention).
  return /^(08|53|57P)/.test(code);
}

/** How many times a transaction rolled back by the database is run in all (storage/store.ts, the PostgreSQL rotation). */
export const TRANSACTION_ATTEMPTS = 4;

/**
 * PostgreSQL serialization_failure and deadlock_detected: the database rolled the transaction back as a whole,
 * certainly, so running it again cannot apply anything twice.
 */
export function isRetryableTransaction(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === '40001' || code === '40P01';
}

/** The pause before attempt `attempt + 1` of such a transaction: short, growing, jittered. */
export function transactionRetryPause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 5 * attempt + Math.random() * 20));
}

/** A primary-key or unique-index conflict: the caller tried to create something that exists. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === 'SQLITE_CONSTRAINT_UNIQUE' || code === '23505';
}

/**
 * Prepared statements for the hot reads (storage/hot-reads.ts): on PostgreSQL, and on a SQLite file (an
 * in-memory database has no second connection to read through); undefined otherwise, and the repositories read
 * through knex.
 */
export function openHotReads(config: DatabaseConfig, db: Database): HotReads | undefined {
  if (config.client === 'postgres') return openPgReads(db);
  return config.filename !== ':memory:' ? openSqliteReads(config.filename) : undefined;
}
