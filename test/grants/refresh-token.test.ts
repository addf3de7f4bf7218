/**
 * POST /token grant_type=refresh_token: rotation, reuse detection, the grace window, concurrency, scope and
 * expiry (standards §4, RT-*; issue #2 HTTP contract). Tests that move the clock run on a world of their own.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { disableUser } from '../../src/users/accounts.js';
import { API, confA, confB, OTHER_API, startWorld, type World } from '../helpers/fixtures.js';
import { assertJsonError, assertTokenResponse, freshUser, isActive } from '../helpers/grants.js';
import { decodeJwt, postForm, send } from '../helpers/http.js';

const test = anyTest as TestFn<World>;

/** A second password + refresh_token client with conf-A's scope and audience: refresh tokens are bound to one. */
const confC = { id: 'conf-C', secret: 'sC-0123456789abcdef0123456789abcdef' } as const;
/** A password + refresh_token client that may also introspect, so it can see its own refresh token's exp. */
const confI = { id: 'conf-I', secret: 'sI-0123456789abcdef0123456789abcdef' } as const;

async function world(env: Record<string, string> = {}): Promise<World> {
  const created = await startWorld({ env });
  await created.createClient({ ...confC, grantTypes: ['password', 'refresh_token'], scope: 'read write', audiences: [API] });
  await created.createClient({ ...confI, grantTypes: ['password', 'refresh_token'], scope: 'read write', audiences: [API], introspect: true });
  return created;
}

/** A world for one test that moves the clock. */
async function ownWorld(t: ExecutionContext<unknown>, env: Record<string, string> = {}): Promise<World> {
  const created = await world(env);
  t.teardown(() => created.close());
  return created;
}

test.before(async (t) => {
  t.context = await world();
});
test.after.always(async (t) => {
  await t.context.close();
});

/** A login of a user of its own, so ending its session touches no other test. */
async function session(w: World, prefix: string) {
  const user = await freshUser(w, prefix);
  const login = await w.login(user);
  return { user, ...login, sid: decodeJwt(login.access).payload.sid as string };
}

/** Refreshes and expects success; returns the new pair. */
async function renew(t: ExecutionContext<unknown>, w: World, refreshToken: string, extra: Record<string, string> = {}) {
  const reply = await w.refresh(refreshToken, extra);
  const { payload } = assertTokenResponse(t, reply);
  t.is(typeof reply.json.refresh_token, 'string');
  return { access: reply.json.access_token as string, refresh: reply.json.refresh_token as string, body: reply.json, payload };
}

async function liveSids(w: World, username: string): Promise<string[]> {
  const reply = await send(`${w.url}/admin/users/${encodeURIComponent(username)}/sessions`, {
    headers: { authorization: `Bearer ${await w.adminToken()}` },
  });
  if (reply.status !== 200) throw new Error(`admin sessions list failed: ${reply.status} ${reply.text}`);
  return reply.json.map((s: { sid: string }) => s.sid);
}

// ---------------------------------------------------------------------------------------------------------------
// Rotation and reuse

test('RT-01 a refresh returns a new access token and a new refresh token in the same session', async (t) => {
  const s = await session(t.context, 'u-rt01');
  const reply = await t.context.refresh(s.refresh);
  const { payload } = assertTokenResponse(t, reply);
  t.deepEqual(Object.keys(reply.json).sort(), ['access_token', 'expires_in', 'refresh_token', 'scope', 'token_type']);
  t.is(typeof reply.json.refresh_token, 'string');
  t.regex(reply.json.refresh_token, /^[A-Za-z0-9_-]{43,}$/);
  t.not(reply.json.refresh_token, s.refresh);
  t.not(reply.json.access_token, s.access);
  t.is(reply.json.scope, 'read write');
  t.is(reply.json.expires_in, 300);
  t.is(payload.sid, s.sid);
  t.is(payload.sub, s.user.id);
  t.is(payload.client_id, confA.id);
  t.is(payload.aud, API);
  t.is(payload.scope, 'read write');
  t.not(payload.jti, decodeJwt(s.access).payload.jti);
  t.true(await isActive(t, t.context, reply.json.access_token));
});

test('RT-01 each rotation gives a refresh token that works once more', async (t) => {
  const s = await session(t.context, 'u-chain');
  const seen = new Set([s.refresh]);
  let current = s.refresh;
  for (let i = 0; i < 5; i++) {
    const next = await renew(t, t.context, current);
    t.false(seen.has(next.refresh));
    seen.add(next.refresh);
    t.is(next.payload.sid, s.sid);
    current = next.refresh;
  }
});

test('RT-02 the rotated refresh token is dead: 400 invalid_grant', async (t) => {
  const s = await session(t.context, 'u-rt02');
  await renew(t, t.context, s.refresh);
  assertJsonError(t, await t.context.refresh(s.refresh), 400, 'invalid_grant');
});

test('RT-03 reuse of a rotated refresh token ends the session', async (t) => {
  const w = t.context;
  const s = await session(w, 'u-rt03');
  const other = await w.login(s.user); // a second session of the same user must live on
  const second = await renew(t, w, s.refresh);
  t.true(await isActive(t, w, s.access), 'control: AT1 active before the reuse');
  t.true(await isActive(t, w, second.access), 'control: AT2 active before the reuse');

  assertJsonError(t, await w.refresh(s.refresh), 400, 'invalid_grant');

  assertJsonError(t, await w.refresh(second.refresh), 400, 'invalid_grant');
  t.false(await isActive(t, w, s.access), 'AT1 inactive after the reuse');
  t.false(await isActive(t, w, second.access), 'AT2 inactive after the reuse');
  t.false((await liveSids(w, s.user.username)).includes(s.sid));
  t.true(await isActive(t, w, other.access), 'another session of the user is untouched');
  t.is((await w.refresh(other.refresh)).status, 200);
  t.true(w.logs.some((line) => line.includes('reuse')), 'the reuse is logged');
});

test('RT-03 reuse deep in the chain ends the session too', async (t) => {
  const w = t.context;
  const s = await session(w, 'u-rt03b');
  const r2 = await renew(t, w, s.refresh);
  const r3 = await renew(t, w, r2.refresh);
  const r4 = await renew(t, w, r3.refresh);
  assertJsonError(t, await w.refresh(r2.refresh), 400, 'invalid_grant');
  assertJsonError(t, await w.refresh(r4.refresh), 400, 'invalid_grant');
  for (const access of [s.access, r2.access, r3.access, r4.access]) t.false(await isActive(t, w, access));
});

test('RT-11 of 10 concurrent refreshes of one token exactly one succeeds, and the session ends', async (t) => {
  const w = t.context;
  const s = await session(w, 'u-rt11');
  const replies = await Promise.all(Array.from({ length: 10 }, () => w.refresh(s.refresh)));
  const winners = replies.filter((reply) => reply.status === 200);
  t.is(winners.length, 1, `statuses: ${replies.map((reply) => reply.status).join(',')}`);
  for (const loser of replies.filter((reply) => reply.status !== 200)) assertJsonError(t, loser, 400, 'invalid_grant');
  const winner = winners[0]!;
  t.is(decodeJwt(winner.json.access_token).payload.sid, s.sid);
  // The losers presented a consumed token: the session is ended, the winner's pair with it.
  assertJsonError(t, await w.refresh(winner.json.refresh_token), 400, 'invalid_grant');
  t.false(await isActive(t, w, winner.json.access_token));
  t.false(await isActive(t, w, s.access));
});

test('RT-11 control: sequential refreshes of successive tokens all succeed', async (t) => {
  const s = await session(t.context, 'u-rt11b');
  const r2 = await renew(t, t.context, s.refresh);
  const r3 = await renew(t, t.context, r2.refresh);
  t.true(await isActive(t, t.context, r3.access));
  t.true(await isActive(t, t.context, s.access), 'rotation alone ends nothing');
});

// ---------------------------------------------------------------------------------------------------------------
// Client binding and authentication

test('RT-04 another client presenting the refresh token gets invalid_grant and nothing is consumed or ended', async (t) => {
  const w = t.context;
  const s = await session(w, 'u-rt04');
  assertJsonError(t, await w.refresh(s.refresh, {}, confC), 400, 'invalid_grant');
  t.true(await isActive(t, w, s.access), 'the session lives on');
  const next = await renew(t, w, s.refresh);
  t.is(next.payload.sid, s.sid);
  t.is(next.payload.client_id, confA.id);
});

test('RT-04 another client presenting an already rotated token ends nothing', async (t) => {
  const w = t.context;
  const s = await session(w, 'u-rt04b');
  const r2 = await renew(t, w, s.refresh);
  assertJsonError(t, await w.refresh(s.refresh, {}, confC), 400, 'invalid_grant');
  t.true(await isActive(t, w, r2.access));
  await renew(t, w, r2.refresh);
});

test('RT-04 the other client own refresh tokens are not usable by conf-A either', async (t) => {
  const w = t.context;
  const user = await freshUser(w, 'u-rt04c');
  const login = await w.token({ grant_type: 'password', username: user.username, password: user.password }, confC);
  t.is(login.status, 200);
  assertJsonError(t, await w.refresh(login.json.refresh_token, {}, confA), 400, 'invalid_grant');
  const own = await w.refresh(login.json.refresh_token, {}, confC);
  t.is(own.status, 200);
  t.is(decodeJwt(own.json.access_token).payload.client_id, confC.id);
});

test('a client without the refresh_token grant gets unauthorized_client and consumes nothing', async (t) => {
  const s = await session(t.context, 'u-unauth');
  assertJsonError(t, await t.context.refresh(s.refresh, {}, confB), 400, 'unauthorized_client');
  await renew(t, t.context, s.refresh);
});

test('RT-05 a refresh without client authentication is 401 invalid_client and consumes nothing', async (t) => {
  const w = t.context;
  const s = await session(w, 'u-rt05');
  const none = await postForm(`${w.url}/token`, { grant_type: 'refresh_token', refresh_token: s.refresh });
  assertJsonError(t, none, 401, 'invalid_client');
  t.is(none.headers.get('www-authenticate'), 'Basic realm="gatehouse"');
  const idOnly = await postForm(`${w.url}/token`, { grant_type: 'refresh_token', refresh_token: s.refresh, client_id: confA.id });
  assertJsonError(t, idOnly, 401, 'invalid_client');
  const wrongSecret = await w.refresh(s.refresh, {}, { id: confA.id, secret: 'WRONG-0123456789abcdef0123456789abcdef' });
  assertJsonError(t, wrongSecret, 401, 'invalid_client');
  t.true(await isActive(t, w, s.access));
  await renew(t, w, s.refresh);
});

test('client_secret_post works for refresh as well', async (t) => {
  const s = await session(t.context, 'u-post');
  const reply = await postForm(`${t.context.url}/token`, { grant_type: 'refresh_token', refresh_token: s.refresh, client_id: confA.id, client_secret: confA.secret });
  t.is(assertTokenResponse(t, reply).payload.sid, s.sid);
});

// ---------------------------------------------------------------------------------------------------------------
// Scope and resource

test('RT-06 the scope may be narrowed', async (t) => {
  const s = await session(t.context, 'u-rt06');
  const narrowed = await renew(t, t.context, s.refresh, { scope: 'read' });
  t.is(narrowed.body.scope, 'read');
  t.is(narrowed.payload.scope, 'read');
  const introspection = await t.context.introspect(narrowed.access);
  t.is(introspection.json.scope, 'read');
});

test('RT-07 a narrowed refresh does not shrink later refreshes', async (t) => {
  const s = await session(t.context, 'u-rt07');
  const narrowed = await renew(t, t.context, s.refresh, { scope: 'write' });
  t.is(narrowed.body.scope, 'write');
  const full = await renew(t, t.context, narrowed.refresh);
  t.is(full.body.scope, 'read write');
  t.is(full.payload.scope, 'read write');
  const narrowedAgain = await renew(t, t.context, full.refresh, { scope: 'read' });
  t.is(narrowedAgain.payload.scope, 'read');
  const wideAgain = await renew(t, t.context, narrowedAgain.refresh, { scope: 'read write' });
  t.is(wideAgain.payload.scope, 'read write');
});

test('RT-07 a login with a narrow scope bounds its refreshes to that scope', async (t) => {
  const user = await freshUser(t.context, 'u-rt07b');
  const login = await t.context.login(user, { scope: 'read' });
  t.is(login.body.scope, 'read');
  const next = await renew(t, t.context, login.refresh);
  t.is(next.body.scope, 'read');
  assertJsonError(t, await t.context.refresh(next.refresh, { scope: 'read write' }), 400, 'invalid_scope');
});

test('RT-08 a widened scope is 400 invalid_scope and the refresh token is not consumed', async (t) => {
  const w = t.context;
  const s = await session(w, 'u-rt08');
  for (const scope of ['read write admin', 'admin', 'gatehouse:admin']) {
    assertJsonError(t, await w.refresh(s.refresh, { scope }), 400, 'invalid_scope');
  }
  t.true(await isActive(t, w, s.access), 'the session lives on');
  const next = await renew(t, w, s.refresh);
  t.is(next.body.scope, 'read write');
  t.is(next.payload.sid, s.sid);
});

test('RT-08 a malformed scope is 400 invalid_scope and consumes nothing', async (t) => {
  const s = await session(t.context, 'u-rt08b');
  assertJsonError(t, await t.context.refresh(s.refresh, { scope: 'read "x"' }), 400, 'invalid_scope');
  await renew(t, t.context, s.refresh);
});

test('RFC 8707 a refresh keeps the session audience; the same resource is accepted', async (t) => {
  const s = await session(t.context, 'u-aud');
  const same = await renew(t, t.context, s.refresh, { resource: API });
  t.is(same.payload.aud, API);
  const omitted = await renew(t, t.context, same.refresh);
  t.is(omitted.payload.aud, API);
});

test('RFC 8707 a refresh for another resource is 400 invalid_target and consumes nothing', async (t) => {
  const s = await session(t.context, 'u-target');
  for (const resource of [OTHER_API, 'https://unknown.example.test']) {
    assertJsonError(t, await t.context.refresh(s.refresh, { resource }), 400, 'invalid_target');
  }
  t.true(await isActive(t, t.context, s.access));
  await renew(t, t.context, s.refresh);
});

test('unknown parameters on a refresh are ignored', async (t) => {
  const s = await session(t.context, 'u-unknown');
  await renew(t, t.context, s.refresh, { foo: 'bar', username: 'mallory', password: 'whatever-pass' });
});

test('TOK-03 a repeated refresh_token is 400 invalid_request and consumes nothing', async (t) => {
  const s = await session(t.context, 'u-repeat');
  const body = `grant_type=refresh_token&refresh_token=${s.refresh}&refresh_token=${s.refresh}`;
  const reply = await postForm(`${t.context.url}/token`, body, { auth: [confA.id, confA.secret] });
  assertJsonError(t, reply, 400, 'invalid_request');
  await renew(t, t.context, s.refresh);
});

// ---------------------------------------------------------------------------------------------------------------
// Bad and ended tokens

test('RT-12 a missing refresh_token is 400 invalid_request', async (t) => {
  assertJsonError(t, await t.context.token({ grant_type: 'refresh_token' }), 400, 'invalid_request');
  assertJsonError(t, await t.context.token({ grant_type: 'refresh_token', refresh_token: '' }), 400, 'invalid_request');
});

test('an unknown refresh token is 400 invalid_grant', async (t) => {
  assertJsonError(t, await t.context.refresh('x'.repeat(43)), 400, 'invalid_grant');
  const s = await session(t.context, 'u-unknown-rt');
  assertJsonError(t, await t.context.refresh(s.access), 400, 'invalid_grant');
});

test('RT-09 after the session is ended by an administrator, its refresh token is invalid_grant', async (t) => {
  const w = t.context;
  const s = await session(w, 'u-rt09');
  const ended = await send(`${w.url}/admin/sessions/${s.sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${await w.adminToken()}` } });
  t.is(ended.status, 204);
  assertJsonError(t, await w.refresh(s.refresh), 400, 'invalid_grant');
  t.false(await isActive(t, w, s.access));
});

test('a disabled user refresh token is invalid_grant', async (t) => {
  const w = t.context;
  const s = await session(w, 'u-disabled');
  await disableUser(w.store, s.user.username, w.clock.now());
  assertJsonError(t, await w.refresh(s.refresh), 400, 'invalid_grant');
});

// ---------------------------------------------------------------------------------------------------------------
// Grace window (GATEHOUSE_REFRESH_GRACE_SECONDS)

const GRACE = { GATEHOUSE_REFRESH_GRACE_SECONDS: '10' };

test('grace: reuse within the grace returns a fresh pair in the same session and ends nothing', async (t) => {
  const w = await ownWorld(t, GRACE);
  const s = await session(w, 'u-grace');
  const second = await renew(t, w, s.refresh);
  w.clock.advance(9);
  const again = await renew(t, w, s.refresh);
  t.is(again.payload.sid, s.sid, 'same session');
  t.not(again.refresh, second.refresh);
  t.not(again.refresh, s.refresh);
  t.not(again.access, second.access);
  t.true(await isActive(t, w, second.access), 'the session was not ended');
  t.true(await isActive(t, w, again.access));
  t.true((await liveSids(w, s.user.username)).includes(s.sid));
  const third = await renew(t, w, again.refresh);
  t.is(third.payload.sid, s.sid);
});

test('grace: reuse after the grace ends the session', async (t) => {
  const w = await ownWorld(t, GRACE);
  const s = await session(w, 'u-grace-late');
  const second = await renew(t, w, s.refresh);
  w.clock.advance(11);
  t.true(await isActive(t, w, second.access), 'control: AT2 active before the reuse');
  assertJsonError(t, await w.refresh(s.refresh), 400, 'invalid_grant');
  assertJsonError(t, await w.refresh(second.refresh), 400, 'invalid_grant');
  t.false(await isActive(t, w, second.access));
  t.false(await isActive(t, w, s.access));
  t.false((await liveSids(w, s.user.username)).includes(s.sid));
});

test('grace: a widened scope within the grace is invalid_scope and ends nothing', async (t) => {
  const w = await ownWorld(t, GRACE);
  const s = await session(w, 'u-grace-scope');
  const second = await renew(t, w, s.refresh);
  assertJsonError(t, await w.refresh(s.refresh, { scope: 'read write admin' }), 400, 'invalid_scope');
  t.true(await isActive(t, w, second.access));
  await renew(t, w, second.refresh);
});

test('grace 0 (default): reuse in the very second of the rotation ends the session', async (t) => {
  const w = await ownWorld(t);
  t.is(w.config.refreshGraceSeconds, 0);
  const s = await session(w, 'u-grace0');
  const second = await renew(t, w, s.refresh);
  assertJsonError(t, await w.refresh(s.refresh), 400, 'invalid_grant');
  t.false(await isActive(t, w, second.access));
});

// ---------------------------------------------------------------------------------------------------------------
// Expiry with the injected clock

test('RT-10 the refresh token expires after GATEHOUSE_REFRESH_TOKEN_TTL; each rotation renews it', async (t) => {
  const w = await ownWorld(t, { GATEHOUSE_REFRESH_TOKEN_TTL: '100' });
  const idle = await session(w, 'u-ttl-idle');
  const busy = await session(w, 'u-ttl-busy');

  w.clock.advance(99);
  const b2 = await renew(t, w, busy.refresh); // issued at t0+99, lives until t0+199
  w.clock.advance(1); // t0+100
  assertJsonError(t, await w.refresh(idle.refresh), 400, 'invalid_grant');

  w.clock.advance(98); // t0+198: past the first token's end, inside the renewed one
  const b3 = await renew(t, w, b2.refresh);
  t.is(b3.payload.sid, busy.sid);
  w.clock.advance(100); // t0+298 = b3 issued + 100
  assertJsonError(t, await w.refresh(b3.refresh), 400, 'invalid_grant');
});

test('RT-03 a rotated refresh token that comes back after its own expiry still ends the session', async (t) => {
  const w = await ownWorld(t, { GATEHOUSE_REFRESH_TOKEN_TTL: '100' });
  const s = await session(w, 'u-reuse-expired');
  w.clock.advance(10);
  const second = await renew(t, w, s.refresh);
  w.clock.advance(95); // the first token is past its TTL, the second is not
  assertJsonError(t, await w.refresh(s.refresh), 400, 'invalid_grant');
  t.false(await isActive(t, w, second.access), 'the session ended: its access token is inactive');
  assertJsonError(t, await w.refresh(second.refresh), 400, 'invalid_grant');
});

test('RT-10 the refresh token is valid one second before its TTL ends', async (t) => {
  const w = await ownWorld(t, { GATEHOUSE_REFRESH_TOKEN_TTL: '100' });
  const s = await session(w, 'u-ttl-edge');
  w.clock.advance(99);
  await renew(t, w, s.refresh);
});

test('RT-10 the session max age bounds refresh and access tokens', async (t) => {
  const w = await ownWorld(t, { GATEHOUSE_SESSION_MAX_AGE: '300', GATEHOUSE_ACCESS_TOKEN_TTL: '120', GATEHOUSE_REFRESH_TOKEN_TTL: '1000' });
  const t0 = w.clock.now();
  const user = await freshUser(w, 'u-maxage');
  const login = await w.token({ grant_type: 'password', username: user.username, password: user.password }, confI);
  const first = assertTokenResponse(t, login).payload;
  t.is(login.json.expires_in, 120);
  t.is(first.exp, t0 + 120);

  // The refresh token's own exp is capped at the session's end, not t0 + 1000.
  const rtIntrospection = await w.introspect(login.json.refresh_token, confI);
  t.is(rtIntrospection.json.active, true);
  t.is(rtIntrospection.json.exp, t0 + 300);

  w.clock.advance(250);
  const r2 = await w.refresh(login.json.refresh_token, {}, confI);
  const p2 = assertTokenResponse(t, r2).payload;
  t.is(p2.exp, t0 + 300, 'the access token never outlives the session');
  t.is(r2.json.expires_in, 50);
  t.is(p2.exp - p2.iat, r2.json.expires_in);

  w.clock.advance(49); // t0+299
  t.true(await isActive(t, w, r2.json.access_token));
  const r3 = await w.refresh(r2.json.refresh_token, {}, confI);
  t.is(assertTokenResponse(t, r3).payload.exp, t0 + 300);
  t.is(r3.json.expires_in, 1);

  w.clock.advance(1); // t0+300: the session is over
  t.false(await isActive(t, w, r3.json.access_token));
  assertJsonError(t, await w.refresh(r3.json.refresh_token, {}, confI), 400, 'invalid_grant');
});

test('RT-10 a refresh token never outlives the session even when its TTL is longer', async (t) => {
  const w = await ownWorld(t, { GATEHOUSE_SESSION_MAX_AGE: '300', GATEHOUSE_REFRESH_TOKEN_TTL: '100000' });
  const s = await session(w, 'u-maxage2');
  w.clock.advance(299);
  const r2 = await renew(t, w, s.refresh);
  t.is(r2.body.expires_in, 1);
  w.clock.advance(1);
  assertJsonError(t, await w.refresh(r2.refresh), 400, 'invalid_grant');
  w.clock.advance(1000);
  assertJsonError(t, await w.refresh(r2.refresh), 400, 'invalid_grant');
});

test('the access token expires exactly at exp: active at exp-1, inactive at exp', async (t) => {
  const w = await ownWorld(t);
  const s = await session(w, 'u-exp');
  const { exp, iat } = decodeJwt(s.access).payload;
  t.is(exp - iat, 300);
  w.clock.set(exp - 1);
  t.true(await isActive(t, w, s.access));
  w.clock.set(exp);
  t.false(await isActive(t, w, s.access));
  // The session is still alive: the refresh token gives a new token valid from now.
  const next = await renew(t, w, s.refresh);
  t.is(next.payload.exp, exp + 300);
  t.true(await isActive(t, w, next.access));
});
