import type { Knex } from 'knex';

/**
 * The event outbox (issue #12): every change that ends tokens early (a session ended, a password changed, a user
 * disabled or enabled again, a client disabled, an access token or a signing key revoked) writes one row here in
 * the same transaction as the change, so an event exists exactly when its change committed. The Shared Signals
 * transmitter reads it; the janitor deletes rows older than GATEHOUSE_EVENT_RETENTION_SECONDS.
 *
 * `id` grows in commit order: AUTOINCREMENT on SQLite (one writer; ids never reused after a delete), and on
 * PostgreSQL every writer takes one advisory lock before drawing its id (storage/events.ts), so a reader that
 * has seen id n never sees a smaller id commit later.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('events', (t) => {
    t.bigIncrements('id');
    t.string('type', 32).notNullable(); // storage/events.ts EventType
    t.string('session_id', 36).nullable(); // the session that ended (sid)
    t.string('user_id', 36).nullable(); // the user concerned (their sub)
    t.string('client_id', 128).nullable();
    t.string('jti', 64).nullable(); // a revoked access token
    t.string('kid', 128).nullable(); // a revoked signing key
    t.string('stream_id', 36).nullable(); // for events meant for one stream only (verification, stream updated)
    t.string('reason', 32).nullable(); // why: a session end reason, 'admin', …
    t.string('initiator', 16).nullable(); // CAEP initiating_entity: admin, user, policy, system
    t.text('detail').nullable(); // a small JSON object some types carry (the verification state)
    t.bigInteger('created_at').notNullable();
    t.index(['created_at']);
  });

  await knex.schema.alterTable('clients', (t) => {
    t.boolean('receiver').notNullable().defaultTo(false); // may manage Shared Signals streams (ssf.manage, ssf.read)
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => t.dropColumn('receiver'));
  await knex.schema.dropTableIfExists('events');
}
