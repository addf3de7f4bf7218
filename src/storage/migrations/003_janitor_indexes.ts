import type { Knex } from 'knex';

/** Indexes for the janitor's range deletes, so that cleaning up never scans a whole table. */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_tokens', (t) => t.index(['expires_at']));
  await knex.schema.alterTable('revoked_access_tokens', (t) => t.index(['expires_at']));
  await knex.schema.alterTable('sessions', (t) => {
    t.index(['expires_at']);
    t.index(['ended_at']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('sessions', (t) => {
    t.dropIndex(['ended_at']);
    t.dropIndex(['expires_at']);
  });
  await knex.schema.alterTable('revoked_access_tokens', (t) => t.dropIndex(['expires_at']));
  await knex.schema.alterTable('refresh_tokens', (t) => t.dropIndex(['expires_at']));
}
