/**
 * README "Which status code?", row by row, against the example notes API in front of a real issuer (standards
 * §10 RS-01…RS-05, RS-08, RS-12). Each test has a world of its own, so moving the clock touches no other test.
 */
import anyTest, { type TestFn } from 'ava';
import { decodeJwt } from '../helpers/http.js';
import { notesApp, startNotesWorld, type NotesWorld } from '../helpers/notes.js';

const test = anyTest as TestFn<NotesWorld>;

test.beforeEach(async (t) => {
  t.context = await startNotesWorld();
});
test.afterEach.always(async (t) => {
  await t.context.close();
});

const challengeOf = (reply: { headers: Headers }) => reply.headers.get('www-authenticate');

test('RS-01 no token: 401 with a bare Bearer challenge, no error code, and the issuer is not asked', async (t) => {
  const reply = await t.context.notes('GET');
  t.is(reply.status, 401);
  t.is(challengeOf(reply), 'Bearer realm="api"');
  t.is(t.context.proxy.count('POST', '/introspect'), 0);
});

test('RS-02 another scheme: the same bare challenge', async (t) => {
  for (const authorization of ['Basic YWxpY2U6c2VjcmV0', 'Digest username="alice"', 'Bearerish abc', 'DPoP abc']) {
    const reply = await t.context.notes('GET', undefined, { headers: { authorization } });
    t.is(reply.status, 401, authorization);
    t.is(challengeOf(reply), 'Bearer realm="api"', authorization);
  }
});

test('RS-03 a valid token: 200, and the scheme is case-insensitive', async (t) => {
  const { access } = await t.context.login(await t.context.newUser());
  for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
    const reply = await t.context.notes('GET', undefined, { headers: { authorization: `${scheme} ${access}` } });
    t.is(reply.status, 200, scheme);
    t.deepEqual(reply.json, []);
  }
  t.is(t.context.proxy.count('POST', '/introspect'), 4, 'every request is verified with the issuer (no cache by default)');
});

test('RS-04 an expired token: 401 invalid_token with "The access token expired" (and not one second early)', async (t) => {
  const { access, exp } = await t.context.login(await t.context.newUser());
  t.is(decodeJwt(access).payload.exp, exp);
  t.context.world.clock.set(exp - 1);
  t.is((await t.context.notes('GET', access)).status, 200);
  t.context.world.clock.set(exp);
  const reply = await t.context.notes('GET', access);
  t.is(reply.status, 401);
  t.is(challengeOf(reply), 'Bearer realm="api", error="invalid_token", error_description="The access token expired"');
  t.deepEqual(reply.json, { error: 'invalid_token', error_description: 'The access token expired' });
});

test('RS-05 a session ended by an admin: 401 invalid_token at the very next request, without the "expired" words', async (t) => {
  const user = await t.context.newUser();
  const { access } = await t.context.login(user);
  t.is((await t.context.notes('GET', access)).status, 200);
  await t.context.endSessions(user.username);
  const reply = await t.context.notes('GET', access);
  t.is(reply.status, 401);
  t.is(challengeOf(reply), 'Bearer realm="api", error="invalid_token"');
  t.deepEqual(reply.json, { error: 'invalid_token' });
});

test('RS-05 a session ended by logout (the refresh token revoked): 401 invalid_token', async (t) => {
  const { access, refresh } = await t.context.login(await t.context.newUser());
  const revoked = await t.context.world.revoke(refresh, notesApp);
  t.is(revoked.status, 200);
  const reply = await t.context.notes('GET', access);
  t.is(reply.status, 401);
  t.is(challengeOf(reply), 'Bearer realm="api", error="invalid_token"');
});

test('RS-08 a valid token without the permission: 403 insufficient_scope naming the scope; reading still works', async (t) => {
  const { access } = await t.context.login(await t.context.newUser(), 'notes:read');
  const write = await t.context.notes('POST', access, { body: { text: 'hello' } });
  t.is(write.status, 403);
  t.is(challengeOf(write), 'Bearer realm="api", error="insufficient_scope", scope="notes:write"');
  t.is(write.json.error, 'insufficient_scope');
  t.is((await t.context.notes('GET', access)).status, 200);
});

test('a token with both scopes writes and reads its own notes; the verified claims reach the handler', async (t) => {
  const user = await t.context.newUser();
  const { access } = await t.context.login(user);
  const written = await t.context.notes('POST', access, { body: { text: 'buy milk' } });
  t.is(written.status, 201);
  t.deepEqual(written.json, { id: 1, text: 'buy milk', created_by: user.username });
  t.deepEqual((await t.context.notes('GET', access)).json, [written.json]);
  const other = await t.context.login(await t.context.newUser());
  t.deepEqual((await t.context.notes('GET', other.access)).json, [], 'another user sees none of them');
});

test('RS-12 the issuer answers 5xx: 503 with Retry-After and no challenge, never 401', async (t) => {
  const { access } = await t.context.login(await t.context.newUser());
  for (const status of [500, 502, 503, 504]) {
    t.context.proxy.rule = { path: '/introspect', action: 'status', status };
    const reply = await t.context.notes('GET', access);
    t.is(reply.status, 503, `issuer ${status}`);
    t.is(reply.headers.get('retry-after'), '2');
    t.is(challengeOf(reply), null);
    t.is(reply.json.error, 'temporarily_unavailable');
  }
  t.context.proxy.rule = undefined;
  t.is((await t.context.notes('GET', access)).status, 200, 'and it recovers by itself');
});

test('RS-12 the issuer resets the connection: 503', async (t) => {
  const { access } = await t.context.login(await t.context.newUser());
  t.context.proxy.rule = { path: '/introspect', action: 'reset' };
  const reply = await t.context.notes('GET', access);
  t.is(reply.status, 503);
  t.is(reply.headers.get('retry-after'), '2');
});

test('RS-12 metadata that cannot be fetched: 503, and discovery is tried again at the next request', async (t) => {
  const { access } = await t.context.login(await t.context.newUser());
  t.context.proxy.rule = { path: '/.well-known/oauth-authorization-server', action: 'status', status: 500 };
  t.is((await t.context.notes('GET', access)).status, 503);
  t.context.proxy.rule = undefined;
  t.is((await t.context.notes('GET', access)).status, 200);
  t.is((await t.context.notes('GET', access)).status, 200);
  t.is(t.context.proxy.count('GET', '/.well-known/oauth-authorization-server'), 2, 'fetched again after the failure, then once only');
});

test('RS-12 the issuer stopped: 503 with Retry-After, never 401', async (t) => {
  const { access } = await t.context.login(await t.context.newUser());
  t.is((await t.context.notes('GET', access)).status, 200);
  await t.context.proxy.close(); // the issuer's address now refuses connections
  for (let i = 0; i < 3; i++) {
    const reply = await t.context.notes('GET', access);
    t.is(reply.status, 503);
    t.is(reply.headers.get('retry-after'), '2');
    t.is(challengeOf(reply), null);
  }
  t.true(t.context.apiLogs.some((line) => /WARN token issuer unavailable .*ECONNREFUSED/.test(line)));
});

test('the token never appears in the API log', async (t) => {
  const { access } = await t.context.login(await t.context.newUser());
  t.context.proxy.rule = { path: '/introspect', action: 'status', status: 500 };
  await t.context.notes('GET', access);
  t.context.proxy.rule = undefined;
  await t.context.notes('GET', access);
  t.true(t.context.apiLogs.length > 0);
  for (const line of t.context.apiLogs) t.false(line.includes(access.slice(0, 40)), line);
});
