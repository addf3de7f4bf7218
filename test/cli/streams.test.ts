/**
 * `gatehouse clients create --receiver` and `gatehouse streams list|show|disable`, spawned for real against a
 * running server (issue #12): the CLI is another process, so what it changes reaches a waiting long poll through
 * the database alone (NOTIFY on PostgreSQL, the table poll on SQLite).
 */
import test from 'ava';
import { decodeJwt, send, type Reply } from '../helpers/http.js';
import { cleanup, client, sandbox, seed } from '../helpers/process.js';

test.after.always(cleanup);

const json = (url: string, method: string, token: string, body?: unknown): Promise<Reply> =>
  send(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

test('a --receiver client gets client_credentials and ssf.manage ssf.read; no other client may hold those scopes', async (t) => {
  const box = await sandbox();
  const created = await box.cliJson(['clients', 'create', '--id', 'events-rx', '--receiver']);
  t.like(created, { client_id: 'events-rx', grant_types: ['client_credentials'], scope: 'ssf.manage ssf.read', receiver: true });
  const refused = await box.cli(['clients', 'create', '--id', 'sneaky', '--grants', 'client_credentials', '--scopes', 'read ssf.manage']);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /--receiver/);
});

test('streams list and show give the delivery state; an event the CLI causes wakes a long poll; streams disable stops delivery', async (t) => {
  const box = await sandbox();
  const { app } = await seed(box);
  const rx = await box.cliJson(['clients', 'create', '--id', 'events-rx', '--receiver']);
  await box.cli(['users', 'create', '--username', 'alice', '--password', 'correct-horse']);
  const server = await box.start();
  const http = client(server);
  const tokenReply = await http.token({ grant_type: 'client_credentials' }, { id: rx.client_id, secret: rx.client_secret });
  const token = tokenReply.json.access_token as string;
  const created = await json(`${server.url}/ssf/streams`, 'POST', token, { delivery: { method: 'urn:ietf:rfc:8936' }, description: 'api-1' });
  t.is(created.status, 201);
  const streamId = created.json.stream_id as string;

  const listed = await box.cliJson(['streams', 'list']);
  t.is(listed.length, 1);
  t.like(listed[0], { stream_id: streamId, client_id: 'events-rx', status: 'enabled', pending: 0, unsorted: 0, polled_at: null, description: 'api-1' });

  // A long poll waits; the CLI, another process, changes alice's password: the poll answers with that event.
  const { access } = await http.mustLogin(app, 'alice', 'correct-horse');
  const polling = json(`${server.url}/ssf/poll/${streamId}`, 'POST', token, {});
  const started = Date.now();
  await box.cli(['users', 'set-password', 'alice', '--password', 'another-horse-1']);
  const reply = await polling;
  t.is(reply.status, 200);
  const sets = Object.values(reply.json.sets as Record<string, string>);
  t.is(sets.length, 1);
  t.is(decodeJwt(sets[0]!).payload.sub_id.sub, decodeJwt(access).payload.sub);
  t.true(Date.now() - started < 20_000);

  // Not acknowledged: the stream still owes it, and show says so.
  const shown = await box.cliJson(['streams', 'show', streamId]);
  t.like(shown, { stream_id: streamId, status: 'enabled', pending: 1, unsorted: 0 });
  t.is(typeof shown.oldest_pending_at, 'number');
  t.is(typeof shown.polled_at, 'number');
  const human = await box.cli(['streams', 'list']);
  t.regex(human.stdout, new RegExp(`${streamId}\\s+events-rx\\s+enabled\\s+1`));

  t.like(await box.cliJson(['streams', 'disable', streamId, '--reason', 'receiver decommissioned']), { stream_id: streamId, status: 'disabled', reason: 'receiver decommissioned' });
  const status = await json(`${server.url}/ssf/status?stream_id=${streamId}`, 'GET', token);
  t.deepEqual(status.json, { stream_id: streamId, status: 'disabled', reason: 'receiver decommissioned' });
  t.deepEqual((await json(`${server.url}/ssf/poll/${streamId}`, 'POST', token, { returnImmediately: true })).json, { sets: {}, moreAvailable: false });
  t.like(await box.cliJson(['streams', 'show', streamId]), { pending: 0 });

  const missing = await box.cli(['streams', 'show', 'no-such-stream']);
  t.is(missing.code, 1);
  t.is((await box.cli(['streams', 'disable'])).code, 2);
});
