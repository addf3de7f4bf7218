import type { Knex } from 'knex';

/**
 * Logging in through the browser (issue #14): the authorization code flow with PKCE, an issuer login session in a
 * cookie, and consent for third-party clients.
 *
 * - clients: the redirect URIs a code may be sent to (RFC 6749 §3.1.2, exact match), the URIs a logout may
 *   return to, and whether the client is a third party (consent).
 * - login_sessions: the issuer's own session, one per browser login. The cookie holds a random value; only its
 *   SHA-256 is stored, like a refresh token. Token sessions opened through it carry its id.
 * - authorization_requests: an authorization request waiting for the login or consent form, bound to the
 *   browser that opened it. Its id travels in the form; only its hash is stored.
 * - authorization_codes: hashes only; consumed once by a conditional UPDATE; the session opened from a code is
 *   recorded so that a second use can end it (RFC 6749 §4.1.2).
 * - consents: what a user allowed a third-party client, per (user, client).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.text('redirect_uris').notNullable().defaultTo(''); // space-separated; a redirect URI never holds a space
    t.text('post_logout_redirect_uris').notNullable().defaultTo('');
    t.boolean('third_party').notNullable().defaultTo(false);
  });

  await knex.schema.createTable('login_sessions', (t) => {
    t.string('id', 36).primary(); // UUIDv7; what sessions.login_session_id names
    t.string('token_hash', 64).notNullable().unique(); // SHA-256 hex of the cookie value; replaced at each login
    t.string('user_id', 36).notNullable().references('users.id');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('authenticated_at').notNullable(); // the last password check (max_age, prompt=login)
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('ended_at').nullable();
    t.string('end_reason', 32).nullable();
    t.index(['user_id']);
    t.index(['expires_at']);
    t.index(['ended_at']);
  });

  await knex.schema.alterTable('sessions', (t) => {
    t.string('login_session_id', 36).nullable(); // no foreign key: the janitor removes login sessions first
    t.index(['login_session_id']);
  });

  await knex.schema.createTable('authorization_requests', (t) => {
    t.string('id_hash', 64).primary();
    t.string('browser_hash', 64).notNullable(); // SHA-256 of the browser cookie of the browser that opened it
    t.string('client_id', 128).notNullable();
    t.text('redirect_uri').notNullable();
    t.text('state').nullable();
    t.string('code_challenge', 64).notNullable();
    t.text('scope').notNullable();
    t.text('audience').notNullable();
    t.string('login_session_id', 36).nullable(); // set once the user is logged in for this request
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('completed_at').nullable(); // set once, by the answer that ended it
    t.index(['expires_at']);
  });

  await knex.schema.createTable('authorization_codes', (t) => {
    t.string('code_hash', 64).primary();
    t.string('client_id', 128).notNullable();
    t.text('redirect_uri').notNullable();
    t.string('code_challenge', 64).notNullable();
    t.string('user_id', 36).notNullable();
    t.string('login_session_id', 36).notNullable();
    t.text('scope').notNullable();
    t.text('audience').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('used_at').nullable(); // set once, by the one redemption that consumed it
    t.string('session_id', 36).nullable(); // the session that redemption opened
    t.index(['expires_at']);
  });

  await knex.schema.createTable('consents', (t) => {
    t.string('user_id', 36).notNullable().references('users.id');
    t.string('client_id', 128).notNullable().references('clients.id');
    t.text('scope').notNullable();
    t.bigInteger('granted_at').notNullable();
    t.primary(['user_id', 'client_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('consents');
  await knex.schema.dropTableIfExists('authorization_codes');
  await knex.schema.dropTableIfExists('authorization_requests');
  await knex.schema.alterTable('sessions', (t) => {
    t.dropIndex(['login_session_id']);
    t.dropColumn('login_session_id');
  });
  await knex.schema.dropTableIfExists('login_sessions');
  await knex.schema.alterTable('clients', (t) => {
    t.dropColumn('third_party');
    t.dropColumn('post_logout_redirect_uris');
    t.dropColumn('redirect_uris');
  });
}
