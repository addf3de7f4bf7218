/**
 * POST /login: the login form of a pending authorization request. The same password check and throttle as the
 * password grant, one answer for every bad credential, forms that work once, and the login session it opens.
 */
import anyTest, { type TestFn } from 'ava';
import { disableUser, setPassword } from '../../src/users/accounts.js';
import { BrowserAgent, authorizePath, hiddenInputs, pageKind, pkce } from '../helpers/browser-agent.js';
import { spa, spa2, startBrowserWorld, type BrowserWorld } from '../helpers/browser-world.js';
import { alice } from '../helpers/fixtures.js';
import { freshUser, isActive } from '../helpers/grants.js';
import { postForm } from '../helpers/http.js';

const test = anyTest as TestFn<BrowserWorld>;
// One issuer for the file; the tests that move its clock are serial (AVA runs them before the others), and the
// tests that end sessions or disable something do it to users and clients of their own.
test.before(async (t) => {
  t.context = await startBrowserWorld({ env: { GATEHOUSE_LOCKOUT_THRESHOLD: '3' } });
});
test.after.always((t) => t.context?.close());

/** Opens the login form of a fresh authorization request in `agent`; returns its hidden fields. */
async function openForm(agent: BrowserAgent, client: { id: string; redirectUri: string } = spa): Promise<Record<string, string>> {
  const page = await agent.get(authorizePath({ clientId: client.id, redirectUri: client.redirectUri, challenge: pkce().challenge, state: 's' }));
  if (pageKind(page) !== 'login') throw new Error(`expected the login form, got ${page.status}`);
  return hiddenInputs(page.text);
}

test('unknown user, wrong password and disabled user get the same page: 400, one message, the username kept, never the password', async (t) => {
  const w = t.context;
  const known = await freshUser(w);
  const disabled = await freshUser(w);
  await disableUser(w.store, disabled.username, w.clock.now());
  const agent = w.agent();
  const pages: string[] = [];
  for (const [username, password] of [['nobody', 'whatever-123'], [known.username, 'wrong-password'], [disabled.username, disabled.password]] as const) {
    const form = await openForm(agent);
    const reply = await agent.post('/login', { ...form, username, password });
    t.is(reply.status, 400, username);
    t.is(pageKind(reply), 'login', username);
    t.regex(reply.text, /<p class="error" id="login-error" role="alert">The username or password is incorrect<\/p>/, username);
    t.regex(reply.text, new RegExp(`id="username"[^>]*aria-describedby="login-error"[^>]*value="${username}"`), username);
    t.false(reply.text.includes(password), 'the password is never echoed');
    t.is(agent.cookies.get('gatehouse_login'), undefined, username);
    pages.push(reply.text.replace(/value="[^"]*"/g, ''));
  }
  t.is(new Set(pages).size, 1, 'the three pages differ only in the values filled in');
  // The form stays usable after a failure: the right password goes through.
  const form = hiddenInputs((await agent.post('/login', { ...(await openForm(agent)), username: known.username, password: 'nope-nope' })).text);
  t.is((await agent.post('/login', { ...form, username: known.username, password: known.password })).status, 303);
});

test('a missing username or password is 400 with a message', async (t) => {
  const agent = t.context.agent();
  const form = await openForm(agent);
  const reply = await agent.post('/login', { ...form, username: alice.username });
  t.is(reply.status, 400);
  t.regex(reply.text, /Enter your username and your password/);
});

test.serial('the login page and the password grant share one throttle: guesses at one door block the other', async (t) => {
  const w = t.context; // GATEHOUSE_LOCKOUT_THRESHOLD=3
  const user = await freshUser(w);
  const agent = w.agent();
  for (let i = 0; i < 3; i++) {
    const reply = await agent.post('/login', { ...(await openForm(agent)), username: user.username, password: `wrong-${i}-password` });
    t.is(reply.status, 400);
  }
  const grant = await w.token({ grant_type: 'password', username: user.username, password: user.password });
  t.is(grant.status, 429, 'the password grant is blocked by the failures at the login page');
  t.truthy(grant.headers.get('retry-after'));
  const page = await agent.post('/login', { ...(await openForm(agent)), username: user.username, password: user.password });
  t.is(page.status, 429);
  t.truthy(page.headers.get('retry-after'));
  t.regex(page.text, /Too many attempts\. Wait \d+ seconds, then try again\./);
  t.is(pageKind(page), 'login', 'the form is shown again');
  t.true((await w.store.audit.list({ limit: 50 })).some((event) => event.type === 'lockout' && event.subject === user.username));
  // Waiting lets her in, at either door.
  w.clock.advance(Number(page.headers.get('retry-after')));
  t.is((await agent.post('/login', { ...(await openForm(agent)), username: user.username, password: user.password })).status, 303);
});

test.serial('a form works once: after the login it is refused, as is one past its 15 minutes', async (t) => {
  const w = t.context;
  const agent = w.agent();
  const form = await openForm(agent);
  const done = await agent.post('/login', { ...form, username: alice.username, password: alice.password });
  t.is(done.status, 303);
  const again = await agent.post('/login', { ...form, username: alice.username, password: alice.password });
  t.is(again.status, 403);
  t.regex(again.text, /already sent/);
  const lateAgent = w.agent();
  const lateForm = await openForm(lateAgent);
  w.clock.advance(900);
  const expired = await lateAgent.post('/login', { ...lateForm, username: alice.username, password: alice.password });
  t.is(expired.status, 403);
  t.regex(expired.text, /expired/);
  t.is(lateAgent.cookies.get('gatehouse_login'), undefined);
});

test('a successful login is audited with its login session, its client and the address', async (t) => {
  const w = t.context;
  const { agent } = await w.codeFor(spa);
  const events = await w.store.audit.list({ subject: alice.username, limit: 10 });
  const login = events.find((event) => event.type === 'login');
  t.regex(login?.detail ?? '', /^login session [0-9a-f-]{36}$/);
  t.is(login?.clientId, spa.id);
  t.regex(login?.actor ?? '', /^ip:/);
  t.truthy(agent.cookies.get('gatehouse_login'));
});

test('a password change ends the login session and every session opened through it: the next login asks for the password', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { code, verifier, agent } = await w.codeFor(spa, { user });
  const tokens = (await w.redeem(spa, code, verifier)).json;
  await setPassword(w.store, w.deps.passwords, user.username, 'a-new-password-1', w.clock.now());
  t.false(await isActive(t, w, tokens.access_token));
  const page = await agent.get(authorizePath({ clientId: spa2.id, redirectUri: spa2.redirectUri, challenge: pkce().challenge }));
  t.is(pageKind(page), 'login');
});

test('disabling the user ends their login session: no single sign-on, no code redemption', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { agent } = await w.codeFor(spa, { user });
  const pending = await w.codeFor(spa, { agent, user: null });
  await disableUser(w.store, user.username, w.clock.now());
  t.is((await w.redeem(spa, pending.code, pending.verifier)).json.error, 'invalid_grant');
  t.is(pageKind(await agent.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge }))), 'login');
});

test('another user logging in in the same browser ends the previous login session and what was opened through it', async (t) => {
  const w = t.context;
  const first = await freshUser(w);
  const second = await freshUser(w);
  const login = await w.codeFor(spa, { user: first });
  const tokens = (await w.redeem(spa, login.code, login.verifier)).json;
  const switched = await w.codeFor(spa2, { agent: login.agent, user: second, extra: { prompt: 'login' } });
  t.deepEqual(switched.seen, ['login', 'redirect']);
  t.false(await isActive(t, w, tokens.access_token), "the first user's app session ended with her login session");
  const reply = await postForm(`${w.api}/token`, { grant_type: 'refresh_token', refresh_token: tokens.refresh_token, client_id: spa.id });
  t.is(reply.json.error, 'invalid_grant');
  const redeemed = await w.redeem(spa2, switched.code, switched.verifier);
  t.is(redeemed.status, 200);
  t.is(JSON.parse(Buffer.from(redeemed.json.access_token.split('.')[1], 'base64url').toString()).sub, second.id);
});

test('a client disabled while its login form is open: the form is refused with a page', async (t) => {
  const w = t.context;
  const { disableClient } = await import('../../src/clients/register.js');
  const { registerPublicClient } = await import('../../src/clients/register-public.js');
  const doomed = { id: 'doomed', redirectUri: 'https://doomed.example.test/cb' };
  await registerPublicClient(w.store, { id: doomed.id, redirectUris: [doomed.redirectUri] }, w.clock.now());
  const agent = w.agent();
  const form = await openForm(agent, doomed);
  await disableClient(w.store, doomed.id, w.clock.now());
  const reply = await agent.post('/login', { ...form, username: alice.username, password: alice.password });
  t.is(reply.status, 400);
  t.regex(reply.headers.get('content-type') ?? '', /^text\/html/);
  t.is(reply.location, undefined);
  t.is(agent.cookies.get('gatehouse_login'), undefined, 'nothing was checked or opened');
});
