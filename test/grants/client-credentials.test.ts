/** POST /token grant_type=client_credentials: a client acting for itself (standards §3, CC-*; issue #2). */
import anyTest, { type TestFn } from 'ava';
import { admin, API, confA, confB, odd, OTHER_API, rs1, rs2, startWorld, type World } from '../helpers/fixtures.js';
import { assertJsonError, assertTokenResponse } from '../helpers/grants.js';
import { send } from '../helpers/http.js';

const test = anyTest as TestFn<World>;
test.before(async (t) => {
  t.context = await startWorld();
});
test.after.always(async (t) => {
  await t.context.close();
});

const cc = (extra: Record<string, string> = {}) => ({ grant_type: 'client_credentials', ...extra });

test('CC-01 a client_credentials request returns a Bearer JWT with expires_in and scope', async (t) => {
  const reply = await t.context.token(cc({ scope: 'read' }), confB);
  const { payload } = assertTokenResponse(t, reply);
  t.is(reply.json.scope, 'read');
  t.is(reply.json.expires_in, 300);
  t.is(payload.scope, 'read');
  t.is(payload.exp - payload.iat, reply.json.expires_in);
});

test('CC-02 the response has no refresh_token', async (t) => {
  for (const client of [confA, confB, admin]) {
    const reply = await t.context.token(cc(), client);
    assertTokenResponse(t, reply);
    t.false('refresh_token' in reply.json, `${client.id} got a refresh token`);
    t.deepEqual(Object.keys(reply.json).sort(), ['access_token', 'expires_in', 'scope', 'token_type']);
  }
});

test('CC-03 sub and client_id are the client id, and there is no sid', async (t) => {
  for (const client of [confB, odd, confA]) {
    const { payload } = assertTokenResponse(t, await t.context.token(cc(), client));
    t.is(payload.sub, client.id);
    t.is(payload.client_id, client.id);
    t.false('sid' in payload, 'no session for client_credentials');
    t.false('username' in payload);
  }
});

test('CC-03 at introspection the token has sub = client_id, no username and no sid', async (t) => {
  const reply = await t.context.token(cc(), confB);
  const introspection = await t.context.introspect(reply.json.access_token, rs1);
  t.is(introspection.json.active, true);
  t.is(introspection.json.sub, confB.id);
  t.is(introspection.json.client_id, confB.id);
  t.false('username' in introspection.json);
  t.false('sid' in introspection.json);
});

test('CC-03 no client can be registered with a user sub as its id', async (t) => {
  await t.throwsAsync(t.context.createClient({ id: t.context.aliceSub, secret: 'x'.repeat(32), grantTypes: ['client_credentials'] }));
  const token = await t.context.token(cc(), { id: t.context.aliceSub, secret: 'x'.repeat(32) });
  assertJsonError(t, token, 401, 'invalid_client');
});

test('an omitted scope is every scope of the client', async (t) => {
  const b = await t.context.token(cc(), confB);
  t.is(b.json.scope, 'read write admin');
  t.is(assertTokenResponse(t, b).payload.scope, 'read write admin');
  const a = await t.context.token(cc(), confA);
  t.is(a.json.scope, 'read write');
});

test('a narrower scope is granted as asked', async (t) => {
  const reply = await t.context.token(cc({ scope: 'write admin' }), confB);
  t.is(reply.json.scope, 'write admin');
  t.is(assertTokenResponse(t, reply).payload.scope, 'write admin');
});

test('a scope wider than the client may have is 400 invalid_scope', async (t) => {
  for (const [client, scope] of [
    [confB, 'read delete'],
    [confA, 'admin'],
    [odd, 'read write'],
    [confB, 'gatehouse:admin'],
  ] as const) {
    assertJsonError(t, await t.context.token(cc({ scope }), client), 400, 'invalid_scope');
  }
});

test('a malformed scope is 400 invalid_scope', async (t) => {
  assertJsonError(t, await t.context.token(cc({ scope: 'read "write"' }), confB), 400, 'invalid_scope');
});

test('gatehouse:admin is granted through client_credentials', async (t) => {
  const omitted = await t.context.token(cc(), admin);
  t.is(omitted.json.scope, 'gatehouse:admin');
  t.is(assertTokenResponse(t, omitted).payload.scope, 'gatehouse:admin');
  const asked = await t.context.token(cc({ scope: 'gatehouse:admin' }), admin);
  t.is(asked.status, 200);
  t.is(asked.json.scope, 'gatehouse:admin');
  // It opens the admin API.
  const sessions = await send(`${t.context.url}/admin/users/alice/sessions`, { headers: { authorization: `Bearer ${asked.json.access_token}` } });
  t.is(sessions.status, 200);
  t.true(Array.isArray(sessions.json));
});

test('RFC 8707 without resource, aud is the client first audience', async (t) => {
  t.is(assertTokenResponse(t, await t.context.token(cc(), confB)).payload.aud, API);
});

test('RFC 8707 without resource, a client with no audience gets the issuer as aud', async (t) => {
  t.is(assertTokenResponse(t, await t.context.token(cc(), admin)).payload.aud, t.context.issuer);
});

test('RFC 8707 a resource among the client audiences becomes aud, and only its resource server sees it', async (t) => {
  const reply = await t.context.token(cc({ resource: OTHER_API }), confB);
  t.is(assertTokenResponse(t, reply).payload.aud, OTHER_API);
  t.is((await t.context.introspect(reply.json.access_token, rs2)).json.active, true);
  t.is((await t.context.introspect(reply.json.access_token, rs1)).text, '{"active":false}');
});

test('RFC 8707 an unknown resource is 400 invalid_target', async (t) => {
  for (const [client, resource] of [
    [confB, 'https://unknown.example.test'],
    [confA, OTHER_API],
    [admin, API],
    [confB, `${API}/`],
  ] as const) {
    assertJsonError(t, await t.context.token(cc({ resource }), client), 400, 'invalid_target');
  }
});

test('a client without the client_credentials grant gets 400 unauthorized_client', async (t) => {
  assertJsonError(t, await t.context.token(cc(), rs1), 400, 'unauthorized_client');
});

test('every client_credentials token has its own jti', async (t) => {
  const one = assertTokenResponse(t, await t.context.token(cc(), confB)).payload;
  const two = assertTokenResponse(t, await t.context.token(cc(), confB)).payload;
  t.not(one.jti, two.jti);
});
