import type { Knex } from 'knex';

/** Brute-force counters, the audit trail, and a second client secret for rotation without downtime. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('throttle', (t) => {
    t.string('key', 64).primary(); // SHA-256 hex of what is counted
    t.integer('failures').notNullable();
    t.bigInteger('last_failure_at').notNullable();
    t.bigInteger('blocked_until').notNullable();
    t.index(['last_failure_at']);
  });
  await knex.schema.createTable('audit_events', (t) => {
    t.string('id', 36).primary(); // UUIDv7: time-ordered
    t.bigInteger('at').notNullable();
    t.string('type', 32).notNullable();
    t.string('actor', 256).notNullable();
    t.string('subject', 256).nullable();
    t.string('client_id', 128).nullable();
    t.string('detail', 512).nullable();
    t.index(['at']);
    t.index(['subject', 'at']);
  });
  await knex.schema.alterTable('clients', (t) => {
    t.string('previous_secret_hash', 64).nullable();
    t.bigInteger('previous_secret_expires_at').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.dropColumn('previous_secret_expires_at');
    t.dropColumn('previous_secret_hash');
  });
  await knex.schema.dropTableIfExists('audit_events');
  await knex.schema.dropTableIfExists('throttle');
}
