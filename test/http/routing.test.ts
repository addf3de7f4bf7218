/**
 * What every path and method gets (issue #2: "A wrong method on any endpoint → 405 with Allow. Every other path:
 * JSON 404. Bad input never yields a 5xx. The database unavailable → 503 … Any other unexpected fault → 500"),
 * and REV-13 (standards §7).
 */
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import Database from 'better-sqlite3';
import { onPostgres } from '../helpers/database.js';
import { alice, auth, confA, confB, rs1, startWorld, type World } from '../helpers/fixtures.js';
import { basic, postForm, send, type Reply } from '../helpers/http.js';
import { rawRequest, serveWithUnloadedKeys, type RawReply } from '../helpers/routing.js';

const test = anyTest as TestFn<World>;
test.before(async (t) => {
  t.context = await startWorld();
});
test.after.always(async (t) => {
  await t.context.close();
});

const allowOf = (value: string | null | undefined) => (value ?? '').split(',').map((method) => method.trim()).filter(Boolean);

function assertJsonError(t: any, reply: Reply, status: number, error: string, what = '') {
  t.is(reply.status, status, what);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/, what);
  t.is(reply.json?.error, error, what);
}

test('unknown paths are a JSON 404 for any method', async (t) => {
  const paths = ['/', '/nope', '/tokens', '/token/extra', '/introspect/x', '/.well-known/', '/.well-known/openid-configuration', '/admin', '/admin/users', '/admin/users/alice', '/admin/sessions', '/api/thing'];
  for (const path of paths) {
    for (const method of ['GET', 'POST', 'DELETE']) {
      assertJsonError(t, await send(`${t.context.url}${path}`, { method }), 404, 'not_found', `${method} ${path}`);
    }
  }
});

const ENDPOINTS: Array<{ path: string; allowed: string[]; wrong: string[] }> = [
  { path: '/token', allowed: ['POST'], wrong: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'] },
  { path: '/introspect', allowed: ['POST'], wrong: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'] },
  { path: '/revoke', allowed: ['POST'], wrong: ['GET', 'HEAD', 'PUT', 'DELETE', 'PATCH'] },
  { path: '/.well-known/jwks.json', allowed: ['GET'], wrong: ['POST', 'PUT', 'DELETE', 'PATCH'] },
  { path: '/.well-known/oauth-authorization-server', allowed: ['GET'], wrong: ['POST', 'PUT', 'DELETE', 'PATCH'] },
  { path: '/admin/users/alice/sessions', allowed: ['GET', 'DELETE'], wrong: ['POST', 'PUT', 'PATCH'] },
  { path: '/admin/sessions/some-sid', allowed: ['DELETE'], wrong: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH'] },
];

test('a wrong method on every endpoint is 405 with an Allow header that lists the right ones', async (t) => {
  for (const { path, allowed, wrong } of ENDPOINTS) {
    for (const method of wrong) {
      const what = `${method} ${path}`;
      const reply = await send(`${t.context.url}${path}`, { method });
      t.is(reply.status, 405, what);
      const allow = allowOf(reply.headers.get('allow'));
      for (const method of allowed) t.true(allow.includes(method), `${what}: Allow ${allow.join()} lacks ${method}`);
      t.false(allow.includes(method), `${what}: Allow lists the refused method`);
      if (method !== 'HEAD') assertJsonError(t, reply, 405, 'method_not_allowed', what);
    }
  }
  // The POST endpoints name exactly POST.
  t.is((await send(`${t.context.url}/token`)).headers.get('allow'), 'POST');
});

test('odd paths never give a 5xx', async (t) => {
  const adminToken = await t.context.adminToken();
  const long = 'a'.repeat(8000);
  const paths = [
    '/admin/users/%E0%A4%A/sessions',
    '/admin/users/%/sessions',
    '/admin/users/%E0%A4/sessions',
    '/admin/users/%00/sessions',
    '/admin/users/%FF%FE/sessions',
    '/admin/users/alice%2F..%2F..%2Fsessions/sessions',
    '/admin/users//sessions',
    '/admin/sessions/%E0%A4%A',
    '/admin/sessions/%',
    '/admin/sessions/%00',
    `/admin/sessions/${long}`,
    `/admin/users/${long}/sessions`,
    '/%',
    '/%E0%A4%A',
    '/token/',
    '//token',
    '/token//',
    '/./token',
    '/../token',
    '/token%2F',
    '/%74oken',
    '/TOKEN',
    '/token;jsessionid=1',
    '/.well-known/jwks.json/',
    '/.well-known/oauth-authorization-server/%E0%A4%A',
    `/${long}`,
    `/${'b'.repeat(20000)}`,
    `/token?${'a=b&'.repeat(1000)}`,
  ];
  const requests: Array<[string, Record<string, string>, string | undefined]> = [
    ['GET', { authorization: `Bearer ${adminToken}` }, undefined],
    ['DELETE', { authorization: `Bearer ${adminToken}` }, undefined],
    ['POST', { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${confB.id}:${confB.secret}`).toString('base64')}` }, 'grant_type=client_credentials'],
  ];
  for (const path of paths) {
    for (const [method, headers, body] of requests) {
      const reply = await rawRequest(t.context.url, method, path, { headers, ...(body === undefined ? {} : { body }) });
      const what = `${method} ${path.slice(0, 60)} → ${reply.status} ${reply.text.slice(0, 100)}`;
      t.true(reply.status >= 200 && reply.status < 500, what);
      // Whatever the application itself answered with an error is a JSON error (Node's own 431 is not the app's).
      if (reply.status >= 400 && reply.status !== 431) t.is(typeof reply.json?.error, 'string', what);
    }
  }
  t.false(t.context.logs.some((line) => line.includes('unexpected error')), 'no unexpected error was logged');
});

/** A form POST on a fresh connection: while the event loop waits on SQLite, a kept-alive socket may time out. */
async function post(world: World, path: string, form: Record<string, string>, client: { id: string; secret: string }): Promise<RawReply> {
  return rawRequest(world.url, 'POST', path, {
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(client.id, client.secret) },
    body: new URLSearchParams(form).toString(),
  });
}

// Serial, so that no other request is in flight while better-sqlite3 blocks the process on the busy timeout.
// SQLite only: test/storage/postgres-outage.test.ts cuts PostgreSQL away instead.
(onPostgres ? test.skip : test.serial)('REV-13 the database locked: 503 temporarily_unavailable with Retry-After, then normal answers once it is back', async (t) => {
  const world = await startWorld();
  const locker = new Database(join(world.dir, 'gatehouse.sqlite'));
  const login = { grant_type: 'password', username: alice.username, password: alice.password };
  try {
    const before = (await post(world, '/token', login, confA)).json;
    t.truthy(before.refresh_token);
    locker.exec('BEGIN EXCLUSIVE');
    try {
      // Reads still work in WAL mode: introspection needs no write.
      t.is((await post(world, '/introspect', { token: before.access_token }, rs1)).json?.active, true);

      const writes: Record<string, () => Promise<RawReply>> = {
        login: () => post(world, '/token', login, confA),
        refresh: () => post(world, '/token', { grant_type: 'refresh_token', refresh_token: before.refresh_token }, confA),
        revoke: () => post(world, '/revoke', { token: before.refresh_token }, confA),
      };
      for (const [name, write] of Object.entries(writes)) {
        const started = Date.now();
        const reply = await write();
        const waited = Date.now() - started;
        t.is(reply.status, 503, name);
        t.regex(String(reply.headers['content-type']), /^application\/json/, name);
        t.is(reply.json?.error, 'temporarily_unavailable', name);
        t.regex(String(reply.headers['retry-after']), /^[1-9]\d*$/, `${name}: Retry-After in seconds`);
        t.regex(String(reply.headers['cache-control']), /no-store/, name);
        t.is(reply.json.access_token, undefined);
        t.true(waited >= 4000, `${name}: answered after ${waited} ms, before the 5 s busy timeout`);
      }
    } finally {
      locker.exec('COMMIT');
    }

    // Back: the failed requests changed nothing, and the same requests now succeed.
    t.is((await post(world, '/introspect', { token: before.access_token }, rs1)).json?.active, true, 'the failed revocation ended nothing');
    t.is((await post(world, '/token', login, confA)).status, 200);
    const refresh = await post(world, '/token', { grant_type: 'refresh_token', refresh_token: before.refresh_token }, confA);
    t.is(refresh.status, 200, 'the failed refresh consumed nothing');
    t.is((await post(world, '/revoke', { token: refresh.json.refresh_token }, confA)).status, 200);
    t.is((await post(world, '/introspect', { token: refresh.json.access_token }, rs1)).text, '{"active":false}');

    const warnings = world.logs.filter((line) => line.includes('database unavailable'));
    t.is(warnings.length, 3);
    for (const line of world.logs) {
      t.false(line.includes(before.refresh_token), 'no refresh token in the log');
      t.false(line.includes(alice.password), 'no password in the log');
    }
  } finally {
    if (locker.inTransaction) locker.exec('ROLLBACK');
    locker.close();
    await world.close();
  }
});

test('an unexpected fault (no signing key loaded) is 500 {"error":"server_error"} without internals, and a log line', async (t) => {
  const world = await startWorld();
  const broken = await serveWithUnloadedKeys(world);
  try {
    const replies = {
      client_credentials: await postForm(`${broken.url}/token`, { grant_type: 'client_credentials' }, { auth: auth(confB) }),
      password: await postForm(`${broken.url}/token`, { grant_type: 'password', username: alice.username, password: alice.password }, { auth: auth(confA) }),
    };
    for (const [name, reply] of Object.entries(replies)) {
      assertJsonError(t, reply, 500, 'server_error', name);
      t.deepEqual(Object.keys(reply.json).filter((key) => key !== 'error' && key !== 'error_description'), [], name);
      t.notRegex(reply.text, /NoSigningKey|signing key|stack|\.ts\b|\.js\b|\/work\/|node_modules|sqlite|knex/i, name);
      t.regex(reply.headers.get('cache-control') ?? '', /no-store/, name);
    }
    const errors = world.logs.map((line) => JSON.parse(line)).filter((entry) => entry.level === 'error' && entry.msg === 'unexpected error');
    t.is(errors.length, 2, world.logs.join('\n'));
    t.true(errors.every((entry) => entry.route === '/token' && typeof entry.req_id === 'string'), 'with the route and the request id');
    for (const line of world.logs) {
      t.false(line.includes(confB.secret), 'no client secret in the log');
      t.false(line.includes(alice.password), 'no password in the log');
    }

    // Requests that need no signing key still answer normally on that server.
    t.is((await send(`${broken.url}/.well-known/oauth-authorization-server`)).status, 200);
    const introspection = await postForm(`${broken.url}/introspect`, { token: 'abc' }, { auth: auth(rs1) });
    t.is(introspection.text, '{"active":false}');
    // And the healthy server over the same database is unaffected.
    t.is((await world.token({ grant_type: 'client_credentials' }, confB)).status, 200);
  } finally {
    await broken.close();
    await world.close();
  }
});
