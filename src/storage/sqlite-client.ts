/**
 * knex's better-sqlite3 client with one change: write transactions start with BEGIN IMMEDIATE.
 *
 * With knex's plain BEGIN (deferred), a transaction that reads and then writes asks for the write lock only at
 * its first write; if another process committed in between, SQLite answers SQLITE_BUSY at once, without waiting
 * (its busy handler cannot help a stale snapshot). BEGIN IMMEDIATE takes the write lock first, waiting up to
 * busy_timeout, so read-then-write transactions (refresh rotation) work with several processes on one file.
 * And a rollback that SQLite already did itself reports the error that caused it.
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

  /**
   * SQLite rolls a transaction back by itself on some errors (SQLITE_FULL, SQLITE_IOERR, …). knex's ROLLBACK then
   * fails with "no transaction is active", and that error would replace the one that matters.
   */
  rollback(connection: { inTransaction?: boolean } | undefined, error: unknown): Promise<unknown> {
    if (connection?.inTransaction === false) {
      this._completed = true;
      this._rejecter(error);
      return Promise.resolve();
    }
    return super.rollback(connection, error);
  }
}

export class SqliteClient extends BetterSqlite3Client {
  transaction(...args: unknown[]): unknown {
    return new ImmediateTransaction(this, ...args);
  }
}
