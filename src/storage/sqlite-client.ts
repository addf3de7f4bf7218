/**
 * knex's better-sqlite3 client with one change: write transactions start with BEGIN IMMEDIATE.
 *
 * With knex's plain BEGIN (deferred), a transaction that reads and then writes asks for the write lock only at
 * its first write; if another process committed in between, SQLite answers SQLITE_BUSY at once, without waiting
 * (its busy handler cannot help a stale snapshot). BEGIN IMMEDIATE takes the write lock first, waiting up to
 * busy_timeout, so read-then-write transactions (refresh rotation) work with several processes on one file.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

type Constructor = new (...args: any[]) => any;
const BetterSqlite3Client = require('knex/lib/dialects/better-sqlite3/index.js') as Constructor;
const SqliteTransaction = require('knex/lib/dialects/sqlite3/execution/sqlite-transaction.js') as Constructor;

class ImmediateTransaction extends SqliteTransaction {
  begin(connection: unknown): Promise<unknown> {
    return this.query(connection, 'BEGIN IMMEDIATE;');
  }
}

export class SqliteClient extends BetterSqlite3Client {
  transaction(...args: unknown[]): unknown {
    return new ImmediateTransaction(this, ...args);
  }
}
