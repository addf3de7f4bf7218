/** POST /introspect (standards §6, INT-*; issue #2 "POST /introspect"). */
import anyTest, { type TestFn } from 'ava';
import { disableClient } from '../../src/clients/register.js';
import { disableUser } from '../../src/users/accounts.js';
import { admin, alice, API, auth, confA, confB, OTHER_API, rs1, rs2, startWorld, type World } from '../helpers/fixtures.js';
import { algNone, signWithForeignKey, signWithIssuerKey, tamperPayload, tamperSignature } from '../helpers/forge.js';
import { basic, decodeJwt, postForm, send, type Reply } from '../helpers/http.js';

const test = anyTest as TestFn<World>;

/** A first-party app that may also introspect its own refresh tokens (and API's access tokens). */
const intRt = { id: 'int-rt', secret: 'int-rt-0123456789abcdef0123456789abcdef' } as const;

test.before(async (t) => {
  t.context = await startWorld();
  await t.context.createClient({ ...intRt, grantTypes: ['password', 'refresh_token'], scope: 'read write', audiences: [API], introspect: true });
});
test.after.always(async (t) => {
  await t.context.close();
});

const INACTIVE_BODY = '{"active":false}';

function assertInactive(t: any, reply: Reply, what = '') {
  t.is(reply.status, 200, `${what}: status`);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/, `${what}: content-type`);
  t.is(reply.text, INACTIVE_BODY, `${what}: body`);
}

function assertActive(t: any, reply: Reply, what = '') {
  t.is(reply.status, 200, `${what}: status`);
  t.is(reply.json?.active, true, `${what}: active`);
}

function assertInvalidClient(t: any, reply: Reply) {
  t.is(reply.status, 401);
  t.is(reply.json?.error, 'invalid_client');
  t.is(reply.headers.get('www-authenticate'), 'Basic realm="gatehouse"');
  t.is(reply.json?.active, undefined, 'no token information in the body');
  t.false(/"(scope|sub|username|exp)"/.test(reply.text));
}

const loginWith = async (t: { context: World }, client: { id: string; secret: string }, user: { username: string; password: string } = alice) => {
  const reply = await t.context.token({ grant_type: 'password', username: user.username, password: user.password }, client);
  if (reply.status !== 200) throw new Error(`login failed: ${reply.status} ${reply.text}`);
  return { access: reply.json.access_token as string, refresh: reply.json.refresh_token as string };
};

const clientToken = async (t: { context: World }, client: { id: string; secret: string }, extra: Record<string, string> = {}) => {
  const reply = await t.context.token({ grant_type: 'client_credentials', ...extra }, client);
  if (reply.status !== 200) throw new Error(`client_credentials failed: ${reply.status} ${reply.text}`);
  return reply.json.access_token as string;
};

/** A dedicated user, for tests that end or disable its sessions. */
const newUser = async (world: World, username: string) => {
  await world.createUser(username, 'password-123');
  return { username, password: 'password-123' };
};

// Date and X-Request-Id (each request's own id) differ between any two answers.
const stripDate = (headers: Headers) => [...headers].filter(([name]) => name !== 'date' && name !== 'x-request-id');

// --- Serial: these move the clock or compare answers across every kind of inactive token. ---

test.serial('INT-05 expiry is exact: active at exp-1, exactly {"active":false} at exp (no leeway)', async (t) => {
  const { access } = await t.context.login();
  const { exp, iat } = decodeJwt(access).payload;
  t.true(exp > iat);
  t.context.clock.set(exp - 1);
  assertActive(t, await t.context.introspect(access), 'exp-1');
  t.context.clock.set(exp);
  assertInactive(t, await t.context.introspect(access), 'at exp');
  t.context.clock.set(exp + 3600);
  assertInactive(t, await t.context.introspect(access), 'an hour later');
});

test.serial('INT-09 no oracle: every kind of inactive token gets the identical answer', async (t) => {
  const world = t.context;
  const user = await newUser(world, 'int-oracle');
  const cases: Record<string, string> = {};

  // Expired: issued now, then the clock passes its exp; every other token below is issued afterwards.
  const expired = (await world.login()).access;
  world.clock.set(decodeJwt(expired).payload.exp);
  cases.expired = expired;

  const revoked = (await world.login()).access;
  t.is((await world.revoke(revoked)).status, 200);
  cases.revoked = revoked;

  const ended = await world.login();
  const adminToken = await world.adminToken();
  const end = await send(`${world.url}/admin/sessions/${decodeJwt(ended.access).payload.sid}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${adminToken}` },
  });
  t.is(end.status, 204);
  cases['session ended'] = ended.access;

  cases['user disabled'] = (await world.login(user)).access;
  await disableUser(world.store, user.username, world.clock.now());

  const doomed = await world.createClient({ id: 'int-doomed-oracle', grantTypes: ['client_credentials'], scope: 'read', audiences: [API] });
  cases['client disabled'] = await clientToken(t, doomed);
  await disableClient(world.store, doomed.id, world.clock.now());

  const live = (await world.login()).access;
  cases['audience not the caller'] = await clientToken(t, confB, { resource: OTHER_API });
  cases['refresh token'] = (await world.login()).refresh;
  cases.garbage = 'abc';
  cases['tampered payload'] = tamperPayload(live, (payload) => (payload.scope = 'read write admin'));
  cases['tampered signature'] = tamperSignature(live);
  cases['alg none'] = algNone(live);
  cases['foreign key, same kid'] = await signWithForeignKey(live);
  cases['unknown kid'] = await signWithForeignKey(live, { kid: 'no-such-kid' });
  cases['wrong iss'] = await signWithIssuerKey(world, { ...decodeJwt(live).payload, iss: 'https://evil.example.test' });

  // Control: the live token and a re-signed copy with the right iss are active, so each case fails for its reason.
  assertActive(t, await world.introspect(live), 'live control');
  assertActive(t, await world.introspect(await signWithIssuerKey(world, decodeJwt(live).payload)), 're-signed control');

  const replies = Object.entries(cases).map(async ([name, token]) => [name, await world.introspect(token)] as const);
  const [first, ...rest] = await Promise.all(replies);
  assertInactive(t, first![1], first![0]);
  for (const [name, reply] of rest) {
    assertInactive(t, reply, name);
    t.deepEqual(stripDate(reply.headers), stripDate(first![1].headers), `${name}: headers differ from ${first![0]}`);
  }
});

// --- Concurrent ---

test('INT-01 an active user token: every member equals the JWT claim', async (t) => {
  const { access } = await t.context.login();
  const { payload } = decodeJwt(access);
  const reply = await t.context.introspect(access);
  t.is(reply.status, 200);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  t.true(reply.json.active === true, 'active is the JSON boolean true');
  t.deepEqual(reply.json, {
    active: true,
    scope: payload.scope,
    client_id: payload.client_id,
    username: 'alice',
    token_type: 'Bearer',
    exp: payload.exp,
    iat: payload.iat,
    sub: payload.sub,
    aud: payload.aud,
    iss: payload.iss,
    jti: payload.jti,
    sid: payload.sid,
  });
  t.is(payload.sub, t.context.aliceSub);
  t.is(payload.client_id, confA.id);
  t.is(payload.aud, API);
  t.is(payload.iss, t.context.issuer);
  t.is(payload.scope, 'read write');
  t.is(typeof payload.sid, 'string');
});

test('INT-01 a client_credentials token has no username and no sid', async (t) => {
  const token = await clientToken(t, confB);
  const { payload } = decodeJwt(token);
  const reply = await t.context.introspect(token);
  assertActive(t, reply);
  t.deepEqual(reply.json, {
    active: true,
    scope: 'read write admin',
    client_id: confB.id,
    token_type: 'Bearer',
    exp: payload.exp,
    iat: payload.iat,
    sub: confB.id,
    aud: API,
    iss: t.context.issuer,
    jti: payload.jti,
  });
  t.false('username' in reply.json);
  t.false('sid' in reply.json);
});

test('INT-01 a resource server sees the tokens of its own audience (rs-2 and OTHER_API)', async (t) => {
  const token = await clientToken(t, confB, { resource: OTHER_API });
  t.is(decodeJwt(token).payload.aud, OTHER_API);
  const reply = await t.context.introspect(token, rs2);
  assertActive(t, reply);
  t.is(reply.json.aud, OTHER_API);
});

test('INT-02 no client credentials: 401 invalid_client with a challenge and no token data', async (t) => {
  const { access } = await t.context.login();
  const reply = await postForm(`${t.context.url}/introspect`, { token: access });
  assertInvalidClient(t, reply);
});

test('INT-03 a wrong secret or an unknown client: 401 invalid_client, the same answer', async (t) => {
  const { access } = await t.context.login();
  const wrong = await t.context.introspect(access, { id: rs1.id, secret: 'WRONG-0123456789abcdef0123456789abcd' });
  const unknown = await t.context.introspect(access, { id: 'no-such-rs', secret: rs1.secret });
  assertInvalidClient(t, wrong);
  assertInvalidClient(t, unknown);
  t.is(unknown.text, wrong.text);
});

test('only clients created with introspect may call it: conf-A, conf-B and admin get 401 invalid_client', async (t) => {
  const { access } = await t.context.login();
  for (const caller of [confA, confB, admin]) {
    assertInvalidClient(t, await t.context.introspect(access, caller));
  }
  // A client with API as audience but without --introspect is refused too.
  const noIntrospect = await t.context.createClient({ id: 'int-no-introspect', audiences: [API] });
  assertInvalidClient(t, await t.context.introspect(access, noIntrospect));
  assertActive(t, await t.context.introspect(access), 'control: rs-1 sees it');
});

test('INT-06 a revoked access token is exactly {"active":false}', async (t) => {
  const { access } = await t.context.login();
  assertActive(t, await t.context.introspect(access), 'before');
  t.is((await t.context.revoke(access)).status, 200);
  assertInactive(t, await t.context.introspect(access), 'after');
});

test('INT-07 a session ended by the admin API: all its access tokens are {"active":false}', async (t) => {
  const user = await newUser(t.context, 'int-ended');
  const first = await t.context.login(user);
  const renewed = await t.context.refresh(first.refresh);
  t.is(renewed.status, 200);
  const second = renewed.json.access_token as string;
  assertActive(t, await t.context.introspect(second), 'before');
  const sid = decodeJwt(first.access).payload.sid;
  const end = await send(`${t.context.url}/admin/sessions/${encodeURIComponent(sid)}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${await t.context.adminToken()}` },
  });
  t.is(end.status, 204);
  assertInactive(t, await t.context.introspect(first.access), 'first access token');
  assertInactive(t, await t.context.introspect(second), 'renewed access token');
});

test('a disabled user: the tokens of their sessions are {"active":false}', async (t) => {
  const user = await newUser(t.context, 'int-disabled');
  const { access } = await t.context.login(user);
  assertActive(t, await t.context.introspect(access), 'before');
  await disableUser(t.context.store, user.username, t.context.clock.now());
  assertInactive(t, await t.context.introspect(access), 'after');
});

test('a disabled client: its client_credentials and user tokens are {"active":false}', async (t) => {
  const doomed = await t.context.createClient({
    id: 'int-doomed',
    grantTypes: ['password', 'client_credentials'],
    scope: 'read',
    audiences: [API],
  });
  const cc = await clientToken(t, doomed);
  const user = (await loginWith(t, doomed)).access;
  assertActive(t, await t.context.introspect(cc), 'cc before');
  assertActive(t, await t.context.introspect(user), 'user token before');
  await disableClient(t.context.store, doomed.id, t.context.clock.now());
  assertInactive(t, await t.context.introspect(cc), 'cc after');
  assertInactive(t, await t.context.introspect(user), 'user token after');
});

test('INT-08 garbage, forged and foreign tokens are 200 {"active":false}, never an error', async (t) => {
  const { access } = await t.context.login();
  const { payload } = decodeJwt(access);
  const tokens: Record<string, string> = {
    abc: 'abc',
    'three dots': 'a.b.c',
    'two segments': access.split('.').slice(0, 2).join('.'),
    'four segments': `${access}.x`,
    'non-JSON header': `bm90IGpzb24.${access.split('.')[1]}.${access.split('.')[2]}`,
    'very long': 'x'.repeat(9000),
    'tampered payload (scope widened)': tamperPayload(access, (claims) => (claims.scope = 'read write admin')),
    'tampered payload (sub changed)': tamperPayload(access, (claims) => (claims.sub = t.context.bobSub)),
    'tampered signature': tamperSignature(access),
    'alg none': algNone(access),
    'foreign ES256 key with the real kid': await signWithForeignKey(access),
    'foreign RS256 key with the real kid': await signWithForeignKey(access, { alg: 'RS256' }),
    'unknown kid': await signWithForeignKey(access, { kid: 'no-such-kid' }),
    'valid signature, wrong iss': await signWithIssuerKey(t.context, { ...payload, iss: 'https://evil.example.test' }),
    'valid signature, iss with a trailing slash': await signWithIssuerKey(t.context, { ...payload, iss: `${payload.iss}/` }),
    'valid signature, typ JWT': await signWithIssuerKey(t.context, payload, { typ: 'JWT' }),
    'valid signature, no typ': await signWithIssuerKey(t.context, payload, { typ: undefined }),
    'valid signature, jku header': await signWithIssuerKey(t.context, payload, { jku: 'https://evil.example.test/jwks.json' }),
    'valid signature, no exp': await signWithIssuerKey(t.context, { ...payload, exp: undefined }),
    'valid signature, exp as a string': await signWithIssuerKey(t.context, { ...payload, exp: String(payload.exp) }),
    'valid signature, nbf in the future': await signWithIssuerKey(t.context, { ...payload, nbf: t.context.clock.now() + 60 }),
    'valid signature, unknown client_id': await signWithIssuerKey(t.context, { ...payload, client_id: 'no-such-client' }),
    'valid signature, unknown sid': await signWithIssuerKey(t.context, { ...payload, sid: '0190a0a0-0000-7000-8000-000000000000' }),
  };
  for (const [name, token] of Object.entries(tokens)) {
    assertInactive(t, await t.context.introspect(token), name);
  }
  // Control: the genuine token, and the issuer's key with the right claims, are active.
  assertActive(t, await t.context.introspect(access), 'genuine');
  assertActive(t, await t.context.introspect(await signWithIssuerKey(t.context, payload)), 're-signed with the right iss');
});

test('INT-10 a wrong or unknown token_type_hint still finds the token', async (t) => {
  const { access } = await t.context.login();
  for (const hint of ['refresh_token', 'access_token', 'foo']) {
    const reply = await t.context.introspect(access, rs1, { token_type_hint: hint });
    assertActive(t, reply, hint);
    t.is(reply.json.jti, decodeJwt(access).payload.jti);
  }
  const { refresh } = await loginWith(t, intRt);
  for (const hint of ['access_token', 'foo']) {
    const reply = await t.context.introspect(refresh, intRt, { token_type_hint: hint });
    assertActive(t, reply, `refresh token, hint ${hint}`);
  }
});

test('INT-11 audience restriction: rs-2 (OTHER_API) gets {"active":false} for an API token', async (t) => {
  const user = (await t.context.login()).access;
  const cc = await clientToken(t, confB);
  for (const token of [user, cc]) {
    assertActive(t, await t.context.introspect(token, rs1), 'rs-1 control');
    assertInactive(t, await t.context.introspect(token, rs2), 'rs-2');
  }
  // A token for the issuer itself (the admin API's audience) is no resource server's.
  const adminToken = await t.context.adminToken();
  t.is(decodeJwt(adminToken).payload.aud, t.context.issuer);
  assertInactive(t, await t.context.introspect(adminToken, rs1), 'admin token at rs-1');
});

test('INT-12 a refresh token introspected by a resource server is {"active":false}', async (t) => {
  const { refresh } = await t.context.login();
  t.truthy(refresh);
  assertInactive(t, await t.context.introspect(refresh, rs1), 'rs-1');
  assertInactive(t, await t.context.introspect(refresh, intRt), 'another client that may introspect');
  // conf-A holds it but may not introspect at all.
  assertInvalidClient(t, await t.context.introspect(refresh, confA));
  t.is((await t.context.refresh(refresh)).status, 200, 'control: the refresh token was alive');
});

test('INT-12 a client that may introspect sees its own refresh token, until it is rotated or its session ends', async (t) => {
  const user = await newUser(t.context, 'int-rt-user');
  const first = await loginWith(t, intRt, user);
  const sid = decodeJwt(first.access).payload.sid;
  const reply = await t.context.introspect(first.refresh, intRt);
  assertActive(t, reply);
  t.is(reply.json.client_id, intRt.id);
  t.is(reply.json.username, user.username);
  t.is(reply.json.sub, decodeJwt(first.access).payload.sub);
  t.is(reply.json.sid, sid);
  t.is(reply.json.scope, 'read write');
  t.is(reply.json.iss, t.context.issuer);
  t.true(reply.json.exp > t.context.clock.now());
  t.false(/refresh_token"\s*:\s*"/.test(reply.text), 'the token itself is not echoed');

  const rotated = await t.context.refresh(first.refresh, {}, intRt);
  t.is(rotated.status, 200);
  const next = rotated.json.refresh_token as string;
  assertInactive(t, await t.context.introspect(first.refresh, intRt), 'the rotated refresh token');
  assertActive(t, await t.context.introspect(next, intRt), 'its successor');

  const end = await send(`${t.context.url}/admin/sessions/${sid}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${await t.context.adminToken()}` },
  });
  t.is(end.status, 204);
  assertInactive(t, await t.context.introspect(next, intRt), 'after the session ended');
});

test('INT-13 a missing, empty or repeated token is 400 invalid_request', async (t) => {
  const { access } = await t.context.login();
  const bodies = ['', 'token_type_hint=access_token', 'token=', `token=${access}&token=${access}`, `token=${access}&token=abc`];
  for (const body of bodies) {
    const reply = await postForm(`${t.context.url}/introspect`, body, { auth: auth(rs1) });
    t.is(reply.status, 400, body);
    t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
    t.is(reply.json?.error, 'invalid_request', body);
    t.is(reply.json?.active, undefined);
  }
});

test('INT-14 GET /introspect is 405 with Allow: POST and no token data', async (t) => {
  const { access } = await t.context.login();
  const reply = await send(`${t.context.url}/introspect?token=${access}`, { headers: { authorization: basic(rs1.id, rs1.secret) } });
  t.is(reply.status, 405);
  t.is(reply.headers.get('allow'), 'POST');
  t.is(reply.json?.active, undefined);
  t.false(reply.text.includes('"scope"'));
});

test('INT-14 a token in the query string of a POST is refused, not introspected', async (t) => {
  const { access } = await t.context.login();
  const reply = await postForm(`${t.context.url}/introspect?token=${access}`, '', { auth: auth(rs1) });
  t.is(reply.status, 400);
  t.is(reply.json?.error, 'invalid_request');
  t.is(reply.json?.active, undefined);
});

test('INT-15 every introspection answer carries Cache-Control: no-store and Pragma: no-cache', async (t) => {
  const { access } = await t.context.login();
  const replies = {
    active: await t.context.introspect(access),
    inactive: await t.context.introspect('abc'),
    'bad request': await postForm(`${t.context.url}/introspect`, '', { auth: auth(rs1) }),
    unauthenticated: await postForm(`${t.context.url}/introspect`, { token: access }),
  };
  t.true(replies.active.json.active);
  for (const [name, reply] of Object.entries(replies)) {
    t.regex(reply.headers.get('cache-control') ?? '', /(^|,\s*)no-store(\s*,|$)/, name);
    t.is(reply.headers.get('pragma'), 'no-cache', name);
  }
});

test('client_secret_post authenticates an introspecting client too', async (t) => {
  const { access } = await t.context.login();
  const reply = await postForm(`${t.context.url}/introspect`, { token: access, client_id: rs1.id, client_secret: rs1.secret });
  assertActive(t, reply);
  const wrong = await postForm(`${t.context.url}/introspect`, { token: access, client_id: rs1.id, client_secret: 'WRONG' });
  assertInvalidClient(t, wrong);
});

test('INT-04 Bearer authentication is not offered at /introspect: 401 invalid_client', async (t) => {
  const { access } = await t.context.login();
  const reply = await postForm(`${t.context.url}/introspect`, { token: access }, { headers: { authorization: `Bearer ${access}` } });
  assertInvalidClient(t, reply);
});

test('INT-08 a token signed by a key revoked since (gatehouse keys revoke) is {"active":false}', async (t) => {
  const world = await startWorld();
  try {
    const { access } = await world.login();
    const kid = decodeJwt(access).header.kid;
    assertActive(t, await world.introspect(access), 'before');
    t.true(await world.keys.revoke(kid));
    assertInactive(t, await world.introspect(access), 'after the key was revoked');
    const published = (await send(`${world.url}/.well-known/jwks.json`)).json.keys.map((key: any) => key.kid);
    t.false(published.includes(kid), 'the revoked key left the JWKS');
    const fresh = (await world.login()).access;
    t.not(decodeJwt(fresh).header.kid, kid);
    assertActive(t, await world.introspect(fresh), 'a token signed by the next key');
  } finally {
    await world.close();
  }
});

test('INT-03 a token seen before is read with its caller in one statement: the caller is still authenticated from that row', async (t) => {
  const { access } = await t.context.login();
  const gate = await t.context.createClient({ id: 'int-gate', audiences: [API], introspect: true });
  assertActive(t, await t.context.introspect(access, gate), 'first: the token is verified and cached');
  assertActive(t, await t.context.introspect(access, gate), 'again: caller and token state from one read');
  assertInvalidClient(t, await t.context.introspect(access, { id: gate.id, secret: `${gate.secret}x` }));
  assertInvalidClient(t, await t.context.introspect(access, { id: 'int-no-such-caller', secret: gate.secret }));
  assertInactive(t, await t.context.introspect(access, rs2), 'another caller, not of the audience');
  await disableClient(t.context.store, gate.id, t.context.clock.now());
  assertInvalidClient(t, await t.context.introspect(access, gate));
  assertActive(t, await t.context.introspect(access), 'an enabled caller still sees it active');
});

test.serial('a column added to clients while the issuer runs (another instance migrating) does not break the prepared reads', async (t) => {
  const { access } = await t.context.login();
  assertActive(t, await t.context.introspect(access), 'before: the statements are prepared');
  await t.context.db.schema.alterTable('clients', (table) => table.text('added_by_a_newer_release').nullable());
  try {
    assertActive(t, await t.context.introspect(access), 'after, the same token: caller and state in one statement');
    assertActive(t, await t.context.introspect((await t.context.login()).access), 'after, a new token: two statements');
  } finally {
    await t.context.db.schema.alterTable('clients', (table) => table.dropColumn('added_by_a_newer_release'));
  }
});
