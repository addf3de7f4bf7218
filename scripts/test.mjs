#!/usr/bin/env node
// `npm test`: the whole suite on SQLite, then again on PostgreSQL when TEST_DATABASE_URL is set.
// Arguments are passed to ava (e.g. `npm test -- --tap`). Exits non-zero if either run fails.
import { spawnSync } from 'node:child_process';

const args = process.argv.slice(2);
const ava = (dialect) =>
  spawnSync(process.execPath, ['node_modules/ava/entrypoints/cli.mjs', ...args], {
    stdio: 'inherit',
    env: { ...process.env, GATEHOUSE_TEST_DIALECT: dialect },
  }).status ?? 1;

console.log('# SQLite suite');
let status = ava('sqlite');
if (process.env.TEST_DATABASE_URL) {
  console.log('# PostgreSQL suite (TEST_DATABASE_URL is set)');
  status = ava('postgres') || status;
} else {
  console.log('# PostgreSQL suite skipped: TEST_DATABASE_URL is not set');
}
process.exit(status);
