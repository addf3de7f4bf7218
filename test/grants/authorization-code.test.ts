/**
 * grant_type=authorization_code (RFC 6749 §4.1.3) with PKCE (RFC 7636 §4.5–4.6): a code is single-use,
 * short-lived, and bound to its client, its redirect URI and its code challenge; the session it opens belongs to
 * the login session it came through.
 */
import anyTest, { type TestFn } from 'ava';
import { API, confA } from '../helpers/fixtures.js';
import { assertJsonError, assertTokenResponse, isActive } from '../helpers/grants.js';
import { decodeJwt, postForm, send } from '../helpers/http.js';
import { partner, spa, spa2, startBrowserWorld, web, type BrowserWorld } from '../helpers/browser-world.js';
import { pkce } from '../helpers/browser-agent.js';

const test = anyTest as TestFn<BrowserWorld>;
// One issuer for the file (each test logs in through a browser of its own); the tests that move its clock are
// serial, and AVA runs serial tests before the others.
test.before(async (t) => {
  t.context = await startBrowserWorld();
});
test.after.always((t) => t.context?.close());

test('RFC 6749 §4.1.3: a public client redeems its code with the PKCE verifier and gets a session with rotating refresh tokens', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(spa);
  const reply = await w.redeem(spa, code, verifier);
  const { payload } = assertTokenResponse(t, reply);
  t.is(payload.client_id, spa.id);
  t.is(payload.sub, w.aliceSub);
  t.is(payload.aud, API);
  t.is(reply.json.scope, 'read write');
  t.is(typeof payload.sid, 'string');
  t.true(await isActive(t, w, reply.json.access_token));
  const rotated = await postForm(`${w.api}/token`, { grant_type: 'refresh_token', refresh_token: reply.json.refresh_token, client_id: spa.id });
  assertTokenResponse(t, rotated);
  t.not(rotated.json.refresh_token, reply.json.refresh_token);
});

test('a confidential client redeems with its secret; without it the answer is invalid_client', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(web);
  assertJsonError(t, await w.redeem({ id: web.id, redirectUri: web.redirectUri }, code, verifier), 401, 'invalid_client');
  assertTokenResponse(t, await w.redeem(web, code, verifier));
});

test('RFC 6749 §4.1.2: a code used twice is refused, and the session its first use opened ends (tokens inactive, refresh refused)', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(spa);
  const first = await w.redeem(spa, code, verifier);
  assertTokenResponse(t, first);
  assertJsonError(t, await w.redeem(spa, code, verifier), 400, 'invalid_grant');
  t.false(await isActive(t, w, first.json.access_token));
  assertJsonError(t, await postForm(`${w.api}/token`, { grant_type: 'refresh_token', refresh_token: first.json.refresh_token, client_id: spa.id }), 400, 'invalid_grant');
  t.true((await w.store.audit.list({ limit: 50 })).some((event) => event.type === 'code_reuse'));
  // The user's login at the issuer is not what was stolen: a new login through the browser works.
  const again = await w.codeFor(spa);
  assertTokenResponse(t, await w.redeem(spa, again.code, again.verifier));
});

test('concurrent redemptions of one code: exactly one gets tokens; the others are reuse, which ends that session', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(spa);
  const replies = await Promise.all(Array.from({ length: 10 }, () => w.redeem(spa, code, verifier)));
  const winners = replies.filter((reply) => reply.status === 200);
  t.is(winners.length, 1, replies.map((reply) => reply.status).join(' '));
  for (const reply of replies.filter((r) => r.status !== 200)) assertJsonError(t, reply, 400, 'invalid_grant');
  t.false(await isActive(t, w, winners[0]!.json.access_token), 'two parties held the code: its session ended');
});

test('RFC 6749 §4.1.3: a code is bound to its client; another client gets invalid_grant and the code stays good for its own', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(spa);
  assertJsonError(t, await w.redeem({ id: spa2.id, redirectUri: spa.redirectUri }, code, verifier), 400, 'invalid_grant');
  // A confidential client that may use the grant, with its own secret, presenting the SPA's code.
  assertJsonError(t, await w.redeem(web, code, verifier, { redirect_uri: spa.redirectUri }), 400, 'invalid_grant');
  assertTokenResponse(t, await w.redeem(spa, code, verifier));
});

test('RFC 6749 §4.1.3: the redirect_uri must be identical to the authorization request; missing is invalid_request', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(spa2);
  assertJsonError(t, await w.redeem({ id: spa2.id, redirectUri: 'http://localhost:5174/cb' }, code, verifier), 400, 'invalid_grant');
  assertJsonError(t, await w.redeem({ id: spa2.id, redirectUri: `${spa2.redirectUri}&x=1` }, code, verifier), 400, 'invalid_grant');
  const missing = await postForm(`${w.api}/token`, { grant_type: 'authorization_code', code, code_verifier: verifier, client_id: spa2.id });
  assertJsonError(t, missing, 400, 'invalid_request');
  assertTokenResponse(t, await w.redeem(spa2, code, verifier));
});

test('RFC 7636 §4.6: a wrong or malformed code_verifier is invalid_grant, a missing one invalid_request; none of them consumes the code', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(spa);
  assertJsonError(t, await w.redeem(spa, code, pkce().verifier), 400, 'invalid_grant');
  assertJsonError(t, await w.redeem(spa, code, 'short'), 400, 'invalid_grant');
  assertJsonError(t, await w.redeem(spa, code, `${verifier.slice(0, -1)}!`), 400, 'invalid_grant');
  const missing = await postForm(`${w.api}/token`, { grant_type: 'authorization_code', code, redirect_uri: spa.redirectUri, client_id: spa.id });
  assertJsonError(t, missing, 400, 'invalid_request');
  assertTokenResponse(t, await w.redeem(spa, code, verifier));
});

test.serial('RFC 6749 §4.1.2: a code is short-lived: past GATEHOUSE_AUTHORIZATION_CODE_TTL it is invalid_grant', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(spa);
  w.clock.advance(w.config.authorizationCodeTtlSeconds);
  assertJsonError(t, await w.redeem(spa, code, verifier), 400, 'invalid_grant');
  t.is(w.config.authorizationCodeTtlSeconds, 60, 'the default');
});

test('a code whose login session ended before the redemption (the user logged out) opens nothing', async (t) => {
  const w = t.context;
  const { code, verifier, agent } = await w.codeFor(spa);
  const logout = await agent.get('/logout');
  const { csrf } = Object.fromEntries([...logout.text.matchAll(/name="(\w+)" value="([^"]*)"/g)].map((m) => [m[1], m[2]]));
  t.is((await agent.post('/logout', { csrf: csrf! })).status, 200);
  assertJsonError(t, await w.redeem(spa, code, verifier), 400, 'invalid_grant');
});

test('a client without the authorization_code grant gets unauthorized_client (TOK-08)', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(spa);
  const reply = await w.token({ grant_type: 'authorization_code', code, redirect_uri: spa.redirectUri, code_verifier: verifier }, confA);
  assertJsonError(t, reply, 400, 'unauthorized_client');
  assertTokenResponse(t, await w.redeem(spa, code, verifier));
});

test('RFC 8707: resource at /authorize sets the audience; another resource at /token is invalid_target and consumes nothing', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(spa, { extra: { resource: API } });
  assertJsonError(t, await w.redeem(spa, code, verifier, { resource: 'https://other.example.test' }), 400, 'invalid_target');
  const reply = await w.redeem(spa, code, verifier, { resource: API });
  t.is(assertTokenResponse(t, reply).payload.aud, API);
});

test.serial('the session belongs to the login session and never outlives it', async (t) => {
  const w = t.context;
  const agent = w.agent();
  const first = await w.codeFor(spa, { agent });
  const one = await w.redeem(spa, first.code, first.verifier);
  w.clock.advance(1000);
  const second = await w.codeFor(spa2, { agent, user: null });
  t.deepEqual(second.seen, ['redirect'], 'single sign-on: no page');
  const two = await w.redeem(spa2, second.code, second.verifier);
  const sids = [one, two].map((reply) => decodeJwt(reply.json.access_token).payload.sid);
  const adminToken = await w.adminToken();
  const listed = await send(`${w.api}/admin/users/alice/sessions`, { headers: { authorization: `Bearer ${adminToken}` } });
  const mine = listed.json.filter((session: any) => sids.includes(session.sid));
  t.is(mine.length, 2);
  t.is(mine[0].login_session, mine[1].login_session, 'both opened through the same login session');
  const login = await w.store.loginSessions.find(mine[0].login_session);
  t.truthy(login);
  for (const session of mine) t.true(session.expires_at <= login!.expiresAt, 'capped at the login session end');
  t.is(mine.find((s: any) => s.sid === sids[1]).expires_at, login!.expiresAt, 'opened 1000 s later, it ends with the login session');
});

test('only hashes are stored: no code, cookie value or pending-request id appears in the database', async (t) => {
  const w = t.context;
  const { code, verifier, agent } = await w.codeFor(spa);
  await w.redeem(spa, code, verifier);
  const secrets = [code, ...agent.cookies.values()];
  for (const table of ['authorization_codes', 'login_sessions', 'authorization_requests']) {
    const dump = JSON.stringify(await w.db(table).select());
    for (const secret of secrets) t.false(dump.includes(secret), `${table} holds a raw secret`);
  }
});

test('a public client redeems from its redirect URI origin with CORS (that origin is registered with the redirect URI)', async (t) => {
  const w = t.context;
  const { code, verifier } = await w.codeFor(spa);
  const reply = await postForm(
    `${w.api}/token`,
    { grant_type: 'authorization_code', code, redirect_uri: spa.redirectUri, code_verifier: verifier, client_id: spa.id },
    { headers: { origin: spa.origin } },
  );
  assertTokenResponse(t, reply);
  t.is(reply.headers.get('access-control-allow-origin'), spa.origin);
  // And a page of another client's origin cannot.
  const other = await w.codeFor(spa);
  const foreign = await postForm(
    `${w.api}/token`,
    { grant_type: 'authorization_code', code: other.code, redirect_uri: spa.redirectUri, code_verifier: other.verifier, client_id: spa.id },
    { headers: { origin: spa2.origin } },
  );
  t.is(foreign.status, 403);
});

test('a third-party client gets its code only after consent; its tokens carry the consented scope', async (t) => {
  const w = t.context;
  const { code, verifier, seen } = await w.codeFor(partner, { scope: 'read' });
  t.deepEqual(seen, ['login', 'consent', 'redirect']);
  const reply = await w.redeem(partner, code, verifier);
  t.is(assertTokenResponse(t, reply).payload.scope, 'read');
  t.true(await isActive(t, w, reply.json.access_token));
});
