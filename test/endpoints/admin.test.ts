/**
 * The admin API (issue #2 "Admin API"; standards §11 ADM-*): list and end sessions with a client_credentials
 * token that carries gatehouse:admin and whose audience is the issuer itself.
 */
import anyTest, { type TestFn } from 'ava';
import { disableClient } from '../../src/clients/register.js';
import { admin, alice, API, confA, confB, startWorld, type World } from '../helpers/fixtures.js';
import { signWithForeignKey, tamperPayload } from '../helpers/forge.js';
import { decodeJwt, send, type Reply } from '../helpers/http.js';

const test = anyTest as TestFn<World>;

/** A second first-party app, so a user can hold sessions at two clients. */
const otherApp = { id: 'adm-app', secret: 'adm-app-0123456789abcdef0123456789abcdef' } as const;
/** Clients without audiences: their tokens are for the issuer itself, but carry no gatehouse:admin. */
const noScopeService = { id: 'adm-noscope', secret: 'adm-noscope-0123456789abcdef0123456789ab' } as const;
const issuerAudienceApp = { id: 'adm-issuer-app', secret: 'adm-issuer-app-0123456789abcdef01234567' } as const;
const sneakyApp = { id: 'adm-sneaky', secret: 'adm-sneaky-0123456789abcdef0123456789abc' } as const;

test.before(async (t) => {
  t.context = await startWorld();
  await t.context.createClient({ ...otherApp, grantTypes: ['password', 'refresh_token'], scope: 'read', audiences: [API] });
  await t.context.createClient({ ...noScopeService, grantTypes: ['client_credentials'], scope: 'read' });
  await t.context.createClient({ ...issuerAudienceApp, grantTypes: ['password'], scope: 'read' });
  // A user-login client allowed gatehouse:admin: user logins must still never carry it.
  await t.context.createClient({ ...sneakyApp, grantTypes: ['password'], scope: 'gatehouse:admin read' });
});
test.after.always(async (t) => {
  await t.context.close();
});

const PASSWORD = 'password-123';
async function newUser(world: World, username: string) {
  await world.createUser(username, PASSWORD);
  return { username, password: PASSWORD };
}

async function loginWith(world: World, user: { username: string; password: string }, client: { id: string; secret: string } = confA) {
  const reply = await world.token({ grant_type: 'password', username: user.username, password: user.password }, client);
  if (reply.status !== 200) throw new Error(`login failed: ${reply.status} ${reply.text}`);
  return { access: reply.json.access_token as string, refresh: reply.json.refresh_token as string | undefined, sid: decodeJwt(reply.json.access_token).payload.sid as string };
}

function call(world: World, method: string, path: string, token?: string | null, headers: Record<string, string> = {}): Promise<Reply> {
  return send(`${world.url}${path}`, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers } });
}
const usersPath = (username: string) => `/admin/users/${encodeURIComponent(username)}/sessions`;
const sessionPath = (sid: string) => `/admin/sessions/${encodeURIComponent(sid)}`;

const active = async (world: World, token: string) => (await world.introspect(token)).json?.active;
const refreshError = async (world: World, token: string, client: { id: string; secret: string } = confA) => {
  const reply = await world.refresh(token, {}, client);
  return reply.status === 200 ? 'ok' : reply.json?.error;
};

function assertJsonError(t: any, reply: Reply, status: number, error?: string) {
  t.is(reply.status, status);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  t.is(typeof reply.json?.error, 'string');
  if (error) t.is(reply.json.error, error);
}

function assertInvalidToken(t: any, reply: Reply, what = '') {
  t.is(reply.status, 401, what);
  const challenge = reply.headers.get('www-authenticate') ?? '';
  t.regex(challenge, /^Bearer /, what);
  t.regex(challenge, /realm="gatehouse"/, what);
  t.regex(challenge, /error="invalid_token"/, what);
  t.is(reply.json?.error, 'invalid_token', what);
}

// --- Serial: moves the clock ---

test.serial('an expired admin token is 401 invalid_token (no leeway)', async (t) => {
  const token = await t.context.adminToken();
  const { exp } = decodeJwt(token).payload;
  t.context.clock.set(exp - 1);
  t.is((await call(t.context, 'GET', usersPath(alice.username), token)).status, 200);
  t.context.clock.set(exp);
  assertInvalidToken(t, await call(t.context, 'GET', usersPath(alice.username), token));
});

// --- Listing ---

test('GET /admin/users/{username}/sessions lists the live sessions as {sid,username,client_id,created_at,expires_at}', async (t) => {
  const world = t.context;
  const user = await newUser(world, 'adm-list');
  const loggedInAt = world.clock.now();
  const a = await loginWith(world, user);
  const b = await loginWith(world, user, otherApp);
  const reply = await call(world, 'GET', usersPath(user.username), await world.adminToken());
  t.is(reply.status, 200);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  t.true(Array.isArray(reply.json));
  const bySid = (x: any, y: any) => (x.sid < y.sid ? -1 : 1);
  const maxAge = world.config.sessionMaxAgeSeconds;
  t.deepEqual(
    [...reply.json].sort(bySid),
    [
      { sid: a.sid, username: user.username, client_id: confA.id, created_at: loggedInAt, expires_at: loggedInAt + maxAge },
      { sid: b.sid, username: user.username, client_id: otherApp.id, created_at: loggedInAt, expires_at: loggedInAt + maxAge },
    ].sort(bySid),
  );
  // The scheme name is case-insensitive (RFC 6750 §2.1, RFC 9110 §11.1).
  const lower = await call(world, 'GET', usersPath(user.username), null, { authorization: `bearer ${await world.adminToken()}` });
  t.is(lower.status, 200);
  t.is(lower.json.length, 2);
});

test('GET sessions shows only live sessions: ended and revoked ones are gone', async (t) => {
  const world = t.context;
  const user = await newUser(world, 'adm-live');
  const ended = await loginWith(world, user);
  const revoked = await loginWith(world, user);
  const kept = await loginWith(world, user);
  const token = await world.adminToken();
  t.is((await call(world, 'GET', usersPath(user.username), token)).json.length, 3);
  t.is((await call(world, 'DELETE', sessionPath(ended.sid), token)).status, 204);
  t.is((await world.revoke(revoked.refresh!)).status, 200);
  const reply = await call(world, 'GET', usersPath(user.username), token);
  t.deepEqual(reply.json.map((session: any) => session.sid), [kept.sid]);
});

test('GET sessions of a known user without sessions is an empty list', async (t) => {
  const user = await newUser(t.context, 'adm-none');
  const reply = await call(t.context, 'GET', usersPath(user.username), await t.context.adminToken());
  t.is(reply.status, 200);
  t.deepEqual(reply.json, []);
});

test('GET sessions leaves out sessions past GATEHOUSE_SESSION_MAX_AGE', async (t) => {
  const world = await startWorld({ env: { GATEHOUSE_SESSION_MAX_AGE: '100' } });
  try {
    const { access } = await world.login();
    const sid = decodeJwt(access).payload.sid;
    const before = await call(world, 'GET', usersPath(alice.username), await world.adminToken());
    t.deepEqual(before.json.map((session: any) => session.sid), [sid]);
    t.is(before.json[0].expires_at, before.json[0].created_at + 100);
    world.clock.advance(99);
    t.is((await call(world, 'GET', usersPath(alice.username), await world.adminToken())).json.length, 1);
    world.clock.advance(1);
    const after = await call(world, 'GET', usersPath(alice.username), await world.adminToken());
    t.is(after.status, 200);
    t.deepEqual(after.json, []);
  } finally {
    await world.close();
  }
});

test('usernames are percent-decoded path segments: spaces, slashes and non-ASCII work', async (t) => {
  const world = t.context;
  const user = await newUser(world, 'adm carol/ü');
  const { sid, access } = await loginWith(world, user);
  const token = await world.adminToken();
  const path = '/admin/users/adm%20carol%2F%C3%BC/sessions';
  const listed = await call(world, 'GET', path, token);
  t.is(listed.status, 200);
  t.deepEqual(listed.json.map((session: any) => [session.sid, session.username]), [[sid, 'adm carol/ü']]);
  t.is((await call(world, 'DELETE', path, token)).status, 204);
  t.false(await active(world, access));
});

// --- Ending sessions ---

test('DELETE /admin/users/{username}/sessions: 204, every token of the user inactive, refresh invalid_grant', async (t) => {
  const world = t.context;
  const user = await newUser(world, 'adm-all');
  const bystander = await newUser(world, 'adm-bystander');
  const a = await loginWith(world, user);
  const renewed = await world.refresh(a.refresh!);
  t.is(renewed.status, 200);
  const b = await loginWith(world, user, otherApp);
  const other = await loginWith(world, bystander);
  for (const token of [a.access, renewed.json.access_token, b.access]) t.true(await active(world, token));

  const token = await world.adminToken();
  const reply = await call(world, 'DELETE', usersPath(user.username), token);
  t.is(reply.status, 204);
  t.is(reply.text, '');
  for (const access of [a.access, renewed.json.access_token, b.access]) t.false(await active(world, access));
  t.is(await refreshError(world, renewed.json.refresh_token), 'invalid_grant');
  t.is(await refreshError(world, b.refresh!, otherApp), 'invalid_grant');
  t.deepEqual((await call(world, 'GET', usersPath(user.username), token)).json, []);

  // Another user is untouched, and the user can log in again.
  t.true(await active(world, other.access));
  t.is(await refreshError(world, other.refresh!), 'ok');
  const again = await loginWith(world, user);
  t.true(await active(world, again.access));
  t.false([a.sid, b.sid].includes(again.sid));
});

test('DELETE /admin/users/{username}/sessions for a known user without sessions is 204', async (t) => {
  const user = await newUser(t.context, 'adm-empty');
  t.is((await call(t.context, 'DELETE', usersPath(user.username), await t.context.adminToken())).status, 204);
});

test('ADM-01/02/03 DELETE /admin/sessions/{sid}: 204, only that session ends, and re-login opens a new one', async (t) => {
  const world = t.context;
  const user = await newUser(world, 'adm-one');
  const s = await loginWith(world, user);
  const tt = await loginWith(world, user);
  const token = await world.adminToken();

  const reply = await call(world, 'DELETE', sessionPath(s.sid), token);
  t.is(reply.status, 204);
  t.is(reply.text, '');

  // ADM-01: S is over.
  t.is((await world.introspect(s.access)).text, '{"active":false}');
  t.is(await refreshError(world, s.refresh!), 'invalid_grant');
  t.is((await world.revoke(s.refresh!)).status, 200);

  // ADM-02: T is untouched.
  t.true(await active(world, tt.access));
  const renewed = await world.refresh(tt.refresh!);
  t.is(renewed.status, 200);
  t.true(await active(world, renewed.json.access_token));

  // ADM-03: a new login is a new session with new tokens.
  const again = await loginWith(world, user);
  t.not(again.sid, s.sid);
  t.not(again.sid, tt.sid);
  t.not(decodeJwt(again.access).payload.jti, decodeJwt(s.access).payload.jti);
  t.true(await active(world, again.access));
  const listed = await call(world, 'GET', usersPath(user.username), token);
  t.deepEqual(listed.json.map((session: any) => session.sid).sort(), [tt.sid, again.sid].sort());
});

// --- Authentication and authorization ---

const routes = (sid = '0190a0a0-0000-7000-8000-000000000000') => [
  ['GET', usersPath(alice.username)],
  ['DELETE', usersPath(alice.username)],
  ['DELETE', sessionPath(sid)],
] as const;

test('no token: 401 with WWW-Authenticate: Bearer realm="gatehouse" and no error attribute', async (t) => {
  const { sid, access } = await loginWith(t.context, await newUser(t.context, 'adm-noauth'));
  for (const [method, path] of [...routes(sid), ['GET', usersPath('no-such-user')] as const]) {
    const reply = await call(t.context, method, path);
    t.is(reply.status, 401, `${method} ${path}`);
    t.is(reply.headers.get('www-authenticate'), 'Bearer realm="gatehouse"', `${method} ${path}`);
    t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  }
  t.true(await active(t.context, access), 'nothing was ended');
});

test('another scheme (Basic with the admin credentials) is treated as no token: 401 without an error attribute', async (t) => {
  const basicAdmin = 'Basic ' + Buffer.from(`${admin.id}:${admin.secret}`).toString('base64');
  for (const [method, path] of routes()) {
    const reply = await call(t.context, method, path, null, { authorization: basicAdmin });
    t.is(reply.status, 401);
    t.is(reply.headers.get('www-authenticate'), 'Bearer realm="gatehouse"');
  }
});

test('RS-09 a Bearer header without a usable token is 400 with error="invalid_request"', async (t) => {
  for (const header of ['Bearer', 'Bearer ', 'Bearer a b', 'Bearer "quoted"']) {
    const reply = await send(`${t.context.url}/admin/users/alice/sessions`, { headers: { authorization: header } });
    t.is(reply.status, 400, header);
    t.is(reply.headers.get('www-authenticate'), 'Bearer realm="gatehouse", error="invalid_request"', header);
    t.is(reply.json.error, 'invalid_request');
  }
});

test('a garbage, forged or revoked token: 401 with error="invalid_token"', async (t) => {
  const world = t.context;
  const { sid, access } = await loginWith(world, await newUser(world, 'adm-badtoken'));
  const genuine = await world.adminToken();
  const revoked = await world.adminToken();
  t.is((await world.revoke(revoked, admin)).status, 200);
  const tokens: Record<string, string> = {
    garbage: 'abc',
    'foreign key': await signWithForeignKey(genuine),
    'tampered payload': tamperPayload(genuine, (claims) => (claims.exp += 3600)),
    revoked,
  };
  for (const [name, token] of Object.entries(tokens)) {
    for (const [method, path] of routes(sid)) assertInvalidToken(t, await call(world, method, path, token), `${name}: ${method} ${path}`);
  }
  t.is((await call(world, 'GET', usersPath(alice.username), genuine)).status, 200, 'control: the genuine token works');
  t.true(await active(world, access), 'nothing was ended');
});

test('an active token issued for another audience (API) is 401 invalid_token, not 403', async (t) => {
  // conf-B's and alice's tokens are active but were issued for API, not for the issuer: RFC 9068 §4 asks the
  // resource to reject a token whose aud is not its own with invalid_token (standards RS-06 "wrong aud").
  const world = t.context;
  const cc = (await world.token({ grant_type: 'client_credentials', scope: 'admin' }, confB)).json.access_token as string;
  const user = (await world.login()).access;
  for (const token of [cc, user]) {
    t.not(decodeJwt(token).payload.aud, world.issuer);
    t.true(await active(world, token), 'the token is active at its own API');
    assertInvalidToken(t, await call(world, 'GET', usersPath(alice.username), token));
  }
});

test('a token for the issuer without gatehouse:admin: 403 with error="insufficient_scope" and nothing ended', async (t) => {
  const world = t.context;
  const victim = await newUser(world, 'adm-scope-victim');
  const { sid, access } = await loginWith(world, victim);
  const service = (await world.token({ grant_type: 'client_credentials' }, noScopeService)).json.access_token as string;
  const userToken = (await loginWith(world, await newUser(world, 'adm-scope-user'), issuerAudienceApp)).access;
  for (const token of [service, userToken]) {
    t.is(decodeJwt(token).payload.aud, world.issuer);
    t.false(decodeJwt(token).payload.scope.split(' ').includes('gatehouse:admin'));
    for (const [method, path] of [['GET', usersPath(victim.username)], ['DELETE', usersPath(victim.username)], ['DELETE', sessionPath(sid)]] as const) {
      const reply = await call(world, method, path, token);
      t.is(reply.status, 403, `${method} ${path}`);
      const challenge = reply.headers.get('www-authenticate') ?? '';
      t.regex(challenge, /^Bearer /);
      t.regex(challenge, /error="insufficient_scope"/);
      t.regex(challenge, /scope="gatehouse:admin"/);
      t.is(reply.json?.error, 'insufficient_scope');
    }
  }
  t.true(await active(world, access), 'the victim session was not ended');
});

test('gatehouse:admin is never granted to a user login, even through a client allowed it', async (t) => {
  const world = t.context;
  const user = await newUser(world, 'adm-sneaky-user');
  const asked = await world.token({ grant_type: 'password', username: user.username, password: user.password, scope: 'gatehouse:admin' }, sneakyApp);
  t.is(asked.status, 400);
  t.is(asked.json.error, 'invalid_scope');
  const { access } = await loginWith(world, user, sneakyApp);
  t.is(decodeJwt(access).payload.scope, 'read');
  t.is(decodeJwt(access).payload.aud, world.issuer);
  const reply = await call(world, 'GET', usersPath(alice.username), access);
  t.is(reply.status, 403);
  t.regex(reply.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
});

test('the token of a disabled admin client is 401 invalid_token at once', async (t) => {
  const world = t.context;
  const backoffice = await world.createClient({ id: 'adm-backoffice', grantTypes: ['client_credentials'], scope: 'gatehouse:admin' });
  const token = (await world.token({ grant_type: 'client_credentials' }, backoffice)).json.access_token as string;
  t.is((await call(world, 'GET', usersPath(alice.username), token)).status, 200);
  await disableClient(world.store, backoffice.id, world.clock.now());
  assertInvalidToken(t, await call(world, 'GET', usersPath(alice.username), token));
});

// --- Not found, wrong method ---

test('an unknown user or sid is a JSON 404', async (t) => {
  const token = await t.context.adminToken();
  assertJsonError(t, await call(t.context, 'GET', usersPath('no-such-user'), token), 404);
  assertJsonError(t, await call(t.context, 'DELETE', usersPath('no-such-user'), token), 404);
  assertJsonError(t, await call(t.context, 'DELETE', sessionPath('0190a0a0-0000-7000-8000-000000000000'), token), 404);
  assertJsonError(t, await call(t.context, 'DELETE', sessionPath('not-a-sid'), token), 404);
  assertJsonError(t, await call(t.context, 'GET', '/admin/users', token), 404);
  t.is((await call(t.context, 'GET', usersPath(alice.username), token)).status, 200, 'control: a known user is found');
});

test('a wrong method is 405 with Allow, before any authentication', async (t) => {
  const allowOf = (reply: Reply) => (reply.headers.get('allow') ?? '').split(',').map((method) => method.trim()).filter(Boolean);
  for (const method of ['POST', 'PUT', 'PATCH']) {
    const reply = await call(t.context, method, usersPath(alice.username));
    assertJsonError(t, reply, 405, 'method_not_allowed');
    const allow = allowOf(reply);
    t.true(allow.includes('GET') && allow.includes('DELETE'), allow.join());
    t.false(allow.includes(method));
  }
  for (const method of ['GET', 'POST', 'PUT']) {
    const reply = await call(t.context, method, sessionPath('some-sid'));
    assertJsonError(t, reply, 405, 'method_not_allowed');
    t.true(allowOf(reply).includes('DELETE'));
    t.false(allowOf(reply).includes(method));
  }
});
