/**
 * Public clients (no secret, token_endpoint_auth_method "none") and CORS on /token and /revoke for the origins
 * registered per client.
 */
import anyTest, { type TestFn } from 'ava';
import { registerPublicClient } from '../../src/clients/register-public.js';
import { disableClient } from '../../src/clients/register.js';
import { InvalidInput } from '../../src/errors.js';
import { alice, API, confA, rs1, startWorld, type World } from '../helpers/fixtures.js';
import { postForm, send, type Reply } from '../helpers/http.js';

const test = anyTest as TestFn<World>;

const spa = { id: 'spa', origin: 'https://app.example' } as const;
const otherSpa = { id: 'other-spa', origin: 'http://localhost:5173' } as const;
const UNKNOWN_ORIGIN = 'https://evil.example';

test.before(async (t) => {
  t.context = await startWorld();
  // These clients log in with the password grant, which a public client gets only when asked for.
  const grantTypes = ['password', 'refresh_token'];
  await registerPublicClient(t.context.store, { id: spa.id, grantTypes, scope: 'read write', audiences: [API], origins: [spa.origin] }, t.context.clock.now());
  await registerPublicClient(t.context.store, { id: otherSpa.id, grantTypes, scope: 'read', audiences: [API], origins: [otherSpa.origin] }, t.context.clock.now());
});
test.after.always(async (t) => {
  await t.context.close();
});

const form = (world: World, path: string, body: Record<string, string>, headers: Record<string, string> = {}) => postForm(`${world.api}${path}`, body, { headers });
const login = (world: World, clientId = spa.id, headers: Record<string, string> = {}) =>
  form(world, '/token', { grant_type: 'password', username: alice.username, password: alice.password, client_id: clientId }, headers);
const preflight = (world: World, path: string, origin: string) =>
  send(`${world.api}${path}`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type' } });

function assertNoCors(t: any, reply: Reply, what: string) {
  for (const [name] of reply.headers) t.false(name.startsWith('access-control-'), `${what}: ${name}`);
}

function varyIncludesOrigin(reply: Reply): boolean {
  return (reply.headers.get('vary') ?? '').split(',').some((value) => value.trim().toLowerCase() === 'origin');
}

test('a public client logs in and renews with client_id in the body alone, and its refresh token rotates', async (t) => {
  const login1 = await login(t.context);
  t.is(login1.status, 200, login1.text);
  t.is(typeof login1.json.refresh_token, 'string');
  const renewed = await form(t.context, '/token', { grant_type: 'refresh_token', refresh_token: login1.json.refresh_token, client_id: spa.id });
  t.is(renewed.status, 200, renewed.text);
  t.not(renewed.json.refresh_token, login1.json.refresh_token);
  const reused = await form(t.context, '/token', { grant_type: 'refresh_token', refresh_token: login1.json.refresh_token, client_id: spa.id });
  t.is(reused.json.error, 'invalid_grant', 'rotation: the old token is dead, and its reuse ends the session');
  t.is((await form(t.context, '/token', { grant_type: 'refresh_token', refresh_token: renewed.json.refresh_token, client_id: spa.id })).json.error, 'invalid_grant');
});

test('a public client has no secret to present: Basic or client_secret_post with any secret is invalid_client', async (t) => {
  const body = { grant_type: 'password', username: alice.username, password: alice.password };
  const viaBasic = await postForm(`${t.context.api}/token`, body, { auth: [spa.id, ''] });
  t.is(viaBasic.status, 401);
  t.is(viaBasic.json.error, 'invalid_client');
  const viaPost = await form(t.context, '/token', { ...body, client_id: spa.id, client_secret: 'x'.repeat(43) });
  t.is(viaPost.status, 401);
  t.is(viaPost.json.error, 'invalid_client');
});

test('client_id alone still never authenticates a confidential client', async (t) => {
  const reply = await login(t.context, confA.id);
  t.is(reply.status, 401);
  t.is(reply.json.error, 'invalid_client');
  t.is(reply.headers.get('www-authenticate'), 'Basic realm="gatehouse"');
});

test('a public client can never introspect nor use client_credentials, even if its row says so', async (t) => {
  await t.context.store.clients.insert({
    id: 'forged-public',
    secretHash: null,
    grantTypes: ['client_credentials', 'password'],
    scope: ['read'],
    audiences: [API],
    introspect: true,
    publicClient: true,
    origins: [],
    redirectUris: [],
    postLogoutRedirectUris: [],
    thirdParty: false,
    createdAt: t.context.clock.now(),
    disabledAt: null,
  });
  const cc = await form(t.context, '/token', { grant_type: 'client_credentials', client_id: 'forged-public' });
  t.is(cc.status, 400);
  t.is(cc.json.error, 'unauthorized_client');
  const { access } = await t.context.login();
  const introspection = await form(t.context, '/introspect', { token: access, client_id: 'forged-public' });
  t.is(introspection.status, 401);
  t.is(introspection.json.error, 'invalid_client');
  t.is((await form(t.context, '/introspect', { token: access, client_id: spa.id })).status, 401);
});

test('registration refuses a public client with client_credentials and origins that are not origins', async (t) => {
  const now = t.context.clock.now();
  await t.throwsAsync(registerPublicClient(t.context.store, { id: 'p1', grantTypes: ['client_credentials'] }, now), { instanceOf: InvalidInput });
  for (const origin of ['https://app.example/', 'https://app.example/path', 'https://APP.example', 'https://app.example:443', 'http://app.example', 'app.example', '*', 'null']) {
    await t.throwsAsync(registerPublicClient(t.context.store, { id: 'p2', grantTypes: ['password'], origins: [origin] }, now), { instanceOf: InvalidInput }, origin);
  }
  // The default grants (the authorization code flow) need a redirect URI.
  await t.throwsAsync(registerPublicClient(t.context.store, { id: 'p2', origins: ['https://app.example'] }, now), { instanceOf: InvalidInput, message: /redirect-uri/ });
  const ok = await registerPublicClient(
    t.context.store,
    { id: 'p3', origins: ['https://app.example:8443', 'http://127.0.0.1:3000', 'http://localhost'], redirectUris: ['https://app.example:8443/callback', 'https://other.example/cb'] },
    now,
  );
  t.deepEqual(ok.origins, ['https://app.example:8443', 'http://127.0.0.1:3000', 'http://localhost', 'https://other.example'], 'each redirect URI registers its origin too');
  t.deepEqual(ok.grantTypes, ['authorization_code', 'refresh_token'], 'the default grants of a public client: the code flow, not the password grant');
});

test('a public client revokes its refresh token with client_id alone: the session ends', async (t) => {
  const { json } = await login(t.context);
  const revoked = await form(t.context, '/revoke', { token: json.refresh_token, client_id: spa.id }, { origin: spa.origin });
  t.is(revoked.status, 200);
  t.is(revoked.headers.get('access-control-allow-origin'), spa.origin);
  t.false((await t.context.introspect(json.access_token, rs1)).json.active);
});

test('CORS preflight for a registered origin: 204 with the allowed method and header, Vary: Origin, no wildcard', async (t) => {
  for (const path of ['/token', '/revoke']) {
    for (const origin of [spa.origin, otherSpa.origin]) {
      const reply = await preflight(t.context, path, origin);
      t.is(reply.status, 204, `${path} ${origin}`);
      t.is(reply.headers.get('access-control-allow-origin'), origin);
      t.is(reply.headers.get('access-control-allow-methods'), 'POST');
      t.is(reply.headers.get('access-control-allow-headers'), 'Content-Type');
      t.is(reply.headers.get('access-control-allow-credentials'), null, 'no credentials, so never a wildcard with them');
      t.true(varyIncludesOrigin(reply));
    }
  }
});

test('CORS preflight for an unknown origin, or on another endpoint: no CORS header at all', async (t) => {
  for (const path of ['/token', '/revoke']) {
    const reply = await preflight(t.context, path, UNKNOWN_ORIGIN);
    assertNoCors(t, reply, `${path} ${UNKNOWN_ORIGIN}`);
    t.true(varyIncludesOrigin(reply));
  }
  for (const path of ['/introspect', '/.well-known/oauth-authorization-server', '/admin/users/alice/sessions']) {
    assertNoCors(t, await preflight(t.context, path, spa.origin), path);
  }
  // A plain OPTIONS (no Origin) is still the 204 with Allow.
  const plain = await send(`${t.context.api}/token`, { method: 'OPTIONS' });
  t.is(plain.status, 204);
  assertNoCors(t, plain, 'plain OPTIONS');
});

test('CORS on the request itself: only for an origin registered for the client named in the request, errors included', async (t) => {
  const ok = await login(t.context, spa.id, { origin: spa.origin });
  t.is(ok.status, 200);
  t.is(ok.headers.get('access-control-allow-origin'), spa.origin);
  t.true(varyIncludesOrigin(ok));
  t.is(ok.headers.get('access-control-allow-credentials'), null);

  // An error the page must be able to read: invalid_grant means "log in again".
  const refused = await form(t.context, '/token', { grant_type: 'refresh_token', refresh_token: 'dead', client_id: spa.id }, { origin: spa.origin });
  t.is(refused.json.error, 'invalid_grant');
  t.is(refused.headers.get('access-control-allow-origin'), spa.origin);

  // Any other origin is refused outright (403), before anything is checked or counted: see
  // test/security/cross-origin.test.ts. And no CORS header, so the page cannot even read that answer.
  const unknown = await login(t.context, spa.id, { origin: UNKNOWN_ORIGIN });
  t.is(unknown.status, 403);
  assertNoCors(t, unknown, 'unknown origin');
  t.true(varyIncludesOrigin(unknown));
  const other = await login(t.context, spa.id, { origin: otherSpa.origin });
  t.is(other.status, 403);
  assertNoCors(t, other, "another client's origin");
  const confidential = await postForm(`${t.context.api}/token`, { grant_type: 'client_credentials' }, { auth: [confA.id, confA.secret], headers: { origin: spa.origin } });
  t.is(confidential.status, 403);
  assertNoCors(t, confidential, 'a confidential client');
  assertNoCors(t, await form(t.context, '/introspect', { token: 'x' }, { origin: spa.origin }), '/introspect');
});

test('a disabled public client gets neither tokens nor CORS headers, and its origin no preflight', async (t) => {
  const now = t.context.clock.now();
  await registerPublicClient(t.context.store, { id: 'short-lived', grantTypes: ['password'], scope: 'read', audiences: [API], origins: ['https://short.example'] }, now);
  t.is((await preflight(t.context, '/token', 'https://short.example')).headers.get('access-control-allow-origin'), 'https://short.example');
  await disableClient(t.context.store, 'short-lived', now);
  const reply = await login(t.context, 'short-lived', { origin: 'https://short.example' });
  t.is(reply.status, 401);
  assertNoCors(t, reply, 'disabled client');
  assertNoCors(t, await preflight(t.context, '/token', 'https://short.example'), 'disabled client preflight');
});

test('the metadata lists "none" for the token and revocation endpoints, never for introspection', async (t) => {
  const { json } = await send(`${t.context.url}/.well-known/oauth-authorization-server`);
  t.deepEqual([...json.token_endpoint_auth_methods_supported].sort(), ['client_secret_basic', 'client_secret_post', 'none']);
  t.deepEqual([...json.revocation_endpoint_auth_methods_supported].sort(), ['client_secret_basic', 'client_secret_post', 'none']);
  t.deepEqual([...json.introspection_endpoint_auth_methods_supported].sort(), ['client_secret_basic', 'client_secret_post']);
});
