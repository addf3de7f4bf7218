/**
 * Login CSRF (issue #14): an attacker puts a copy of the login form, filled in with their own account, on their
 * site; a visitor's browser posts it. Had it worked, the visitor's apps would save her data into the attacker's
 * account. Two independent defences, each tested alone: the form must come from the issuer's page (Sec-Fetch-Site,
 * Origin), and it must be the form this browser opened (its pending request is bound to the browser cookie).
 * The real-browser version is in test/browser/sso.test.ts.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { BrowserAgent, authorizePath, hiddenInputs, pageKind, pkce, type PageReply } from '../helpers/browser-agent.js';
import { partner, spa, startBrowserWorld, type BrowserWorld } from '../helpers/browser-world.js';
import { bob } from '../helpers/fixtures.js';

const test = anyTest as TestFn<BrowserWorld>;
test.beforeEach(async (t) => {
  t.context = await startBrowserWorld();
});
test.afterEach.always((t) => t.context?.close());

/** The attacker (bob) opens a login form in their own browser and keeps its fields. */
async function attackerForm(w: BrowserWorld): Promise<Record<string, string>> {
  const attacker = w.agent();
  const page = await attacker.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge, state: 'x' }));
  return { ...hiddenInputs(page.text), username: bob.username, password: bob.password };
}

function assertRefused(t: ExecutionContext, reply: PageReply, what: string): void {
  t.is(reply.status, 403, `${what}: ${reply.status}`);
  t.is(reply.location, undefined, what);
  t.false(reply.setCookies.some((line) => line.startsWith('gatehouse_login=')), `${what}: no login session`);
}

async function assertNothingChecked(t: ExecutionContext, w: BrowserWorld): Promise<void> {
  const events = await w.store.audit.list({ limit: 100 });
  t.false(events.some((event) => ['login', 'login_failed', 'lockout'].includes(event.type)), 'no password was checked or counted');
}

test('a copy of the login form posted from another site is refused before the password is looked at', async (t) => {
  const w = t.context;
  const form = await attackerForm(w);
  const victim = w.agent();
  await victim.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge })); // she even has a browser cookie
  for (const [what, headers] of [
    ['Fetch Metadata and Origin of the other site', { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' }],
    ['an opaque origin (no-referrer page, sandboxed frame)', { origin: 'null', 'sec-fetch-site': 'cross-site' }],
    ['a sibling subdomain', { origin: 'https://evil.example.test', 'sec-fetch-site': 'same-site' }],
    ['an older browser: Origin only', { origin: 'https://evil.example', 'sec-fetch-site': '' }],
    ['Fetch Metadata only', { origin: '', 'sec-fetch-site': 'cross-site' }],
  ] as const) {
    assertRefused(t, await victim.post('/login', form, headers), what);
  }
  await assertNothingChecked(t, w);
});

test("even a browser that sends neither header cannot post a form another browser opened", async (t) => {
  const w = t.context;
  const form = await attackerForm(w);
  const bare = { origin: '', 'sec-fetch-site': '' };
  // A fresh browser: no cookie at all.
  assertRefused(t, await w.agent().post('/login', form, bare), 'fresh browser');
  // A browser with a cookie of its own, from another login form.
  const victim = w.agent();
  await victim.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge }));
  const reply = await victim.post('/login', form, bare);
  assertRefused(t, reply, 'another browser cookie');
  t.regex(reply.text, /not opened in this browser/);
  await assertNothingChecked(t, w);
  // The victim is not logged in anywhere: her next login asks for the password.
  t.is(pageKind(await victim.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge }))), 'login');
});

test('a made-up, malformed or missing form id is refused', async (t) => {
  const w = t.context;
  const agent = w.agent();
  await agent.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge }));
  for (const flow of [undefined, 'x', 'A'.repeat(43), '../../etc', '<b>']) {
    const form: Record<string, string> = { username: bob.username, password: bob.password };
    if (flow !== undefined) form.flow = flow;
    assertRefused(t, await agent.post('/login', form), String(flow));
  }
  await assertNothingChecked(t, w);
});

test('the consent form cannot be answered from another site, nor with a form from another browser', async (t) => {
  const w = t.context;
  // The attacker opens a consent form as themselves.
  const attacker = await w.codeFor(spa, { user: bob });
  const theirs = hiddenInputs((await attacker.agent.get(authorizePath({ clientId: partner.id, redirectUri: partner.redirectUri, challenge: pkce().challenge }))).text);
  // The victim, logged in, has one open too.
  const victim = await w.codeFor(spa);
  const page = await victim.agent.get(authorizePath({ clientId: partner.id, redirectUri: partner.redirectUri, challenge: pkce().challenge }));
  const mine = hiddenInputs(page.text);
  t.is((await victim.agent.post('/consent', { ...mine, decision: 'allow' }, { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' })).status, 403);
  t.is((await victim.agent.post('/consent', { ...theirs, decision: 'allow' }, { origin: '', 'sec-fetch-site': '' })).status, 403);
  t.is(await w.store.consents.find(w.aliceSub, partner.id), undefined, 'no consent was recorded');
  t.is((await victim.agent.post('/consent', { ...mine, decision: 'allow' })).status, 303, 'her own answer from the page works');
});

test('a cookie value that Gatehouse never set names nothing', async (t) => {
  const w = t.context;
  const agent = new BrowserAgent(w.api, w.issuer);
  agent.cookies.set('gatehouse_login', 'A'.repeat(43));
  agent.cookies.set('gatehouse_browser', 'not base64url!');
  t.is(pageKind(await agent.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge }))), 'login');
});
