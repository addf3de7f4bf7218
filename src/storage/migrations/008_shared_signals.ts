import type { Knex } from 'knex';

/**
 * The Shared Signals transmitter (issue #12): event streams (OpenID SSF 1.0 §8) and what each one still owes its
 * receiver.
 *
 * - ssf_streams: one per stream a receiver created; `cursor` is the id of the last outbox event already sorted
 *   into this stream (a new stream starts at the newest event: it receives what happens from then on).
 * - ssf_pending: the events sorted into a stream and not acknowledged yet (RFC 8936 §2.4: a SET is sent again
 *   until it is acknowledged). Each stream has its own rows, so every receiver gets every event.
 * - ssf_excluded_subjects: subjects a receiver removed from its stream (SSF 1.0 §8.1.3.3); streams carry every
 *   subject by default (default_subjects ALL), so only removals are stored. `kind`: user, session, application.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('ssf_streams', (t) => {
    t.string('id', 36).primary();
    t.string('client_id', 128).notNullable().references('clients.id');
    t.text('audience').notNullable(); // `aud` of its SETs
    t.text('events_requested').notNullable(); // space-separated event type URIs
    t.text('description').nullable();
    t.string('status', 16).notNullable(); // enabled, paused, disabled (SSF §8.1.2)
    t.text('status_reason').nullable();
    t.bigInteger('cursor').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('updated_at').notNullable();
    t.bigInteger('polled_at').nullable();
    t.index(['client_id']);
  });

  await knex.schema.createTable('ssf_pending', (t) => {
    t.string('stream_id', 36).notNullable();
    t.bigInteger('event_id').notNullable();
    t.primary(['stream_id', 'event_id']);
    t.index(['event_id']);
  });

  await knex.schema.createTable('ssf_excluded_subjects', (t) => {
    t.string('stream_id', 36).notNullable();
    t.string('kind', 16).notNullable();
    t.string('value', 128).notNullable();
    t.primary(['stream_id', 'kind', 'value']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('ssf_excluded_subjects');
  await knex.schema.dropTableIfExists('ssf_pending');
  await knex.schema.dropTableIfExists('ssf_streams');
}
