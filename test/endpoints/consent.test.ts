/**
 * Consent (issue #14): clients registered with --third-party get a code only after the user allowed the scopes
 * they ask for; the answer is remembered per user and client until revoked. First-party clients never ask.
 */
import anyTest, { type TestFn } from 'ava';
import { revokeConsent } from '../../src/users/consents.js';
import { authorizePath, hiddenInputs, pageKind, pkce } from '../helpers/browser-agent.js';
import { partner, spa, startBrowserWorld, type BrowserWorld } from '../helpers/browser-world.js';
import { freshUser, isActive } from '../helpers/grants.js';

const test = anyTest as TestFn<BrowserWorld>;
// One issuer for the file: every test's user is its own, so no test sees another's consent.
test.before(async (t) => {
  t.context = await startBrowserWorld();
});
test.after.always((t) => t.context?.close());

const partnerAt = (scope?: string) => authorizePath({ clientId: partner.id, redirectUri: partner.redirectUri, challenge: pkce().challenge, state: 'ps', ...(scope ? { scope } : {}) });

test('a third party asks consent listing its scopes; allowed once, it is remembered for that user and client', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { agent, seen } = await w.codeFor(spa, { user });
  t.deepEqual(seen, ['login', 'redirect'], 'a first-party client never asks');
  const page = await agent.get(partnerAt('read write'));
  t.is(pageKind(page), 'consent');
  t.regex(page.text, /<h1>Allow <strong>partner<\/strong> to use your account\?<\/h1>/);
  t.regex(page.text, new RegExp(`You are logged in as <strong>${user.username}</strong>`));
  t.deepEqual([...page.text.matchAll(/<li><code>([^<]*)<\/code><\/li>/g)].map((m) => m[1]), ['read', 'write']);
  t.regex(page.headers.get('content-security-policy') ?? '', /form-action 'self' https:\/\/partner\.example\.test;/);
  const allowed = await agent.post('/consent', { ...hiddenInputs(page.text), decision: 'allow' });
  t.is(allowed.status, 303);
  t.truthy(new URL(allowed.location!).searchParams.get('code'));
  t.true((await w.store.audit.list({ subject: user.username, limit: 10 })).some((event) => event.type === 'consent_granted' && event.clientId === partner.id));
  // Remembered: the same scope, or less, goes straight through.
  for (const scope of ['read write', 'read', undefined]) t.is((await agent.get(partnerAt(scope))).status, 303, String(scope));
  // Another user in another browser is asked.
  const other = await freshUser(w);
  const { seen: otherSeen } = await w.codeFor(partner, { user: other });
  t.deepEqual(otherSeen, ['login', 'consent', 'redirect']);
});

test('deny sends access_denied to the redirect URI with state and iss, and nothing is remembered', async (t) => {
  const w = t.context;
  const { agent } = await w.codeFor(spa, { user: await freshUser(w) });
  const page = await agent.get(partnerAt('read'));
  const denied = await agent.post('/consent', { ...hiddenInputs(page.text), decision: 'deny' });
  t.is(denied.status, 303);
  const location = new URL(denied.location!);
  t.true(denied.location!.startsWith(`${partner.redirectUri}?`));
  t.is(location.searchParams.get('error'), 'access_denied');
  t.is(location.searchParams.get('state'), 'ps');
  t.is(location.searchParams.get('iss'), w.issuer);
  t.is(location.searchParams.get('code'), null);
  t.is(pageKind(await agent.get(partnerAt('read'))), 'consent', 'asked again next time');
  // The answered form cannot be answered again.
  t.is((await agent.post('/consent', { ...hiddenInputs(page.text), decision: 'allow' })).status, 403);
});

test('asking for more than was consented asks again, for the whole scope; the consent then covers both', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { agent } = await w.codeFor(partner, { scope: 'read', user });
  const wider = await agent.get(partnerAt('read write'));
  t.is(pageKind(wider), 'consent');
  t.is((await agent.post('/consent', { ...hiddenInputs(wider.text), decision: 'allow' })).status, 303);
  t.deepEqual((await w.store.consents.find(user.id, partner.id))?.scope.sort(), ['read', 'write']);
});

test('revoking the consent ends the user\'s sessions at that client and the next login asks again', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { code, verifier, agent } = await w.codeFor(partner, { user });
  const tokens = (await w.redeem(partner, code, verifier)).json;
  const first = await w.codeFor(spa, { agent, user: null });
  const firstParty = (await w.redeem(spa, first.code, first.verifier)).json;
  t.is(await revokeConsent(w.store, user.username, partner.id, w.clock.now(), 'cli'), 1);
  t.false(await isActive(t, w, tokens.access_token));
  t.true(await isActive(t, w, firstParty.access_token), "other clients' sessions stay");
  t.is(pageKind(await agent.get(partnerAt())), 'consent');
});

test('the consent form is answered only by the login session it was shown to, and only with allow or deny', async (t) => {
  const w = t.context;
  const { agent } = await w.codeFor(spa, { user: await freshUser(w) });
  const page = await agent.get(partnerAt('read'));
  const fields = hiddenInputs(page.text);
  t.is((await agent.post('/consent', { ...fields, decision: 'maybe' })).status, 400);
  // The same browser, logged in anew as someone else, cannot answer what alice was asked.
  const user = await freshUser(w);
  await w.codeFor(spa, { agent, user, extra: { prompt: 'login' } });
  const reply = await agent.post('/consent', { ...fields, decision: 'allow' });
  t.is(reply.status, 403);
  t.regex(reply.text, /no longer logged in as the user/);
  t.is(await w.store.consents.find(user.id, partner.id), undefined);
});
