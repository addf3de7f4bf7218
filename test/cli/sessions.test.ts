/** `gatehouse sessions …`, spawned for real against a running server (issue 2, CLI contract). */
import test from 'ava';
import { decodeJwt } from '../helpers/http.js';
import { cleanup, client, nowSeconds, sandbox, seed } from '../helpers/process.js';

test.after.always(cleanup);

const ONE_LINE = /^[^\n]+\n$/;
const MAX_AGE = 5000;

async function world() {
  const box = await sandbox({ GATEHOUSE_SESSION_MAX_AGE: String(MAX_AGE) });
  const { app, rs } = await seed(box);
  const other = await box.cliJson(['clients', 'create', '--id', 'urn:app:two', '--grants', 'password,refresh_token', '--audience', 'https://api.example.test']);
  await box.cli(['users', 'create', '--username', 'alice', '--password', 'correct-horse']);
  await box.cli(['users', 'create', '--username', 'bob', '--password', 'battery-staple']);
  const server = await box.start();
  return { box, app, rs, other: { id: other.client_id, secret: other.client_secret }, server, http: client(server) };
}

test('sessions list [--user U] --json lists live sessions with exactly sid, username, client_id, created_at, expires_at', async (t) => {
  const { box, app, other, server, http } = await world();
  t.deepEqual(await box.cliJson(['sessions', 'list']), [], 'no session yet');

  const before = nowSeconds();
  const a1 = await http.mustLogin(app, 'alice', 'correct-horse');
  const a2 = await http.mustLogin(other, 'alice', 'correct-horse');
  const b1 = await http.mustLogin(app, 'bob', 'battery-staple');
  const after = nowSeconds();
  const sid = (token: string) => decodeJwt(token).payload.sid as string;

  const listed = await box.cli(['sessions', 'list', '--json']);
  t.is(listed.code, 0, listed.stderr);
  const all = JSON.parse(listed.stdout);
  t.is(all.length, 3);
  for (const session of all) {
    t.deepEqual(Object.keys(session).sort(), ['client_id', 'created_at', 'expires_at', 'sid', 'username']);
    t.true(Number.isInteger(session.created_at) && session.created_at >= before && session.created_at <= after, `created_at ${session.created_at} is epoch seconds`);
    t.is(session.expires_at, session.created_at + MAX_AGE, 'expires_at is the absolute end, in epoch seconds');
  }
  const bySid = new Map(all.map((s: any) => [s.sid, s]));
  t.like(bySid.get(sid(a1.access)), { username: 'alice', client_id: 'app' });
  t.like(bySid.get(sid(a2.access)), { username: 'alice', client_id: 'urn:app:two' });
  t.like(bySid.get(sid(b1.access)), { username: 'bob', client_id: 'app' });

  const alices = await box.cliJson(['sessions', 'list', '--user', 'alice']);
  t.deepEqual(alices.map((s: any) => s.sid).sort(), [sid(a1.access), sid(a2.access)].sort());
  t.true(alices.every((s: any) => s.username === 'alice'));

  const human = await box.cli(['sessions', 'list', '--user', 'bob']);
  t.is(human.code, 0);
  t.true(human.stdout.includes(sid(b1.access)));
  t.false(human.stdout.includes(sid(a1.access)));

  const unknown = await box.cli(['sessions', 'list', '--user', 'nobody', '--json']);
  t.is(unknown.code, 1, 'an unknown user is refused');
  t.regex(unknown.stderr, ONE_LINE);
  t.is(unknown.stdout, '');
  t.is(await server.stop(), 0);
});

test('sessions revoke SID ends that session at the next introspection; an unknown sid exits 1', async (t) => {
  const { box, app, rs, server, http } = await world();
  const ended = await http.mustLogin(app, 'alice', 'correct-horse');
  const kept = await http.mustLogin(app, 'alice', 'correct-horse');
  const sid = decodeJwt(ended.access).payload.sid as string;
  t.is((await http.introspect(rs, ended.access)).json.active, true);

  const revoked = await box.cli(['sessions', 'revoke', sid, '--json']);
  t.is(revoked.code, 0, revoked.stderr);
  t.is(typeof JSON.parse(revoked.stdout), 'object', '--json: one JSON value');
  t.deepEqual((await http.introspect(rs, ended.access)).json, { active: false });
  const refreshed = await http.refresh(app, ended.refresh);
  t.is(refreshed.status, 400);
  t.is(refreshed.json.error, 'invalid_grant');
  t.is((await http.introspect(rs, kept.access)).json.active, true, 'the other session lives');
  t.is((await http.refresh(app, kept.refresh)).status, 200);
  t.deepEqual((await box.cliJson(['sessions', 'list'])).map((s: any) => s.sid), [decodeJwt(kept.access).payload.sid]);

  const unknown = await box.cli(['sessions', 'revoke', '01234567-89ab-7def-8123-456789abcdef']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, ONE_LINE);
  for (const [args, why] of [[[], 'neither SID nor --user'], [[sid, '--user', 'alice'], 'both SID and --user']] as const) {
    const usage = await box.cli(['sessions', 'revoke', ...args]);
    t.is(usage.code, 2, why);
    t.regex(usage.stderr, ONE_LINE);
  }
  t.is(await server.stop(), 0);
});

test('sessions revoke --user U ends all of U\'s sessions and no one else\'s; an unknown user exits 1', async (t) => {
  const { box, app, other, rs, server, http } = await world();
  const a1 = await http.mustLogin(app, 'alice', 'correct-horse');
  const a2 = await http.mustLogin(other, 'alice', 'correct-horse');
  const b1 = await http.mustLogin(app, 'bob', 'battery-staple');

  const revoked = await box.cli(['sessions', 'revoke', '--user', 'alice', '--json']);
  t.is(revoked.code, 0, revoked.stderr);
  t.is(typeof JSON.parse(revoked.stdout), 'object', '--json: one JSON value');
  t.deepEqual((await http.introspect(rs, a1.access)).json, { active: false });
  t.deepEqual((await http.introspect(rs, a2.access)).json, { active: false });
  t.is((await http.refresh(app, a1.refresh)).json.error, 'invalid_grant');
  t.is((await http.refresh(other, a2.refresh)).json.error, 'invalid_grant');
  t.is((await http.introspect(rs, b1.access)).json.active, true);
  t.deepEqual((await box.cliJson(['sessions', 'list'])).map((s: any) => s.username), ['bob']);
  t.is((await http.login(app, 'alice', 'correct-horse')).status, 200, 'alice may log in again');

  const unknown = await box.cli(['sessions', 'revoke', '--user', 'nobody']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, ONE_LINE);
  t.is(await server.stop(), 0);
});
