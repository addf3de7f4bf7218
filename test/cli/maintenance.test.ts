/** `gatehouse migrate` and `gatehouse janitor`, spawned for real. */
import test from 'ava';
import { cleanup, sandbox } from '../helpers/process.js';

test.after.always(cleanup);

test('migrate creates the schema on an empty database and is idempotent; janitor reports what it deleted', async (t) => {
  const box = await sandbox();
  t.deepEqual(await box.cliJson(['migrate']), { migrated: true });
  t.deepEqual(await box.cliJson(['migrate']), { migrated: true });
  t.deepEqual(await box.cliJson(['clients', 'list']), [], 'the schema is there');
  t.deepEqual(await box.cliJson(['janitor']), {
    revocations_deleted: 0,
    refresh_tokens_deleted: 0,
    sessions_deleted: 0,
    throttle_counters_deleted: 0,
    audit_events_deleted: 0,
    events_deleted: 0,
    streams_disabled: 0,
    streams_deleted: 0,
  });
  const extra = await box.cli(['migrate', 'now']);
  t.is(extra.code, 2, 'migrate takes no argument');
});
