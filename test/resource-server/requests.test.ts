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

// The notes world's deadline for the issuer's answers is generous (a busy machine is not an outage); RS-12 makes
// a world of its own with a short one.
test.beforeEach(async (t) => {
  t.context = await startNotesWorld();
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
  const notes = await startNotesWorld({ timeoutMs: 500 });
  t.teardown(() => notes.close());
  const { access } = await notes.login(await notes.newUser());
  // Discovery and the first introspection, with time to spare on a busy machine.
  notes.proxy.rule = undefined;
  let warm = await notes.notes('GET', access);
  for (let i = 0; i < 5 && warm.status !== 200; i++) warm = await notes.notes('GET', access);
  t.is(warm.status, 200);
  notes.proxy.rule = { path: '/introspect', action: 'delay', delayMs: 15_000 };
  const startedMs = Date.now();
  const slow = await notes.notes('GET', access);
  const elapsedMs = Date.now() - startedMs;
  t.is(slow.status, 503);
  t.is(slow.headers.get('retry-after'), '2');
  // Not before the deadline, and long before the issuer's answer would have come.
  t.true(elapsedMs >= 450 && elapsedMs < 10_000, `answered after ${elapsedMs} ms with a 500 ms timeout`);

  notes.proxy.rule = { path: '/introspect', action: 'hang' };
  t.is((await notes.notes('GET', access)).status, 503, 'an issuer that never answers');
  notes.proxy.rule = undefined;
  let recovered = await notes.notes('GET', access);
  for (let i = 0; i < 5 && recovered.status !== 200; i++) recovered = await notes.notes('GET', access);
  t.is(recovered.status, 200, 'and it recovers');
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

test('an over-long token is refused here as 401 invalid_token: the issuer is not asked, nothing is logged as misconfigured', async (t) => {
  // 6,000 characters of "/" grow to 18,000 when form-encoded: past the issuer's 16 KiB body limit (it would be 413).
  for (const token of ['/'.repeat(6000), 'a'.repeat(4097), `${'a'.repeat(3000)}.${'b'.repeat(3000)}.c`]) {
    const reply = await t.context.notes('GET', token);
    t.is(reply.status, 401);
    t.is(reply.headers.get('www-authenticate'), 'Bearer realm="api", error="invalid_token"');
  }
  t.is(t.context.proxy.count('POST', '/introspect'), 0);
  t.false(t.context.apiLogs.some((line) => line.includes('refused this resource server')), t.context.apiLogs.join('\n'));
});

test('an introspection refused as malformed (400) or too large (413) means the caller\'s token is bad: 401, never 500', async (t) => {
  const { access } = await t.context.login(await t.context.newUser());
  t.is((await t.context.notes('GET', access)).status, 200);
  for (const status of [400, 413]) {
    t.context.proxy.rule = { path: '/introspect', action: 'status', status };
    const reply = await t.context.notes('GET', access);
    t.is(reply.status, 401, `issuer ${status}`);
    t.is(reply.headers.get('www-authenticate'), 'Bearer realm="api", error="invalid_token"');
  }
  t.false(t.context.apiLogs.some((line) => line.includes('refused this resource server')));
  // 401 from the issuer is this API's own credentials: a misconfiguration (500 and a log line), as before.
  t.context.proxy.rule = { path: '/introspect', action: 'status', status: 401 };
  t.is((await t.context.notes('GET', access)).status, 500);
  t.true(t.context.apiLogs.some((line) => line.includes('refused this resource server')));
});
