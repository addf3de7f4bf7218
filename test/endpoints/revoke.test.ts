/** POST /revoke (standards §7, REV-*; issue #2 "POST /revoke"). */
import anyTest, { type TestFn } from 'ava';
import { API, auth, confA, confB, rs1, startWorld, type World } from '../helpers/fixtures.js';
import { signWithForeignKey } from '../helpers/forge.js';
import { basic, decodeJwt, postForm, send, type Reply } from '../helpers/http.js';

const test = anyTest as TestFn<World>;

/** A first-party app that may also introspect, so a test can look at its refresh tokens directly. */
const revApp = { id: 'rev-app', secret: 'rev-app-0123456789abcdef0123456789abcdef' } as const;

test.before(async (t) => {
  t.context = await startWorld();
  await t.context.createClient({ ...revApp, grantTypes: ['password', 'refresh_token'], scope: 'read write', audiences: [API], introspect: true });
});
test.after.always(async (t) => {
  await t.context.close();
});

const PASSWORD = 'password-123';
let users = 0;
/** A dedicated user for every test: revoking a refresh token ends a session, and tests run concurrently. */
async function newUser(world: World) {
  const username = `rev-user-${++users}`;
  await world.createUser(username, PASSWORD);
  return { username, password: PASSWORD };
}

async function loginWith(world: World, client: { id: string; secret: string }, user: { username: string; password: string }) {
  const reply = await world.token({ grant_type: 'password', username: user.username, password: user.password }, client);
  if (reply.status !== 200) throw new Error(`login failed: ${reply.status} ${reply.text}`);
  return { access: reply.json.access_token as string, refresh: reply.json.refresh_token as string };
}

function assertRevoked200(t: any, reply: Reply, what = '') {
  t.is(reply.status, 200, `${what}: status ${reply.status} ${reply.text}`);
  t.is(reply.json?.error, undefined, what);
}

function assertNoStore(t: any, reply: Reply, what = '') {
  t.regex(reply.headers.get('cache-control') ?? '', /(^|,\s*)no-store(\s*,|$)/, what);
  t.is(reply.headers.get('pragma'), 'no-cache', what);
}

type Client = { id: string; secret: string };
const active = async (world: World, token: string, caller: Client = rs1) => (await world.introspect(token, caller)).json?.active;
const refreshStatus = async (world: World, token: string, client: Client = confA) => {
  const reply = await world.refresh(token, {}, client);
  return reply.status === 200 ? 200 : `${reply.status} ${reply.json?.error}`;
};

test.serial('REV-04 an own access token that has already expired: 200', async (t) => {
  const user = await newUser(t.context);
  const { access } = await t.context.login(user);
  t.context.clock.set(decodeJwt(access).payload.exp);
  t.false(await active(t.context, access));
  assertRevoked200(t, await t.context.revoke(access, confA, { token_type_hint: 'access_token' }));
});

test('REV-01 revoking a refresh token: 200, then refresh is invalid_grant and the token is inactive', async (t) => {
  const user = await newUser(t.context);
  const { refresh } = await loginWith(t.context, revApp, user);
  t.true(await active(t.context, refresh, revApp), 'control: active before');
  const reply = await t.context.revoke(refresh, revApp, { token_type_hint: 'refresh_token' });
  assertRevoked200(t, reply);
  assertNoStore(t, reply);
  t.false(await active(t.context, refresh, revApp));
  t.is(await refreshStatus(t.context, refresh, revApp), '400 invalid_grant');
});

test('REV-02 revoking a refresh token ends its session: every access token of it is inactive', async (t) => {
  const user = await newUser(t.context);
  const first = await t.context.login(user);
  const renewed = await t.context.refresh(first.refresh);
  t.is(renewed.status, 200);
  const second = { access: renewed.json.access_token as string, refresh: renewed.json.refresh_token as string };
  const other = await t.context.login(user); // another session of the same user
  t.true(await active(t.context, first.access));
  t.true(await active(t.context, second.access));

  assertRevoked200(t, await t.context.revoke(second.refresh));
  t.false(await active(t.context, first.access), 'access token from the login');
  t.false(await active(t.context, second.access), 'access token from the refresh');
  t.is(await refreshStatus(t.context, second.refresh), '400 invalid_grant');

  const sessions = await send(`${t.context.url}/admin/users/${user.username}/sessions`, {
    headers: { authorization: `Bearer ${await t.context.adminToken()}` },
  });
  t.deepEqual(
    sessions.json.map((session: any) => session.sid),
    [decodeJwt(other.access).payload.sid],
    'only the other session is still listed',
  );
  t.true(await active(t.context, other.access), 'the other session is untouched');
  t.is(await refreshStatus(t.context, other.refresh), 200);
});

test('REV-03 revoking an access token makes only that token inactive', async (t) => {
  const user = await newUser(t.context);
  const first = await t.context.login(user);
  const renewed = await t.context.refresh(first.refresh);
  t.is(renewed.status, 200);
  const sibling = renewed.json.access_token as string;

  const reply = await t.context.revoke(first.access, confA, { token_type_hint: 'access_token' });
  assertRevoked200(t, reply);
  assertNoStore(t, reply);
  t.not(reply.json?.error, 'unsupported_token_type', 'REV-08');
  t.false(await active(t.context, first.access), 'the revoked token');
  t.true(await active(t.context, sibling), 'another access token of the same session');
  const again = await t.context.refresh(renewed.json.refresh_token);
  t.is(again.status, 200, 'the session refresh token still works');
  t.true(await active(t.context, again.json.access_token));
});

test('REV-03 a client_credentials access token can be revoked', async (t) => {
  const token = (await t.context.token({ grant_type: 'client_credentials' }, confB)).json.access_token as string;
  t.true(await active(t.context, token));
  assertRevoked200(t, await t.context.revoke(token, confB));
  t.false(await active(t.context, token));
});

test('REV-04 unknown and invalid tokens are answered 200', async (t) => {
  const { access } = await t.context.login();
  const tokens = ['does-not-exist', 'a.b.c', 'x'.repeat(9000), await signWithForeignKey(access), '%%%'];
  for (const token of tokens) {
    const reply = await t.context.revoke(token);
    assertRevoked200(t, reply, token.slice(0, 20));
    assertNoStore(t, reply, token.slice(0, 20));
  }
  t.true(await active(t.context, access), 'the genuine token that was forged from stays active');
});

test('REV-05 revocation is idempotent for refresh and access tokens', async (t) => {
  const user = await newUser(t.context);
  const { access, refresh } = await t.context.login(user);
  const other = await t.context.login(user);
  assertRevoked200(t, await t.context.revoke(other.access), 'access, first');
  assertRevoked200(t, await t.context.revoke(other.access), 'access, second');
  t.false(await active(t.context, other.access));
  assertRevoked200(t, await t.context.revoke(refresh), 'refresh, first');
  assertRevoked200(t, await t.context.revoke(refresh), 'refresh, second');
  t.false(await active(t.context, access));
  t.is(await refreshStatus(t.context, refresh), '400 invalid_grant');
});

test('REV-06 a wrong hint still revokes: an access token sent as refresh_token, a refresh token as access_token', async (t) => {
  const user = await newUser(t.context);
  const a = await t.context.login(user);
  const b = await t.context.login(user);
  assertRevoked200(t, await t.context.revoke(a.access, confA, { token_type_hint: 'refresh_token' }));
  t.false(await active(t.context, a.access), 'access token revoked despite the hint');
  t.is(await refreshStatus(t.context, a.refresh), 200, 'and its session lives on');

  assertRevoked200(t, await t.context.revoke(b.refresh, confA, { token_type_hint: 'access_token' }));
  t.is(await refreshStatus(t.context, b.refresh), '400 invalid_grant', 'refresh token revoked despite the hint');
  t.false(await active(t.context, b.access));
});

test('REV-07 an invalid hint value is ignored: 200 and the token is revoked, never unsupported_token_type', async (t) => {
  const user = await newUser(t.context);
  const a = await t.context.login(user);
  const b = await t.context.login(user);
  const onRefresh = await t.context.revoke(a.refresh, confA, { token_type_hint: 'foo' });
  assertRevoked200(t, onRefresh);
  t.not(onRefresh.json?.error, 'unsupported_token_type');
  t.is(await refreshStatus(t.context, a.refresh), '400 invalid_grant');
  const onAccess = await t.context.revoke(b.access, confA, { token_type_hint: 'urn:example:bogus' });
  assertRevoked200(t, onAccess);
  t.false(await active(t.context, b.access));
});

test('REV-09 no client credentials: 401 invalid_client with a challenge, and nothing is revoked', async (t) => {
  const user = await newUser(t.context);
  const { access, refresh } = await t.context.login(user);
  for (const token of [access, refresh]) {
    const reply = await postForm(`${t.context.url}/revoke`, { token });
    t.is(reply.status, 401);
    t.is(reply.json?.error, 'invalid_client');
    t.is(reply.headers.get('www-authenticate'), 'Basic realm="gatehouse"');
    assertNoStore(t, reply);
    // client_id alone does not authenticate a confidential client either.
    const idOnly = await postForm(`${t.context.url}/revoke`, { token, client_id: confA.id });
    t.is(idOnly.status, 401);
    t.is(idOnly.json?.error, 'invalid_client');
  }
  t.true(await active(t.context, access));
  t.is(await refreshStatus(t.context, refresh), 200);
});

test('REV-09 a wrong secret: 401 invalid_client with a Basic challenge, and nothing is revoked', async (t) => {
  const user = await newUser(t.context);
  const { access, refresh } = await t.context.login(user);
  const wrong = { id: confA.id, secret: 'WRONG-0123456789abcdef0123456789abcdef' };
  for (const token of [access, refresh]) {
    const reply = await t.context.revoke(token, wrong);
    t.is(reply.status, 401);
    t.is(reply.json?.error, 'invalid_client');
    t.is(reply.headers.get('www-authenticate'), 'Basic realm="gatehouse"');
    const post = await postForm(`${t.context.url}/revoke`, { token, client_id: confA.id, client_secret: wrong.secret });
    t.is(post.status, 401);
    t.is(post.json?.error, 'invalid_client');
  }
  t.true(await active(t.context, access));
  t.is(await refreshStatus(t.context, refresh), 200);
});

test("REV-10 another client's refresh token: 400 unauthorized_client, and the token stays active", async (t) => {
  const user = await newUser(t.context);
  const { access, refresh } = await loginWith(t.context, revApp, user);
  for (const intruder of [confA, confB, rs1]) {
    const reply = await t.context.revoke(refresh, intruder, { token_type_hint: 'refresh_token' });
    t.is(reply.status, 400, intruder.id);
    t.is(reply.json?.error, 'unauthorized_client', intruder.id);
    assertNoStore(t, reply, intruder.id);
  }
  t.true(await active(t.context, refresh, revApp), 'introspecting the refresh token still gives active: true');
  t.true(await active(t.context, access), 'its session was not ended');
  t.is(await refreshStatus(t.context, refresh, revApp), 200);
});

test("REV-10 another client's access token: 400 unauthorized_client, and the token stays active", async (t) => {
  const user = await newUser(t.context);
  const { access } = await t.context.login(user);
  for (const intruder of [confB, rs1, revApp]) {
    const reply = await t.context.revoke(access, intruder, { token_type_hint: 'access_token' });
    t.is(reply.status, 400, intruder.id);
    t.is(reply.json?.error, 'unauthorized_client', intruder.id);
  }
  t.true(await active(t.context, access));
});

test("REV-04 another client's tokens that are no longer active are answered 200, like any invalid token", async (t) => {
  const user = await newUser(t.context);
  const { access, refresh } = await t.context.login(user);
  t.is((await t.context.revoke(refresh)).status, 200, 'its own client logs out');
  for (const token of [access, refresh]) {
    const reply = await t.context.revoke(token, confB);
    t.is(reply.status, 200, 'an ended session reveals nothing to another client');
  }
});

test('REV-11 a missing, empty or repeated token is 400 invalid_request', async (t) => {
  const user = await newUser(t.context);
  const { refresh } = await t.context.login(user);
  for (const body of ['', 'token_type_hint=refresh_token', 'token=', `token=${refresh}&token=${refresh}`]) {
    const reply = await postForm(`${t.context.url}/revoke`, body, { auth: auth(confA) });
    t.is(reply.status, 400, body);
    t.is(reply.json?.error, 'invalid_request', body);
    assertNoStore(t, reply, body);
  }
  t.is(await refreshStatus(t.context, refresh), 200, 'the repeated token was not revoked');
});

test('REV-12 GET /revoke is 405 with Allow: POST and revokes nothing', async (t) => {
  const user = await newUser(t.context);
  const { access, refresh } = await t.context.login(user);
  for (const token of [access, refresh]) {
    const reply = await send(`${t.context.url}/revoke?token=${encodeURIComponent(token)}`, { headers: { authorization: basic(confA.id, confA.secret) } });
    t.is(reply.status, 405);
    t.is(reply.headers.get('allow'), 'POST');
  }
  // Nor does a POST with the token in its query string.
  const query = await postForm(`${t.context.url}/revoke?token=${encodeURIComponent(refresh)}`, '', { auth: auth(confA) });
  t.is(query.status, 400);
  t.is(query.json?.error, 'invalid_request');
  t.true(await active(t.context, access));
  t.is(await refreshStatus(t.context, refresh), 200);
});

test('client_secret_post authenticates at /revoke', async (t) => {
  const user = await newUser(t.context);
  const { access, refresh } = await t.context.login(user);
  const reply = await postForm(`${t.context.url}/revoke`, { token: refresh, client_id: confA.id, client_secret: confA.secret });
  assertRevoked200(t, reply);
  t.false(await active(t.context, access));
});
