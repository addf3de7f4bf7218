/**
 * What the middleware takes as credentials and what it refuses before or after asking the issuer: malformed
 * headers (RS-09), query-string tokens (RS-10), tokens that are not this API's (RS-06), the timeout (RS-12), a
 * misconfigured API, and a session that ends while requests are in flight.
 */
import anyTest, { type TestFn } from 'ava';
import { request } from 'node:http';
import { startExampleApi } from '../../scripts/example-api.js';
import { createLogger } from '../../src/lib/log.js';
import { signWithForeignKey, tamperSignature } from '../helpers/forge.js';
import { ELSEWHERE_API, NOTES_API, notesApp, notesRs, startNotesWorld, type NotesWorld } from '../helpers/notes.js';

const test = anyTest as TestFn<NotesWorld>;

test.beforeEach(async (t) => {
  t.context = await startNotesWorld({ timeoutMs: 300 });
});
test.afterEach.always(async (t) => {
  await t.context.close();
});

/** A request with repeated headers, which fetch would fold into one. */
function rawGet(url: string, headers: Record<string, string | string[]>): Promise<{ status: number; challenge: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}/notes`, { method: 'GET', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, challenge: res.headers['www-authenticate'] }));
    });
    req.on('error', reject);
    req.end();
  });
}

const MALFORMED = 'Bearer realm="api", error="invalid_request"';

test('RS-09 a Bearer header without a well-formed token: 400 invalid_request, and the issuer is not asked', async (t) => {
  for (const authorization of ['Bearer', 'Bearer    ', 'bearer', 'Bearer a b', 'Bearer tok!en', 'Bearer "abc"', 'Bearer a,b', 'Bearer ==abc']) {
    const reply = await t.context.notes('GET', undefined, { headers: { authorization } });
    t.is(reply.status, 400, JSON.stringify(authorization));
    t.is(reply.headers.get('www-authenticate'), MALFORMED, JSON.stringify(authorization));
    t.is(reply.json.error, 'invalid_request');
  }
  t.is(t.context.proxy.count('POST', '/introspect'), 0);
});

test('RS-09 two Authorization headers: 400 invalid_request, even when the first one is a valid token', async (t) => {
  const { access } = await t.context.login(await t.context.newUser());
  for (const pair of [
    [`Bearer ${access}`, `Bearer ${access}`],
    [`Bearer ${access}`, 'Basic YTpi'],
    ['Basic YTpi', `Bearer ${access}`],
  ]) {
    const reply = await rawGet(t.context.api.url, { authorization: pair });
    t.is(reply.status, 400);
    t.is(reply.challenge, MALFORMED);
  }
  t.is(t.context.proxy.count('POST', '/introspect'), 0);
  t.is((await rawGet(t.context.api.url, { authorization: `Bearer ${access}` })).status, 200, 'one header is fine');
});

test('RS-10 a token in the query string is ignored: the request has no credentials', async (t) => {
  const { access } = await t.context.login(await t.context.newUser());
  const reply = await t.context.notes('GET', undefined, { query: `?access_token=${access}` });
  t.is(reply.status, 401);
  t.is(reply.headers.get('www-authenticate'), 'Bearer realm="api"');
  t.is(t.context.proxy.count('POST', '/introspect'), 0);
  // With a header, the query changes nothing.
  t.is((await t.context.notes('GET', access, { query: '?access_token=garbage' })).status, 200);
});

test('RS-06 tokens that are not valid access tokens for this API: 401 invalid_token, never 500', async (t) => {
  const user = await t.context.newUser();
  const { access, refresh } = await t.context.login(user);
  const elsewhere = await t.context.world.token(
    { grant_type: 'password', username: user.username, password: user.password, resource: ELSEWHERE_API },
    notesApp,
  );
  const candidates: Record<string, string> = {
    'an opaque string': 'abc',
    'a refresh token': refresh,
    'a token for another audience': elsewhere.json.access_token,
    'a token for another issuer-audience (conf-A, api.example.test)': (await t.context.world.login()).access,
    'a bad signature': tamperSignature(access),
    'a foreign key': await signWithForeignKey(access),
    'a long token': 'a'.repeat(9000),
  };
  for (const [what, token] of Object.entries(candidates)) {
    const reply = await t.context.notes('GET', token);
    t.is(reply.status, 401, what);
    t.is(reply.headers.get('www-authenticate'), 'Bearer realm="api", error="invalid_token"', what);
  }
});

test('RS-12 an issuer slower than the timeout: 503 after about the timeout, not when the issuer answers', async (t) => {
  const { access } = await t.context.login(await t.context.newUser());
  t.is((await t.context.notes('GET', access)).status, 200);
  t.context.proxy.rule = { path: '/introspect', action: 'delay', delayMs: 2000 };
  const startedMs = Date.now();
  const slow = await t.context.notes('GET', access);
  const elapsedMs = Date.now() - startedMs;
  t.is(slow.status, 503);
  t.is(slow.headers.get('retry-after'), '2');
  t.true(elapsedMs >= 250 && elapsedMs < 1500, `answered after ${elapsedMs} ms with a 300 ms timeout`);

  t.context.proxy.rule = { path: '/introspect', action: 'hang' };
  t.is((await t.context.notes('GET', access)).status, 503, 'an issuer that never answers');
  t.context.proxy.rule = undefined;
  t.is((await t.context.notes('GET', access)).status, 200, 'and it recovers');
});

test('a session ended while 20 requests are in flight: every request verified after the end is refused', async (t) => {
  const user = await t.context.newUser();
  const { access } = await t.context.login(user);
  t.is((await t.context.notes('GET', access)).status, 200); // discovery done: only introspections are held below
  t.context.proxy.rule = { path: '/introspect', action: 'hold' };
  const inFlight = Array.from({ length: 20 }, () => t.context.notes('GET', access));
  await t.context.proxy.waitForHeld(20);

  // Ten reach the issuer before the end, ten after.
  await t.context.proxy.release(10);
  await t.context.endSessions(user.username);
  await t.context.proxy.release(10);
  const replies = await Promise.all(inFlight);
  t.is(replies.filter((reply) => reply.status === 200).length, 10);
  t.is(replies.filter((reply) => reply.status === 401).length, 10);
  for (const reply of replies.filter((r) => r.status === 401)) t.is(reply.headers.get('www-authenticate'), 'Bearer realm="api", error="invalid_token"');

  // And every later request, 20 at once.
  t.context.proxy.rule = undefined;
  const later = await Promise.all(Array.from({ length: 20 }, () => t.context.notes('GET', access)));
  t.deepEqual(later.map((reply) => reply.status), Array(20).fill(401));
});

test('a misconfigured API (wrong client secret) answers 500, never 401, and says why in its log', async (t) => {
  const misconfigured = await startNotesWorld({ rsSecret: 'not-the-secret-0123456789abcdef0123456789' });
  try {
    const { access } = await misconfigured.login(await misconfigured.newUser());
    const reply = await misconfigured.notes('GET', access);
    t.is(reply.status, 500);
    t.is(reply.headers.get('www-authenticate'), null);
    t.true(misconfigured.apiLogs.some((line) => line.includes('ERROR token issuer refused this resource server') && line.includes(notesRs.id)));
  } finally {
    await misconfigured.close();
  }
});

test('metadata naming another issuer is refused (RFC 8414 §3.3): 500 and a log line, never 401', async (t) => {
  const logs: string[] = [];
  // The same server under another name: its metadata says http://localhost:<port>, not http://127.0.0.1:<port>.
  const api = await startExampleApi({
    issuer: `http://127.0.0.1:${t.context.proxy.port}`,
    clientId: notesRs.id,
    clientSecret: notesRs.secret,
    audience: NOTES_API,
    log: createLogger((line) => logs.push(line)),
  });
  t.teardown(() => api.close());
  const { access } = await t.context.login(await t.context.newUser());
  const reply = await fetch(`${api.url}/notes`, { headers: { authorization: `Bearer ${access}` } });
  t.is(reply.status, 500);
  t.true(logs.some((line) => line.includes('metadata names issuer')));
});
