/** POST /token grant_type=password: user login (standards §2, PWD-*; issue #2 HTTP contract). */
import anyTest, { type TestFn } from 'ava';
import { disableUser, enableUser } from '../../src/users/accounts.js';
import { admin, alice, API, bob, confA, confB, OTHER_API, startWorld, type World } from '../helpers/fixtures.js';
import { assertJsonError, assertTokenResponse, freshUser, isActive, stableHeaders, UUID } from '../helpers/grants.js';
import { decodeJwt, send } from '../helpers/http.js';

const test = anyTest as TestFn<World>;

/** password without refresh_token. */
const pwOnly = { id: 'pw-only', secret: 'pw-only-0123456789abcdef0123456789abcdef' } as const;
/** A password client whose scope includes gatehouse:admin: the password grant must never hand it out. */
const pwAdmin = { id: 'pw-admin', secret: 'pw-admin-0123456789abcdef0123456789abcdef' } as const;
/** Two audiences, OTHER_API first. */
const pwMulti = { id: 'pw-multi', secret: 'pw-multi-0123456789abcdef0123456789abcdef' } as const;
/** No audience at all: tokens are for the issuer itself. */
const pwNoAud = { id: 'pw-noaud', secret: 'pw-noaud-0123456789abcdef0123456789abcdef' } as const;

test.before(async (t) => {
  const world = await startWorld();
  await world.createClient({ ...pwOnly, grantTypes: ['password'], scope: 'read write', audiences: [API] });
  await world.createClient({ ...pwAdmin, grantTypes: ['password', 'refresh_token'], scope: 'read write gatehouse:admin', audiences: [API] });
  await world.createClient({ ...pwMulti, grantTypes: ['password', 'refresh_token'], scope: 'read', audiences: [OTHER_API, API] });
  await world.createClient({ ...pwNoAud, grantTypes: ['password', 'refresh_token'], scope: 'read' });
  t.context = world;
});
test.after.always(async (t) => {
  await t.context.close();
});

const password = (form: Record<string, string>) => ({ grant_type: 'password', ...form });

async function liveSids(world: World, username: string): Promise<string[]> {
  const reply = await send(`${world.url}/admin/users/${encodeURIComponent(username)}/sessions`, {
    headers: { authorization: `Bearer ${await world.adminToken()}` },
  });
  if (reply.status !== 200) throw new Error(`admin sessions list failed: ${reply.status} ${reply.text}`);
  return reply.json.map((session: { sid: string }) => session.sid);
}

test('PWD-01 a login returns a Bearer JWT, expires_in, scope and a refresh token', async (t) => {
  const reply = await t.context.token(password({ username: alice.username, password: alice.password, scope: 'read' }));
  const { payload } = assertTokenResponse(t, reply);
  t.is(reply.json.scope, 'read');
  t.is(reply.json.expires_in, 300, 'GATEHOUSE_ACCESS_TOKEN_TTL default');
  t.is(typeof reply.json.refresh_token, 'string');
  t.not(reply.json.refresh_token, reply.json.access_token);
  t.is(payload.sub, t.context.aliceSub);
  t.is(payload.client_id, confA.id);
  t.is(payload.scope, 'read');
  t.is(payload.aud, API);
  t.is(typeof payload.sid, 'string');
  t.deepEqual(Object.keys(reply.json).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
});

test('PWD-01 the refresh token is opaque, with at least 256 bits', async (t) => {
  const { refresh } = await t.context.login();
  t.regex(refresh, /^[A-Za-z0-9_-]{43,}$/);
  t.not(refresh.split('.').length, 3, 'not a JWT');
  const other = await t.context.login();
  t.not(other.refresh, refresh);
});

test('PWD-01 the access token of a login is active at introspection, with the username and sid', async (t) => {
  const { access } = await t.context.login();
  const reply = await t.context.introspect(access);
  t.is(reply.json.active, true);
  t.is(reply.json.username, alice.username);
  t.is(reply.json.sub, t.context.aliceSub);
  t.is(reply.json.sid, decodeJwt(access).payload.sid);
});

test('PWD-01 a client without the refresh_token grant gets no refresh_token, but still a session', async (t) => {
  const reply = await t.context.token(password({ username: alice.username, password: alice.password }), pwOnly);
  const { payload } = assertTokenResponse(t, reply);
  t.false('refresh_token' in reply.json);
  t.is(payload.client_id, pwOnly.id);
  t.is(typeof payload.sid, 'string');
  t.true(await isActive(t, t.context, reply.json.access_token));
});

test('PWD-02 a wrong password is 400 invalid_grant', async (t) => {
  const reply = await t.context.token(password({ username: alice.username, password: 'WRONG-password' }));
  assertJsonError(t, reply, 400, 'invalid_grant');
});

test('PWD-03 an unknown user answers exactly as a wrong password', async (t) => {
  const wrong = await t.context.token(password({ username: alice.username, password: 'WRONG-password' }));
  const unknown = await t.context.token(password({ username: 'nobody-at-all', password: 'WRONG-password' }));
  assertJsonError(t, unknown, 400, 'invalid_grant');
  t.is(unknown.status, wrong.status);
  t.is(unknown.text, wrong.text);
  t.deepEqual(stableHeaders(unknown.headers), stableHeaders(wrong.headers));
});

test('PWD-04 a missing username is 400 invalid_request', async (t) => {
  assertJsonError(t, await t.context.token(password({ password: alice.password })), 400, 'invalid_request');
});

test('PWD-04 a missing password is 400 invalid_request', async (t) => {
  assertJsonError(t, await t.context.token(password({ username: alice.username })), 400, 'invalid_request');
});

test('PWD-04 missing username and password is 400 invalid_request', async (t) => {
  assertJsonError(t, await t.context.token(password({})), 400, 'invalid_request');
});

test('PWD-04 an empty password is a missing parameter: 400 invalid_request', async (t) => {
  assertJsonError(t, await t.context.token(password({ username: alice.username, password: '' })), 400, 'invalid_request');
});

test('PWD-05 a scope wider than the client may have is 400 invalid_scope', async (t) => {
  for (const scope of ['read admin', 'admin', 'delete', 'read write admin']) {
    assertJsonError(t, await t.context.token(password({ username: alice.username, password: alice.password, scope })), 400, 'invalid_scope');
  }
});

test('PWD-05 a wider scope opens no session', async (t) => {
  const user = await freshUser(t.context, 'u-pwd05');
  const reply = await t.context.token(password({ username: user.username, password: user.password, scope: 'read admin' }));
  assertJsonError(t, reply, 400, 'invalid_scope');
  t.deepEqual(await liveSids(t.context, user.username), []);
  await t.context.login(user);
  t.is((await liveSids(t.context, user.username)).length, 1, 'control: a login does open one');
});

test('PWD-06 an omitted scope is every scope of the client', async (t) => {
  const reply = await t.context.token(password({ username: alice.username, password: alice.password }));
  const { payload } = assertTokenResponse(t, reply);
  t.is(reply.json.scope, 'read write');
  t.is(payload.scope, 'read write');
});

test('PWD-06 an omitted scope leaves out gatehouse:admin', async (t) => {
  const reply = await t.context.token(password({ username: alice.username, password: alice.password }), pwAdmin);
  const { payload } = assertTokenResponse(t, reply);
  t.is(reply.json.scope, 'read write');
  t.is(payload.scope, 'read write');
});

test('gatehouse:admin is never granted through the password grant: 400 invalid_scope', async (t) => {
  for (const scope of ['gatehouse:admin', 'read gatehouse:admin']) {
    const reply = await t.context.token(password({ username: alice.username, password: alice.password, scope }), pwAdmin);
    assertJsonError(t, reply, 400, 'invalid_scope');
  }
  const control = await t.context.token(password({ username: alice.username, password: alice.password, scope: 'write' }), pwAdmin);
  t.is(control.status, 200);
  t.is(control.json.scope, 'write');
});

test('PWD-07 clients not granted password get 400 unauthorized_client', async (t) => {
  for (const client of [confB, admin]) {
    const reply = await t.context.token(password({ username: alice.username, password: alice.password }), client);
    assertJsonError(t, reply, 400, 'unauthorized_client');
  }
});

test('RFC 8707 a resource among the client audiences becomes aud', async (t) => {
  const reply = await t.context.token(password({ username: alice.username, password: alice.password, resource: API }));
  t.is(assertTokenResponse(t, reply).payload.aud, API);
  const other = await t.context.token(password({ username: alice.username, password: alice.password, resource: API }), pwMulti);
  t.is(assertTokenResponse(t, other).payload.aud, API);
});

test('RFC 8707 an unknown resource is 400 invalid_target', async (t) => {
  for (const resource of [OTHER_API, 'https://unknown.example.test', 'not a uri']) {
    const reply = await t.context.token(password({ username: alice.username, password: alice.password, resource }));
    assertJsonError(t, reply, 400, 'invalid_target');
  }
});

test('RFC 8707 an unknown resource opens no session', async (t) => {
  const user = await freshUser(t.context, 'u-target');
  const reply = await t.context.token(password({ username: user.username, password: user.password, resource: OTHER_API }));
  assertJsonError(t, reply, 400, 'invalid_target');
  t.deepEqual(await liveSids(t.context, user.username), []);
});

test('RFC 8707 without resource, aud is the client first audience', async (t) => {
  const single = await t.context.token(password({ username: alice.username, password: alice.password }));
  t.is(assertTokenResponse(t, single).payload.aud, API);
  const multi = await t.context.token(password({ username: alice.username, password: alice.password }), pwMulti);
  t.is(assertTokenResponse(t, multi).payload.aud, OTHER_API);
});

test('RFC 8707 without resource, a client with no audience gets the issuer as aud', async (t) => {
  const reply = await t.context.token(password({ username: alice.username, password: alice.password }), pwNoAud);
  t.is(assertTokenResponse(t, reply).payload.aud, t.context.issuer);
  const refused = await t.context.token(password({ username: alice.username, password: alice.password, resource: API }), pwNoAud);
  assertJsonError(t, refused, 400, 'invalid_target');
});

test('a disabled user gets invalid_grant with the same answer as a wrong password; enabled again, logs in', async (t) => {
  const world = t.context;
  const user = await freshUser(world, 'u-disabled');
  const before = await world.login(user);
  t.true(await isActive(t, world, before.access));

  await disableUser(world.store, user.username, world.clock.now());
  const disabled = await world.token(password({ username: user.username, password: user.password }));
  const wrong = await world.token(password({ username: user.username, password: 'WRONG-password' }));
  assertJsonError(t, disabled, 400, 'invalid_grant');
  t.is(disabled.status, wrong.status);
  t.is(disabled.text, wrong.text);
  t.deepEqual(stableHeaders(disabled.headers), stableHeaders(wrong.headers));
  t.false(await isActive(t, world, before.access), 'disabling ends the sessions');

  await enableUser(world.store, user.username, world.clock.now());
  const again = await world.token(password({ username: user.username, password: user.password }));
  t.is(again.status, 200);
});

test('a disabled user with a wrong password answers as a wrong password too', async (t) => {
  const world = t.context;
  const user = await freshUser(world, 'u-disabled2');
  const control = await world.token(password({ username: user.username, password: 'WRONG-password' }));
  await disableUser(world.store, user.username, world.clock.now());
  const reply = await world.token(password({ username: user.username, password: 'WRONG-password' }));
  t.is(reply.status, control.status);
  t.is(reply.text, control.text);
});

test('sub is a stable UUID made at user creation, the same across logins', async (t) => {
  const first = decodeJwt((await t.context.login()).access).payload;
  const second = decodeJwt((await t.context.login()).access).payload;
  t.regex(first.sub, UUID);
  t.is(first.sub, second.sub);
  t.is(first.sub, t.context.aliceSub);
  const bobSub = decodeJwt((await t.context.login(bob)).access).payload.sub;
  t.is(bobSub, t.context.bobSub);
  t.not(bobSub, first.sub);
  const user = await freshUser(t.context, 'u-sub');
  t.is(decodeJwt((await t.context.login(user)).access).payload.sub, user.id);
  t.regex(user.id, UUID);
});

test('each login opens a new session with its own sid', async (t) => {
  const user = await freshUser(t.context, 'u-sessions');
  const one = await t.context.login(user);
  const two = await t.context.login(user);
  const sid1 = decodeJwt(one.access).payload.sid;
  const sid2 = decodeJwt(two.access).payload.sid;
  t.regex(sid1, UUID);
  t.not(sid1, sid2);
  t.not(one.refresh, two.refresh);
  t.deepEqual((await liveSids(t.context, user.username)).sort(), [sid1, sid2].sort());
  t.true(await isActive(t, t.context, one.access));
  t.true(await isActive(t, t.context, two.access));
});

test('a failed login opens no session', async (t) => {
  const user = await freshUser(t.context, 'u-failed');
  await t.context.token(password({ username: user.username, password: 'WRONG-password' }));
  t.deepEqual(await liveSids(t.context, user.username), []);
});
