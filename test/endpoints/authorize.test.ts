/**
 * GET /authorize (RFC 6749 §4.1.1, RFC 7636, RFC 9207): what is shown and what is redirected, single sign-on,
 * prompt and max_age, and the headers of the pages.
 */
import anyTest, { type ExecutionContext, type TestFn } from 'ava';
import { createHash } from 'node:crypto';
import { authorizePath, pageKind, pkce, type PageReply } from '../helpers/browser-agent.js';
import { partner, spa, spa2, startBrowserWorld, type BrowserWorld } from '../helpers/browser-world.js';
import { API } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';

const test = anyTest as TestFn<BrowserWorld>;
test.before(async (t) => {
  t.context = await startBrowserWorld();
});
test.after.always((t) => t.context?.close());

const base = (client: { id: string; redirectUri: string }, extra: Record<string, string> = {}) =>
  new URLSearchParams({ response_type: 'code', client_id: client.id, redirect_uri: client.redirectUri, code_challenge: pkce().challenge, code_challenge_method: 'S256', state: 'st', ...extra });

function assertShown(t: ExecutionContext, reply: PageReply, what: string): void {
  t.is(reply.status, 400, `${what}: ${reply.status} ${reply.text.slice(0, 200)}`);
  t.is(reply.location, undefined, `${what}: never redirected`);
  t.regex(reply.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/, what);
  t.regex(reply.text, /<h1>This request cannot be completed<\/h1>/, what);
  t.regex(reply.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/, what);
}

function assertRedirectedError(t: ExecutionContext, w: BrowserWorld, reply: PageReply, redirectUri: string, error: string, what: string): URL {
  t.is(reply.status, 303, `${what}: ${reply.status} ${reply.text.slice(0, 300)}`);
  const location = new URL(reply.location!);
  t.true(reply.location!.startsWith(`${redirectUri}${redirectUri.includes('?') ? '&' : '?'}`), `${what}: to the registered URI`);
  t.is(location.searchParams.get('error'), error, what);
  t.is(location.searchParams.get('state'), 'st', `${what}: state returned`);
  t.is(location.searchParams.get('iss'), w.issuer, `${what}: iss (RFC 9207)`);
  t.is(location.searchParams.get('code'), null, what);
  const description = location.searchParams.get('error_description');
  if (description !== null) t.regex(description, /^[\x20\x21\x23-\x5B\x5D-\x7E]+$/, what);
  return location;
}

test('RFC 6749 §4.1.2.1: without one valid client_id the error is shown, never redirected', async (t) => {
  const w = t.context;
  const agent = w.agent();
  const cases: Array<[string, string]> = [
    ['no client_id', `response_type=code&redirect_uri=${encodeURIComponent(spa.redirectUri)}`],
    ['unknown client', base({ id: 'nobody', redirectUri: spa.redirectUri }).toString()],
    ['repeated client_id', `${base(spa)}&client_id=${spa.id}`],
    ['a confidential client id that is not a browser client', base({ id: 'conf-A', redirectUri: spa.redirectUri }).toString()],
    ['malformed encoding', `${base(spa)}&x=%ZZ`],
    ['NUL', `${base(spa)}&scope=%00`],
  ];
  for (const [what, query] of cases) assertShown(t, await agent.get(`/authorize?${query}`), what);
});

test('RFC 6749 §4.1.2.1 / RFC 9700 §4.1.3: a redirect_uri that is not exactly a registered one is shown as an error, never followed', async (t) => {
  const agent = t.context.agent();
  for (const uri of [
    undefined,
    'https://evil.example/callback',
    `${spa.redirectUri}/`,
    `${spa.redirectUri}?x=1`,
    `${spa.redirectUri}#frag`,
    spa.redirectUri.toUpperCase(),
    'http://127.0.0.1:5173/callback/../evil',
    'http://127.0.0.1:5174/callback',
    spa2.redirectUri, // registered, but for another client
    'javascript:alert(1)',
  ]) {
    const query = base(spa);
    if (uri === undefined) query.delete('redirect_uri');
    else query.set('redirect_uri', uri);
    assertShown(t, await agent.get(`/authorize?${query}`), String(uri));
  }
  assertShown(t, await agent.get(`/authorize?${base(spa)}&redirect_uri=${encodeURIComponent(spa.redirectUri)}`), 'repeated redirect_uri');
});

test('RFC 6749 §4.1.2.1: once client and redirect URI are good, errors go back to the client with state and iss', async (t) => {
  const w = t.context;
  const agent = w.agent();
  const cases: Array<[string, Record<string, string>, string, ((q: URLSearchParams) => void)?]> = [
    ['no response_type', {}, 'invalid_request', (q) => q.delete('response_type')],
    ['response_type=token (implicit)', { response_type: 'token' }, 'unsupported_response_type'],
    ['response_type=code id_token', { response_type: 'code id_token' }, 'unsupported_response_type'],
    ['RFC 7636 §4.4.1: no code_challenge', {}, 'invalid_request', (q) => q.delete('code_challenge')],
    ['no code_challenge_method (plain by default)', {}, 'invalid_request', (q) => q.delete('code_challenge_method')],
    ['code_challenge_method=plain', { code_challenge_method: 'plain' }, 'invalid_request'],
    ['a challenge that is not S256-shaped', { code_challenge: 'short' }, 'invalid_request'],
    ['a scope beyond the client', { scope: 'read admin' }, 'invalid_scope'],
    ['the admin scope', { scope: 'gatehouse:admin' }, 'invalid_scope'],
    ['a malformed scope', { scope: 'read "x"' }, 'invalid_scope'],
    ['an unknown resource', { resource: 'https://other.example.test' }, 'invalid_target'],
    ['prompt=consent', { prompt: 'consent' }, 'invalid_request'],
    ['max_age=-1', { max_age: '-1' }, 'invalid_request'],
  ];
  for (const [what, extra, error, change] of cases) {
    const query = base(spa, extra);
    change?.(query);
    assertRedirectedError(t, w, await agent.get(`/authorize?${query}`), spa.redirectUri, error, what);
  }
  assertRedirectedError(t, w, await agent.get(`/authorize?${base(spa)}&scope=read&scope=write`), spa.redirectUri, 'invalid_request', 'repeated scope');
  // The registered query is kept, the parameters appended (RFC 6749 §3.1.2).
  const kept = assertRedirectedError(t, w, await agent.get(`/authorize?${base(spa2, { response_type: 'token' })}`), spa2.redirectUri, 'unsupported_response_type', 'query kept');
  t.is(kept.searchParams.get('app'), '2');
});

test('a client that may not use the code flow gets unauthorized_client at its redirect URI', async (t) => {
  const w = t.context;
  const now = w.clock.now();
  await w.store.clients.insert({
    id: 'password-only', secretHash: null, previousSecretHash: null, previousSecretExpiresAt: null, grantTypes: ['password'], scope: ['read'], audiences: [API],
    introspect: false, publicClient: true, origins: [], redirectUris: ['https://p.example.test/cb'], postLogoutRedirectUris: [], thirdParty: false, createdAt: now, disabledAt: null,
  });
  const reply = await w.agent().get(`/authorize?${base({ id: 'password-only', redirectUri: 'https://p.example.test/cb' })}`);
  assertRedirectedError(t, w, reply, 'https://p.example.test/cb', 'unauthorized_client', 'no authorization_code grant');
});

test('the login form, then the code on the redirect URI with state and iss; then single sign-on for the next app', async (t) => {
  const w = t.context;
  const first = await w.codeFor(spa);
  t.deepEqual(first.seen, ['login', 'redirect']);
  t.true(first.location.href.startsWith(`${spa.redirectUri}?code=`));
  t.regex(first.location.searchParams.get('code')!, /^[A-Za-z0-9_-]{43}$/);
  t.is(first.location.searchParams.get('iss'), w.issuer);
  t.regex(first.location.searchParams.get('state')!, /^state-/);
  const second = await w.codeFor(spa2, { agent: first.agent, user: null });
  t.deepEqual(second.seen, ['redirect'], 'logged in at the issuer: no page at all');
  t.is(second.location.searchParams.get('app'), '2');
  const fresh = await w.codeFor(spa2, { user: null }).catch((error: Error) => error);
  t.true(fresh instanceof Error, 'another browser gets the login form');
});

test('the state comes back exactly as sent, whatever it holds', async (t) => {
  const w = t.context;
  const { agent } = await w.codeFor(spa);
  for (const state of ['a b&c=d', '<script>x</script>', 'ünïcødé ✓', '%41', '+', 'x'.repeat(500)]) {
    const reply = await agent.get(`/authorize?${base(spa, { state })}`);
    t.is(reply.status, 303);
    t.is(new URL(reply.location!).searchParams.get('state'), state);
  }
  const none = base(spa);
  none.delete('state');
  const reply = await agent.get(`/authorize?${none}`);
  t.false(new URL(reply.location!).searchParams.has('state'), 'no state sent, none returned');
});

test('prompt=login asks for the password again, with the username filled in; the login session continues under a new cookie', async (t) => {
  const w = t.context;
  const { agent } = await w.codeFor(spa);
  const cookieBefore = agent.cookies.get('gatehouse_login')!;
  const loginSession = async (cookie: string) => (await w.store.loginSessions.findByTokenHash(createHash('sha256').update(cookie).digest('hex')))?.id;
  const sessionBefore = await loginSession(cookieBefore);
  const page = await agent.get(`/authorize?${base(spa, { prompt: 'login' })}`);
  t.is(pageKind(page), 'login');
  t.regex(page.text, /name="username"[^>]*value="alice"/);
  const again = await w.codeFor(spa, { agent, extra: { prompt: 'login' } });
  t.deepEqual(again.seen, ['login', 'redirect']);
  t.not(agent.cookies.get('gatehouse_login'), cookieBefore, 'a new cookie value after each login (session fixation)');
  t.is(await loginSession(agent.cookies.get('gatehouse_login')!), sessionBefore, 'the same login session, renewed');
  t.is(await loginSession(cookieBefore), undefined, 'the old cookie value names nothing any more');
});

// Serial: it moves the shared clock, which no concurrent test of this file may see in the middle of a login.
test.serial('max_age: a password checked longer ago than max_age is asked again (max_age=0 always)', async (t) => {
  const w = t.context;
  const { agent } = await w.codeFor(spa);
  w.clock.advance(100);
  t.is((await agent.get(`/authorize?${base(spa, { max_age: '200' })}`)).status, 303, 'checked 100 s ago');
  t.is(pageKind(await agent.get(`/authorize?${base(spa, { max_age: '100' })}`)), 'login', '100 s is too old for max_age=100');
  t.is(pageKind(await agent.get(`/authorize?${base(spa, { max_age: '0' })}`)), 'login');
});

test('prompt=none: login_required without a login, consent_required before consent, a code otherwise', async (t) => {
  const w = t.context;
  const agent = w.agent();
  assertRedirectedError(t, w, await agent.get(`/authorize?${base(spa, { prompt: 'none' })}`), spa.redirectUri, 'login_required', 'not logged in');
  await w.codeFor(spa, { agent });
  const silent = await agent.get(`/authorize?${base(spa, { prompt: 'none' })}`);
  t.is(silent.status, 303);
  t.truthy(new URL(silent.location!).searchParams.get('code'));
  assertRedirectedError(t, w, await agent.get(`/authorize?${base(partner, { prompt: 'none' })}`), partner.redirectUri, 'consent_required', 'third party');
  t.is(pageKind(await agent.get(`/authorize?${base(partner)}`)), 'consent', 'without prompt=none, the consent form');
});

test('pages carry a strict CSP (no script, the style by hash, form-action to the issuer and the redirect origin only), no framing, no sniffing, no referrer, no store', async (t) => {
  const w = t.context;
  const page = await w.agent().get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge }));
  t.is(page.status, 200);
  const csp = page.headers.get('content-security-policy')!;
  const style = /<style>([\s\S]*?)<\/style>/.exec(page.text)![1]!;
  const hash = createHash('sha256').update(style).digest('base64');
  t.is(csp, `default-src 'none'; style-src 'sha256-${hash}'; img-src 'none'; form-action 'self' ${spa.origin}; frame-ancestors 'none'; base-uri 'none'`);
  t.is(page.headers.get('x-content-type-options'), 'nosniff');
  t.is(page.headers.get('x-frame-options'), 'DENY');
  t.is(page.headers.get('referrer-policy'), 'no-referrer');
  t.regex(page.headers.get('cache-control') ?? '', /no-store/);
  t.notRegex(page.text, /<script|\son\w+=/i, 'no script at all');
  t.regex(page.text, /<html lang="en">/);
  t.regex(page.text, /<label for="username">Username<\/label>/);
  t.regex(page.text, /<label for="password">Password<\/label>/);
});

test('the issuer cookies: HttpOnly and SameSite=Lax; not Secure on a loopback http issuer', async (t) => {
  const w = t.context;
  const agent = w.agent();
  const form = await agent.get(`/authorize?${base(spa)}`);
  t.deepEqual(form.setCookies, [`gatehouse_browser=${agent.cookies.get('gatehouse_browser')}; Path=/; HttpOnly; SameSite=Lax`], 'for the browser session');
  t.regex(agent.cookies.get('gatehouse_browser')!, /^[A-Za-z0-9_-]{43}$/);
  t.deepEqual((await agent.get(`/authorize?${base(spa)}`)).setCookies, [], 'set once');
  const login = await agent.post('/login', { flow: /name="flow" value="([^"]+)"/.exec(form.text)![1]!, username: 'alice', password: 'correct-horse' });
  t.is(login.status, 303);
  const [cookie] = login.setCookies;
  t.regex(cookie!, new RegExp(`^gatehouse_login=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Lax; Max-Age=${w.config.sessionMaxAgeSeconds}$`));
});

test('an https issuer sets Secure cookies with the __Host- prefix, or __Secure- and its path when it has one', async (t) => {
  for (const [issuer, prefix, path] of [
    ['https://auth.example.test', '__Host-', '/'],
    ['https://auth.example.test/tenant', '__Secure-', '/tenant'],
  ] as const) {
    const w = await startBrowserWorld({ env: { GATEHOUSE_ISSUER: issuer } });
    try {
      const reply = await w.agent().get(`/authorize?${base(spa)}`);
      t.is(reply.status, 200, issuer);
      t.regex(reply.setCookies[0]!, new RegExp(`^${prefix}gatehouse_browser=[A-Za-z0-9_-]{43}; Path=${path}; HttpOnly; SameSite=Lax; Secure$`), issuer);
      t.regex(reply.text, new RegExp(`action="${path === '/' ? '' : path}/login"`), 'the form posts under the issuer path');
      const { location, agent } = await w.codeFor(spa);
      t.is(location.searchParams.get('iss'), issuer);
      t.truthy(agent.cookies.get(`${prefix}gatehouse_login`));
    } finally {
      await w.close();
    }
  }
});

test('POST /authorize is 405 with Allow; the metadata advertises the endpoint, S256 and iss', async (t) => {
  const w = t.context;
  const post = await send(`${w.api}/authorize`, { method: 'POST' });
  t.is(post.status, 405);
  t.regex(post.headers.get('allow') ?? '', /GET/);
  const { json } = await send(`${w.url}/.well-known/oauth-authorization-server`);
  t.like(json, {
    authorization_endpoint: `${w.issuer}/authorize`,
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    authorization_response_iss_parameter_supported: true,
  });
  t.true(json.grant_types_supported.includes('authorization_code'));
});
