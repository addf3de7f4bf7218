/**
 * Which database the suite runs on. `npm test` runs every file on SQLite, then again on PostgreSQL when
 * TEST_DATABASE_URL is set (scripts/test.mjs sets GATEHOUSE_TEST_DIALECT for the second run). Each issuer a test
 * starts gets a database of its own: a fresh SQLite file, or a fresh PostgreSQL schema (its search_path goes in
 * the connection string, so the issuer needs no test-only setting).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import knexFactory from 'knex';

export const DIALECT: 'sqlite' | 'postgres' = process.env.GATEHOUSE_TEST_DIALECT === 'postgres' ? 'postgres' : 'sqlite';
export const onPostgres = DIALECT === 'postgres';

function adminUrl(): string {
  const url = process.env.TEST_DATABASE_URL;
  if (!url) throw new Error('GATEHOUSE_TEST_DIALECT=postgres needs TEST_DATABASE_URL');
  return url;
}

export interface TestDatabase {
  /** The DATABASE_URL to give the issuer. */
  url: string;
  /** Drops the schema (PostgreSQL); the SQLite file goes with its folder. */
  drop(): Promise<void>;
}

async function withAdmin<T>(work: (admin: ReturnType<typeof knexFactory>) => Promise<T>): Promise<T> {
  const admin = knexFactory({ client: 'pg', connection: adminUrl(), pool: { min: 0, max: 1 } });
  try {
    return await work(admin);
  } finally {
    await admin.destroy();
  }
}

/** A database of its own for one issuer (or for several instances that share it). */
export async function freshDatabase(dir: string): Promise<TestDatabase> {
  if (!onPostgres) return { url: `sqlite:${join(dir, 'gatehouse.sqlite')}`, drop: async () => {} };
  const schema = `gh_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.raw(`CREATE SCHEMA ${schema}`));
  const url = new URL(adminUrl());
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    url: url.toString(),
    drop: () => withAdmin((admin) => admin.raw(`DROP SCHEMA IF EXISTS ${schema} CASCADE`)).then(() => undefined),
  };
}
