import type { Knex } from 'knex';

/**
 * Push delivery (RFC 8935) for Shared Signals streams.
 *
 * - ssf_streams: the delivery method (poll by default), the receiver's endpoint and the Authorization header
 *   value to send there (a secret: never logged nor returned), the lease that makes one worker at a time deliver
 *   the stream (`push_lease_owner` until `push_lease_until`, epoch ms), when its head SET may be tried again
 *   (`push_retry_at`, epoch ms), and for operators: SETs delivered, the last attempt and the last error.
 * - ssf_pending: per SET, its delivery `state` (pending; `rejected`: the receiver answered 400 with an RFC 8935
 *   §2.3 error; `dead`: given up after the attempt limit), how many attempts failed, the last one and its error.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ssf_streams', (t) => {
    t.string('delivery_method', 32).notNullable().defaultTo('urn:ietf:rfc:8936');
    t.text('push_endpoint').nullable();
    t.text('push_authorization').nullable();
    t.string('push_lease_owner', 36).nullable();
    t.bigInteger('push_lease_until').nullable();
    t.bigInteger('push_retry_at').nullable();
    t.bigInteger('push_delivered').notNullable().defaultTo(0);
    t.bigInteger('push_last_attempt_at').nullable();
    t.bigInteger('push_last_success_at').nullable();
    t.text('push_last_error').nullable();
  });
  await knex.schema.alterTable('ssf_pending', (t) => {
    t.string('state', 16).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.bigInteger('last_attempt_at').nullable();
    t.text('last_error').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ssf_pending', (t) => {
    t.dropColumns('state', 'attempts', 'last_attempt_at', 'last_error');
  });
  await knex.schema.alterTable('ssf_streams', (t) => {
    t.dropColumns('delivery_method', 'push_endpoint', 'push_authorization', 'push_lease_owner', 'push_lease_until', 'push_retry_at', 'push_delivered', 'push_last_attempt_at', 'push_last_success_at', 'push_last_error');
  });
}
