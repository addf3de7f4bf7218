/**
 * Faults: SIGTERM drains in-flight requests; kill -9 in the middle of a stream of refreshes loses nothing that
 * was answered and leaves nothing half-written; a full disk is a 503, not a crash.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/storage/database.js';
import { onPostgres } from '../helpers/database.js';
import { alice, startWorld } from '../helpers/fixtures.js';
import { postForm, send } from '../helpers/http.js';
import { cleanup, sandbox } from '../helpers/process.js';

test.after.always(cleanup);

const app = { id: 'app', secret: 'app-0123456789abcdef0123456789abcdef' };
const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');

async function seed(box: Awaited<ReturnType<typeof sandbox>>) {
  await box.cliJson(['clients', 'create', '--id', app.id, '--secret', app.secret, '--grants', 'password,refresh_token', '--scopes', 'read']);
  await box.cliJson(['users', 'create', '--username', 'alice', '--password', 'correct-horse']);
}

test('SIGTERM: the server stops accepting, finishes the request in flight, and exits 0', async (t) => {
  // Expensive Argon2 so that a login is still running when the signal arrives.
  const box = await sandbox({ GATEHOUSE_ARGON2_MEMORY_KIB: '262144', GATEHOUSE_ARGON2_ITERATIONS: '3' });
  await seed(box);
  const server = await box.start();
  const started = Date.now();
  const inFlight = postForm(`${server.url}/token`, { grant_type: 'password', username: 'alice', password: 'correct-horse' }, { auth: [app.id, app.secret] });
  await new Promise((resolve) => setTimeout(resolve, 400)); // the hash takes seconds; the request has arrived
  server.child.kill('SIGTERM');
  const reply = await inFlight;
  t.is(reply.status, 200, 'the request in flight was answered');
  t.truthy(reply.json.access_token);
  t.is((await server.exited).code, 0);
  t.true(Date.now() - started < 15_000);
  await t.throwsAsync(send(`${server.url}/healthz`), undefined, 'no longer accepting');
});

test('kill -9 during a stream of refreshes: every answered rotation is durable, nothing is half-written', async (t) => {
  t.timeout(180_000);
  const box = await sandbox({ GATEHOUSE_ISSUER: 'http://localhost:9' });
  await seed(box);
  let server = await box.start();
  const login = await postForm(`${server.url}/token`, { grant_type: 'password', username: 'alice', password: 'correct-horse' }, { auth: [app.id, app.secret] });
  const received: string[] = [login.json.refresh_token];
  let inFlight: string | undefined;

  const stream = (async () => {
    for (;;) {
      inFlight = received.at(-1)!;
      let reply;
      try {
        reply = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: inFlight }, { auth: [app.id, app.secret] });
      } catch {
        return; // the server died under this request
      }
      if (reply.status !== 200) throw new Error(`refresh failed: ${reply.status} ${reply.text}`);
      received.push(reply.json.refresh_token);
      inFlight = undefined;
    }
  })();
  // Kill it once the stream has rotated a random 25 to 35 times (not after a fixed time: a busy machine may
  // rotate only a few times a second), so the kill lands anywhere in a rotation.
  const killAfter = 25 + Math.floor(Math.random() * 10);
  const deadline = Date.now() + 45_000;
  while (received.length < killAfter && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
  server.child.kill('SIGKILL');
  await stream;
  t.true(received.length > 20, `${received.length} refresh tokens received before the kill`);

  // Look at what is on disk, with the server gone.
  const db = createDatabase(loadConfig(box.env).database);
  const rows = new Map<string, { rotated_at: number | null; session_id: string }>(
    (await db('refresh_tokens').select('token_hash', 'rotated_at', 'session_id')).map((row: any) => [row.token_hash, row]),
  );
  for (const [index, token] of received.slice(0, -1).entries()) {
    t.not(rows.get(sha256(token))?.rotated_at ?? null, null, `token #${index} was answered as used: its rotation is durable`);
  }
  const last = received.at(-1)!;
  t.truthy(rows.get(sha256(last)), 'the last token the client received is stored');
  const unrotated = [...rows.values()].filter((row) => row.rotated_at === null);
  t.is(unrotated.length, 1, 'exactly one live refresh token: no half-written rotation');
  if (!onPostgres) t.deepEqual(await db.raw('PRAGMA integrity_check'), [{ integrity_check: 'ok' }]);
  const lastWasConsumed = rows.get(sha256(last))!.rotated_at !== null;
  t.true(!lastWasConsumed || inFlight === last, 'only a token in flight at the kill can have been consumed unseen');
  await db.destroy();

  server = await box.start();
  if (!lastWasConsumed) {
    const first = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: last }, { auth: [app.id, app.secret] });
    t.is(first.status, 200, 'the last received refresh token works after the restart');
    const again = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: last }, { auth: [app.id, app.secret] });
    t.is(again.json.error, 'invalid_grant', '… exactly once');
  }
  t.is(await server.stop('SIGTERM'), 0);
});

(onPostgres ? test.skip : test)('a full disk (SQLite at its page limit) answers 503 temporarily_unavailable, and recovers', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const before = await world.login(alice);
  const [{ page_count: pages }] = await world.db.raw('PRAGMA page_count');
  await world.db.raw(`PRAGMA max_page_count = ${pages}`);
  let full;
  for (let i = 0; i < 200; i++) {
    full = await world.token({ grant_type: 'password', username: alice.username, password: alice.password });
    if (full.status !== 200) break;
  }
  if (full!.status !== 503) t.log(world.logs.slice(-3).join("\n"));
  t.is(full!.status, 503);
  t.is(full!.json.error, 'temporarily_unavailable');
  t.truthy(full!.headers.get('retry-after'));
  t.true((await world.introspect(before.access)).json.active, 'reads still work');
  await world.db.raw('PRAGMA max_page_count = 1073741823');
  t.is((await world.token({ grant_type: 'password', username: alice.username, password: alice.password })).status, 200, 'and writes again once there is room');
});
