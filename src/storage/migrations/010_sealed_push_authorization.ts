import type { Knex } from 'knex';

/**
 * The push receiver's Authorization header sealed at rest (keys/encryption.ts, PUSH_AUTHORIZATION), in a column
 * of its own: a migration cannot seal (it has no key secret), so a header 009 stored in the clear stays in
 * `push_authorization` until the issuer's next start or `gatehouse keys reencrypt` seals it and clears it there
 * (StreamStore.sealLegacyAuthorizations). New streams never write the clear column.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ssf_streams', (t) => {
    t.text('push_authorization_sealed').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('ssf_streams', (t) => {
    t.dropColumn('push_authorization_sealed');
  });
}
