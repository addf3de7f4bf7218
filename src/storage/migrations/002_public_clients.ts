import type { Knex } from 'knex';

/**
 * Public clients (RFC 6749 §2.1: clients "incapable of maintaining the confidentiality of their credentials",
 * such as apps in a browser) and the web origins each may call /token and /revoke from (CORS).
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.boolean('public_client').notNullable().defaultTo(false); // token_endpoint_auth_method "none"
    t.text('origins').notNullable().defaultTo(''); // space-separated web origins, e.g. https://app.example
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('clients', (t) => {
    t.dropColumn('origins');
    t.dropColumn('public_client');
  });
}
