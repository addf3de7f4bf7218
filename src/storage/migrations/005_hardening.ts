import type { Knex } from 'knex';

/**
 * What the security review asked of the schema:
 * - users.credential_generation: incremented by every password change, and re-checked inside the transaction
 *   that opens a session, so a login that checked the old password cannot open a session after the change.
 * - refresh_tokens.parent_hash / child_used_at / superseded_at: a refresh token's family. Successors minted from
 *   one token (the grace window) are siblings; once one of them is used the others are superseded, and a
 *   superseded token that comes back is reuse (RFC 9700 §4.14.2).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('users', (t) => {
    t.integer('credential_generation').notNullable().defaultTo(0);
  });
  await knex.schema.alterTable('refresh_tokens', (t) => {
    t.string('parent_hash', 64).nullable(); // the token this one was minted from by a refresh
    t.bigInteger('child_used_at').nullable(); // when a token minted from this one was first used
    t.bigInteger('superseded_at').nullable(); // a sibling was used first: this one may never be used
    t.index(['parent_hash']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('refresh_tokens', (t) => {
    t.dropIndex(['parent_hash']);
    t.dropColumn('superseded_at');
    t.dropColumn('child_used_at');
    t.dropColumn('parent_hash');
  });
  await knex.schema.alterTable('users', (t) => {
    t.dropColumn('credential_generation');
  });
}
