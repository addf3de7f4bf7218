import type { Knex } from 'knex';

/**
 * The core schema. Times are integer epoch seconds. Bearer secrets (refresh tokens, client secrets) are stored
 * only as SHA-256 hex; private keys only encrypted.
 */
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('clients', (t) => {
    t.string('id', 128).primary();
    t.string('secret_hash', 64).nullable();
    t.text('grant_types').notNullable(); // space-separated
    t.text('scope').notNullable(); // space-separated
    t.text('audiences').notNullable(); // space-separated absolute URIs
    t.boolean('introspect').notNullable().defaultTo(false);
    t.bigInteger('created_at').notNullable();
    t.bigInteger('disabled_at').nullable();
  });

  await knex.schema.createTable('users', (t) => {
    t.string('id', 36).primary(); // the stable `sub`
    t.string('username', 256).notNullable();
    t.string('username_key', 256).notNullable().unique(); // NFKC + lower case, for lookups
    t.text('password_hash').notNullable(); // Argon2id PHC string
    t.bigInteger('created_at').notNullable();
    t.bigInteger('disabled_at').nullable();
  });

  await knex.schema.createTable('sessions', (t) => {
    t.string('id', 36).primary(); // the `sid`, a UUIDv7
    t.string('user_id', 36).notNullable().references('users.id');
    t.string('client_id', 128).notNullable().references('clients.id');
    t.text('scope').notNullable();
    t.text('audience').notNullable();
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable(); // absolute end: created_at + GATEHOUSE_SESSION_MAX_AGE
    t.bigInteger('ended_at').nullable();
    t.string('end_reason', 32).nullable();
    t.index(['user_id']);
    t.index(['client_id']);
  });

  await knex.schema.createTable('refresh_tokens', (t) => {
    t.string('token_hash', 64).primary();
    t.string('session_id', 36).notNullable().references('sessions.id');
    t.bigInteger('created_at').notNullable();
    t.bigInteger('expires_at').notNullable();
    t.bigInteger('rotated_at').nullable(); // set once, by the one rotation that consumed it
    t.index(['session_id']);
  });

  await knex.schema.createTable('revoked_access_tokens', (t) => {
    t.string('jti', 64).primary();
    t.bigInteger('expires_at').notNullable(); // the token's exp: the row is useless after it
    t.bigInteger('revoked_at').notNullable();
  });

  await knex.schema.createTable('signing_keys', (t) => {
    t.string('kid', 64).primary();
    t.string('alg', 16).notNullable();
    t.string('state', 16).notNullable(); // next | current | retired | revoked
    t.text('public_jwk').notNullable();
    t.text('private_key').notNullable(); // AES-256-GCM envelope, see keys/encryption.ts
    t.bigInteger('created_at').notNullable();
    t.bigInteger('activated_at').nullable();
    t.bigInteger('retired_at').nullable();
    t.bigInteger('revoked_at').nullable();
  });
  // At most one current and one next key, enforced by the database itself (partial unique indexes work on
  // SQLite and PostgreSQL alike), so no interleaving of two instances can ever leave two signing keys.
  await knex.raw(`CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (state) WHERE state = 'current'`);
  await knex.raw(`CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys (state) WHERE state = 'next'`);
}

export async function down(knex: Knex): Promise<void> {
  for (const table of ['signing_keys', 'revoked_access_tokens', 'refresh_tokens', 'sessions', 'users', 'clients']) {
    await knex.schema.dropTableIfExists(table);
  }
}
