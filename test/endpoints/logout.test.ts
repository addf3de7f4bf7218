/**
 * Ending the issuer login session (issue #14): at GET/POST /logout, through the admin API, or for a user. It ends
 * every session opened through it, so every app's tokens are refused at the next introspection and their
 * renewals get invalid_grant; sessions of the password grant are not its to end.
 */
import anyTest, { type TestFn } from 'ava';
import { registerPublicClient } from '../../src/clients/register-public.js';
import { BrowserAgent, authorizePath, hiddenInputs, pageKind, pkce } from '../helpers/browser-agent.js';
import { spa, spa2, startBrowserWorld, type BrowserWorld } from '../helpers/browser-world.js';
import { API } from '../helpers/fixtures.js';
import { freshUser, isActive } from '../helpers/grants.js';
import { decodeJwt, postForm, send } from '../helpers/http.js';

const test = anyTest as TestFn<BrowserWorld>;
// One issuer for the file: every test logs its own fresh user in through a browser of its own.
test.before(async (t) => {
  t.context = await startBrowserWorld();
  await registerPublicClient(
    t.context.store,
    { id: 'with-logout', redirectUris: ['https://app.example.test/cb'], postLogoutRedirectUris: [RETURN], audiences: [API] },
    t.context.clock.now(),
  );
});
test.after.always((t) => t.context?.close());

const RETURN = 'https://app.example.test/logged-out';

/** A user logged in through one browser at two apps, with both apps' tokens. */
async function twoApps(w: BrowserWorld) {
  const user = await freshUser(w);
  const one = await w.codeFor(spa, { user });
  const two = await w.codeFor(spa2, { agent: one.agent, user: null });
  const tokens = [(await w.redeem(spa, one.code, one.verifier)).json, (await w.redeem(spa2, two.code, two.verifier)).json];
  return { user, agent: one.agent, tokens };
}

const renew = (w: BrowserWorld, clientId: string, refreshToken: string) =>
  postForm(`${w.api}/token`, { grant_type: 'refresh_token', refresh_token: refreshToken, client_id: clientId });

async function logout(agent: BrowserAgent, query = '') {
  const page = await agent.get(`/logout${query}`);
  return { page, reply: await agent.post('/logout', hiddenInputs(page.text)) };
}

test('GET /logout asks; POST ends the login session and both apps\' sessions at once; a password-grant session stays', async (t) => {
  const w = t.context;
  const { user, agent, tokens } = await twoApps(w);
  const direct = await w.login(user);
  const { page, reply } = await logout(agent);
  t.is(pageKind(page), 'logout');
  t.regex(page.text, new RegExp(`You are logged in as <strong>${user.username}</strong>`));
  t.is(reply.status, 200);
  t.regex(reply.text, /<h1>You are logged out<\/h1>/);
  t.true(reply.setCookies.some((line) => /^gatehouse_login=; .*Max-Age=0/.test(line)), 'the cookie is deleted');
  for (const [i, clientId] of [spa.id, spa2.id].entries()) {
    t.false(await isActive(t, w, tokens[i].access_token), clientId);
    t.is((await renew(w, clientId, tokens[i].refresh_token)).json.error, 'invalid_grant', clientId);
  }
  t.true(await isActive(t, w, direct.access), 'a session of the password grant belongs to no login session');
  t.true((await w.store.audit.list({ subject: user.username, limit: 10 })).some((e) => e.type === 'session_ended' && /\(logout\) and 2 session/.test(e.detail ?? '')));
  // Logged out: the next app asks for the password.
  t.is(pageKind(await agent.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge }))), 'login');
});

test('an app sends the user to log out and back: client_id, a registered post_logout_redirect_uri and state', async (t) => {
  const w = t.context;
  const { agent } = await twoApps(w);
  const query = `?${new URLSearchParams({ client_id: 'with-logout', post_logout_redirect_uri: RETURN, state: 'bye & back' })}`;
  const { page, reply } = await logout(agent, query);
  t.regex(page.headers.get('content-security-policy') ?? '', /form-action 'self' https:\/\/app\.example\.test;/);
  t.is(reply.status, 303);
  t.is(reply.location, `${RETURN}?state=bye+%26+back`);
  // Not logged in any more: straight back, nothing to confirm.
  const again = await agent.get(`/logout${query}`);
  t.is(again.status, 303);
  t.is(again.location, `${RETURN}?state=bye+%26+back`);
});

test('an unregistered return address is shown as an error and never followed', async (t) => {
  const w = t.context;
  const { agent, tokens } = await twoApps(w);
  for (const query of [
    { post_logout_redirect_uri: 'https://evil.example/' },
    { client_id: 'with-logout', post_logout_redirect_uri: 'https://evil.example/' },
    { client_id: 'with-logout', post_logout_redirect_uri: `${RETURN}/` },
    { client_id: spa.id, post_logout_redirect_uri: RETURN },
    { client_id: 'with-logout', post_logout_redirect_uri: 'https://app.example.test/cb' }, // a redirect URI is not a logout return
  ]) {
    const reply = await agent.get(`/logout?${new URLSearchParams(query)}`);
    t.is(reply.status, 400, JSON.stringify(query));
    t.is(reply.location, undefined);
    const posted = await agent.post('/logout', { ...query, csrf: 'x' });
    t.is(posted.status, 400, JSON.stringify(query));
  }
  t.true(await isActive(t, w, tokens[0].access_token), 'nothing ended');
});

test('POST /logout is refused without this browser\'s token or from another site; nothing ends', async (t) => {
  const w = t.context;
  const { agent, tokens } = await twoApps(w);
  const { csrf } = hiddenInputs((await agent.get('/logout')).text);
  t.is((await agent.post('/logout', {})).status, 403, 'no token');
  t.is((await agent.post('/logout', { csrf: 'ab'.repeat(32) })).status, 403, 'a wrong token');
  t.is((await agent.post('/logout', { csrf: csrf! }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status, 403, 'another site');
  t.is((await agent.post('/logout', { csrf: csrf! }, { origin: 'null', 'sec-fetch-site': 'cross-site' })).status, 403, 'an opaque origin');
  t.true(await isActive(t, w, tokens[0].access_token));
  t.is((await agent.post('/logout', { csrf: csrf! })).status, 200);
  t.false(await isActive(t, w, tokens[0].access_token));
});

test('GET /logout in a browser that is not logged in says so; POST changes nothing', async (t) => {
  const agent = t.context.agent();
  const page = await agent.get('/logout');
  t.is(page.status, 200);
  t.regex(page.text, /You are not logged in/);
  t.is((await agent.post('/logout', {})).status, 200);
});

test('admin API: DELETE /admin/sessions/{login session} ends every session opened through it; a single app session ends alone', async (t) => {
  const w = t.context;
  const admin = await w.adminToken();
  const del = (path: string) => send(`${w.api}/admin${path}`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
  const { tokens, agent } = await twoApps(w);
  const sid = decodeJwt(tokens[0].access_token).payload.sid;
  const loginSession = (await w.store.sessions.find(sid))!.loginSessionId!;
  // One app's session alone: the other app and the login session live on (ADM-02).
  t.is((await del(`/sessions/${sid}`)).status, 204);
  t.false(await isActive(t, w, tokens[0].access_token));
  t.true(await isActive(t, w, tokens[1].access_token));
  t.is((await agent.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge }))).status, 303, 'still logged in at the issuer');
  // The login session: everything opened through it.
  t.is((await del(`/sessions/${loginSession}`)).status, 204);
  t.false(await isActive(t, w, tokens[1].access_token));
  t.is(pageKind(await agent.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge }))), 'login');
  t.is((await del(`/sessions/${loginSession}`)).status, 204, 'ending it again is not an error');
});

test('admin API: DELETE /admin/users/{u}/sessions ends the user\'s login sessions too, and the listing names them', async (t) => {
  const w = t.context;
  const admin = await w.adminToken();
  const { user, tokens, agent } = await twoApps(w);
  const listed = await send(`${w.api}/admin/users/${user.username}/sessions`, { headers: { authorization: `Bearer ${admin}` } });
  t.is(listed.json.length, 2);
  for (const session of listed.json) t.deepEqual(Object.keys(session).sort(), ['client_id', 'created_at', 'expires_at', 'login_session', 'sid', 'username']);
  t.is(new Set(listed.json.map((session: any) => session.login_session)).size, 1);
  const ended = await send(`${w.api}/admin/users/${user.username}/sessions`, { method: 'DELETE', headers: { authorization: `Bearer ${admin}` } });
  t.is(ended.status, 204);
  for (const token of tokens) t.false(await isActive(t, w, token.access_token));
  t.is(pageKind(await agent.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge }))), 'login');
});
