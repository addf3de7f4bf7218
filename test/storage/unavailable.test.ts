/** Which faults are "the database is unavailable" (503, try again) rather than a bug (500). */
import test from 'ava';
import { isDatabaseUnavailable } from '../../src/storage/database.js';

const fault = (code: string | undefined, message = 'boom', name = 'Error') => Object.assign(new Error(message), { code, name });

test('SQLite busy, locked, full, I/O and read-only errors are unavailability', (t) => {
  for (const code of ['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_LOCKED', 'SQLITE_FULL', 'SQLITE_IOERR', 'SQLITE_IOERR_WRITE', 'SQLITE_CANTOPEN', 'SQLITE_READONLY']) {
    t.true(isDatabaseUnavailable(fault(code)), code);
  }
});

test('PostgreSQL connection, resource and shutdown errors are unavailability', (t) => {
  for (const code of ['08006', '08001', '53300', '57P01', '57P03', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT']) t.true(isDatabaseUnavailable(fault(code)), code);
  for (const message of ['Connection terminated unexpectedly', 'select 1 - Connection terminated unexpectedly', 'timeout exceeded when trying to connect', 'Query read timeout']) {
    t.true(isDatabaseUnavailable(fault(undefined, message)), message);
  }
  t.true(isDatabaseUnavailable(fault(undefined, 'Knex: Timeout acquiring a connection', 'KnexTimeoutError')));
});

test('bugs and constraint violations are not', (t) => {
  for (const code of ['SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_ERROR', '23505', '42P01', '22P05', undefined]) t.false(isDatabaseUnavailable(fault(code)), String(code));
  t.false(isDatabaseUnavailable(new TypeError('x is undefined')));
  t.false(isDatabaseUnavailable('a string'));
});
