/**
 * Generated hostile requests to the browser-facing endpoints (issue #14): /authorize, /login, /consent, /logout.
 * Whatever arrives: no 5xx; nothing the request sent comes back as markup (every value is escaped, most are not
 * shown at all); a redirect only ever goes to a registered redirect or logout URI; every page carries the CSP.
 * The JSON endpoints' counterpart is hostile-input.test.ts.
 */
import { Agent, request } from 'node:http';
import anyTest, { type TestFn } from 'ava';
import fc from 'fast-check';
import { registerPublicClient } from '../../src/clients/register-public.js';
import { authorizePath, hiddenInputs, pkce } from '../helpers/browser-agent.js';
import { partner, spa, spa2, startBrowserWorld, web, type BrowserWorld } from '../helpers/browser-world.js';
import { alice } from '../helpers/fixtures.js';
import { send } from '../helpers/http.js';

const test = anyTest as TestFn<BrowserWorld>;
test.before(async (t) => {
  t.context = await startBrowserWorld({ env: { GATEHOUSE_TRUST_PROXY_HOPS: '1' } });
  await registerPublicClient(t.context.store, { id: 'logs-out', redirectUris: [LOGOUT_CLIENT_CB], postLogoutRedirectUris: [LOGOUT_RETURN] }, t.context.clock.now());
});
test.after.always((t) => t.context?.close());

const LOGOUT_CLIENT_CB = 'https://logs-out.example.test/cb';
const LOGOUT_RETURN = 'https://logs-out.example.test/bye';
/** Every place a redirect may lead to. */
const REGISTERED = [spa.redirectUri, spa2.redirectUri, web.redirectUri, partner.redirectUri, LOGOUT_CLIENT_CB, LOGOUT_RETURN];
/** A marker no answer may contain unescaped. */
const MARKUP = ['<x-evil>', '"><x-evil', "'onmouseover=", '</textarea><x-evil>'];

const agent = new Agent({ keepAlive: true, maxSockets: 8 });

interface Sent {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: Buffer;
}

function fire(base: string, spec: Sent): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { host: url.hostname, port: url.port, method: spec.method, path: spec.path, headers: { ...spec.headers, 'content-length': String(spec.body.length) }, agent },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      },
    );
    req.on('error', reject);
    req.end(spec.body);
  });
}

function requests(valid: { flow: string; browser: string; login: string; csrf: string }) {
  const hostile = fc.oneof(
    fc.constantFrom(...MARKUP),
    fc.constantFrom('javascript:alert(1)', '//evil.example', 'https://evil.example/cb', `${spa.redirectUri}.evil.example`, `${spa.redirectUri}@evil.example`, `${spa.redirectUri}/../x`),
    fc.constantFrom(...REGISTERED, spa.id, spa2.id, partner.id, web.id, 'logs-out', 'code', 'S256', 'plain', 'login', 'none', 'allow', 'deny', '0', '-1', '99999999999'),
    fc.constantFrom(valid.flow, valid.csrf, alice.username, alice.password, pkce().challenge),
    fc.string({ maxLength: 30 }).map((s) => `${s}${MARKUP[s.length % MARKUP.length]}`),
    fc.string({ maxLength: 40, unit: 'binary' }),
  );
  const name = fc.constantFrom(
    'response_type', 'client_id', 'redirect_uri', 'code_challenge', 'code_challenge_method', 'state', 'scope', 'resource', 'prompt', 'max_age',
    'flow', 'username', 'password', 'decision', 'csrf', 'post_logout_redirect_uri', 'x',
  );
  const pairs = fc.array(fc.tuple(name, hostile), { maxLength: 9 });
  const encoded = pairs.map((list) => list.map(([n, v]) => `${encodeURIComponent(n)}=${encodeURIComponent(v)}`).join('&'));
  const rawQuery = fc.oneof(
    { weight: 3, arbitrary: encoded },
    { weight: 1, arbitrary: fc.constantFrom('a=%', 'client_id=%C3%28', 'state=%00', '&&&==&', `client_id=${spa.id}&client_id=${spa.id}`, '%ZZ') },
    // A valid request with one hostile change, so that validation reaches past the client and redirect URI.
    { weight: 4, arbitrary: fc.tuple(name, hostile).map(([n, v]) => {
      const query = new URLSearchParams(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge, state: '<x-evil>' }).split('?')[1]);
      query.set(n, v);
      return query.toString();
    }) },
  );
  const path = fc.oneof(
    fc.tuple(fc.constantFrom('/authorize', '/authorize', '/logout'), rawQuery).map(([p, q]) => `${p}?${q}`),
    fc.constantFrom('/login', '/consent', '/logout', '/authorize', '/login?flow=x', '/authorize/..', '/%2e%2e/authorize'),
  );
  const method = fc.constantFrom('GET', 'GET', 'GET', 'GET', 'POST', 'POST', 'POST', 'HEAD', 'PUT', 'OPTIONS');
  const cookie = fc.oneof(
    fc.constant(''),
    fc.constant(`gatehouse_browser=${valid.browser}; gatehouse_login=${valid.login}`),
    fc.constant(`gatehouse_browser=${valid.browser}`),
    fc.constantFrom('gatehouse_login=<x-evil>', 'gatehouse_browser=;;;', `gatehouse_login=${'A'.repeat(5000)}`, '=', 'gatehouse_login'),
  );
  const origin = fc.constantFrom('', 'null', 'https://evil.example', 'http://localhost:9', '<x-evil>');
  const site = fc.constantFrom('', 'same-origin', 'cross-site', 'same-site', 'none', '<x-evil>');
  const contentType = fc.constantFrom('application/x-www-form-urlencoded', 'text/plain', '', 'multipart/form-data; boundary=x', 'application/x-www-form-urlencoded; charset=latin1');
  const forwarded = fc.constantFrom('', '1.2.3.4', '<x-evil>', '::1, 999.1.1.1');
  return fc.record({ method, path, cookie, origin, site, contentType, body: encoded, forwarded }).map((r): Sent => {
    const headers: Record<string, string> = {};
    if (r.cookie) headers.cookie = r.cookie;
    if (r.origin === 'http://localhost:9') headers.origin = ''; // replaced below by the issuer's own origin
    else if (r.origin) headers.origin = r.origin;
    if (r.site) headers['sec-fetch-site'] = r.site;
    if (r.contentType) headers['content-type'] = r.contentType;
    if (r.forwarded) headers['x-forwarded-for'] = r.forwarded;
    return { method: r.method, path: r.path, headers, body: r.method === 'POST' ? Buffer.from(r.body) : Buffer.alloc(0) };
  });
}

test('600 hostile requests to /authorize, /login, /consent and /logout: no 5xx, no reflected markup, no open redirect, CSP on every page', async (t) => {
  t.timeout(300_000);
  const w = t.context;
  // Real values, so that some requests get far: a logged-in browser with an open consent form.
  const login = await w.codeFor(spa);
  const consentPage = await login.agent.get(authorizePath({ clientId: partner.id, redirectUri: partner.redirectUri, challenge: pkce().challenge }));
  const valid = {
    flow: hiddenInputs(consentPage.text).flow!,
    browser: login.agent.cookies.get('gatehouse_browser')!,
    login: login.agent.cookies.get('gatehouse_login')!,
    csrf: hiddenInputs((await login.agent.get('/logout')).text).csrf!,
  };
  const issuerOrigin = new URL(w.issuer).origin;
  const samples = fc.sample(requests(valid), { numRuns: 600, seed: 20261214 });
  const statuses = new Map<number, number>();
  for (const spec of samples) {
    if (spec.headers.origin === '') spec.headers.origin = issuerOrigin;
    const reply = await fire(w.api, spec);
    statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
    const what = `${spec.method} ${spec.path.slice(0, 200)} ${JSON.stringify(spec.headers).slice(0, 200)} ${JSON.stringify(spec.body.toString('latin1').slice(0, 120))}`;
    t.true(reply.status < 500, `${reply.status} for ${what}: ${reply.text.slice(0, 200)}`);
    for (const marker of MARKUP) t.false(reply.text.includes(marker), `${marker} reflected for ${what}`);
    const location = reply.headers.location as string | undefined;
    if (location !== undefined) {
      t.true(REGISTERED.some((uri) => location.startsWith(`${uri}?`) || location === uri), `redirect to ${location} for ${what}`);
    }
    if (String(reply.headers['content-type'] ?? '').startsWith('text/html')) {
      t.regex(String(reply.headers['content-security-policy']), /^default-src 'none'; .*frame-ancestors 'none'/, what);
      t.is(reply.headers['x-content-type-options'], 'nosniff', what);
    } else if (reply.status >= 400 && spec.method !== 'HEAD') {
      t.regex(String(reply.headers['content-type']), /^application\/json/, what);
    }
  }
  t.log('statuses seen:', JSON.stringify(Object.fromEntries([...statuses].sort(([a], [b]) => a - b))));
  t.true((statuses.get(303) ?? 0) > 0 && (statuses.get(400) ?? 0) > 0 && (statuses.get(403) ?? 0) > 0, 'the requests reached every kind of answer');
  t.is((await send(`${w.url}/healthz`)).status, 200);
});
