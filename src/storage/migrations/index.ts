import type { Knex } from 'knex';
import * as initial from './001_initial.js';
import * as publicClients from './002_public_clients.js';
import * as janitorIndexes from './003_janitor_indexes.js';
import * as security from './004_security.js';
import * as hardening from './005_hardening.js';
import * as browserLogin from './006_browser_login.js';
import * as events from './007_events.js';
import * as sharedSignals from './008_shared_signals.js';
import * as ssfPush from './009_ssf_push.js';
import * as sealedPushAuthorization from './010_sealed_push_authorization.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * Migrations are listed here, in order, rather than discovered on disk: the same list works from src/ under tsx
 * and from the compiled dist/, on SQLite and PostgreSQL alike. Add a file and one line.
 */
const migrations: ReadonlyArray<readonly [string, Migration]> = [
  ['001_initial', initial],
  ['002_public_clients', publicClients],
  ['003_janitor_indexes', janitorIndexes],
  ['004_security', security],
  ['005_hardening', hardening],
  ['006_browser_login', browserLogin],
  ['007_events', events],
  ['008_shared_signals', sharedSignals],
  ['009_ssf_push', ssfPush],
  ['010_sealed_push_authorization', sealedPushAuthorization],
];

export const migrationSource: Knex.MigrationSource<readonly [string, Migration]> = {
  getMigrations: async () => [...migrations],
  getMigrationName: ([name]) => name,
  getMigration: async ([, migration]) => migration,
};
