/**
 * Issue #13: one JSON log line per request (request id, route, status, duration, client id, throttle decision);
 * the id is the caller's X-Request-Id when it is a plausible id, or a new one, and is sent back; every line a
 * request causes carries it; GATEHOUSE_LOG_LEVEL sets the level.
 */
import test from 'ava';
import { alice, confA, startWorld, type World } from '../helpers/fixtures.js';
import { postForm, send } from '../helpers/http.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

interface Entry {
  level: string;
  time: string;
  msg: string;
  req_id?: string;
  [field: string]: unknown;
}

const entries = (w: World): Entry[] => w.logs.map((line) => JSON.parse(line) as Entry);
const requestLines = (w: World, id: string) => entries(w).filter((entry) => entry.msg === 'request' && entry.req_id === id);

test('every answer carries an X-Request-Id, and the request has exactly one log line with it', async (t) => {
  const w = await startWorld();
  t.teardown(() => w.close());
  const reply = await w.token({ grant_type: 'client_credentials' }, confA);
  const id = reply.headers.get('x-request-id')!;
  t.regex(id, UUID, 'a new UUID when none was offered');
  const [line, ...more] = requestLines(w, id);
  t.deepEqual(more, []);
  t.like(line, { level: 'info', method: 'POST', route: '/token', status: 200, client_id: confA.id });
  t.is(typeof line!.duration_ms, 'number');
  t.regex(line!.time, /^\d{4}-\d\d-\d\dT/);

  // 404s, 405s and errors too.
  for (const [path, method, status] of [['/nowhere', 'GET', 404], ['/token', 'GET', 405], ['/introspect', 'POST', 400]] as const) {
    const answer = await send(`${w.url}${path}`, { method });
    t.is(answer.status, status);
    t.like(requestLines(w, answer.headers.get('x-request-id')!)[0], { status, method });
  }
});

test("a plausible incoming X-Request-Id is kept and returned; anything else is replaced", async (t) => {
  const w = await startWorld();
  t.teardown(() => w.close());
  for (const offered of ['abc-123', '4bf92f3577b34da6a3ce929d0e0e4736', '01HZX3.trace:span/1+=', 'x'.repeat(128)]) {
    const reply = await send(`${w.url}/healthz`, { headers: { 'x-request-id': offered } });
    t.is(reply.headers.get('x-request-id'), offered);
    t.is(requestLines(w, offered).length, 1);
  }
  for (const offered of ['', 'has space', 'x'.repeat(129), '"quoted"', 'semi;colon', 'new\\line', '<script>']) {
    const reply = await send(`${w.url}/healthz`, { headers: offered === '' ? {} : { 'x-request-id': offered } });
    t.regex(reply.headers.get('x-request-id')!, UUID, JSON.stringify(offered));
  }
  t.false(w.logs.some((line) => line.includes('<script>') || line.includes('has space')));
});

test('every line a request causes carries its id; the route is the template, never a username', async (t) => {
  const w = await startWorld();
  t.teardown(() => w.close());
  const login = await w.login(alice);
  await w.refresh(login.refresh);
  const reuse = await w.refresh(login.refresh);
  const id = reuse.headers.get('x-request-id')!;
  const caused = entries(w).filter((entry) => entry.req_id === id);
  t.deepEqual(caused.map((entry) => entry.msg).sort(), ['refresh token reuse: session ended', 'request']);
  t.true(caused.every((entry) => typeof entry.time === 'string'));

  const adminToken = await w.adminToken();
  const listed = await send(`${w.url}/admin/users/${alice.username}/sessions`, { headers: { authorization: `Bearer ${adminToken}` } });
  t.like(requestLines(w, listed.headers.get('x-request-id')!)[0], { route: '/admin/users/:username/sessions', status: 200, client_id: 'admin' });
  t.false(entries(w).some((entry) => entry.msg === 'request' && JSON.stringify(entry).includes(alice.username)), 'no username in a request line');
});

test('the throttle decision is on the line of each login', async (t) => {
  const w = await startWorld({ env: { GATEHOUSE_LOCKOUT_THRESHOLD: '1', GATEHOUSE_TRUST_PROXY_HOPS: '1' } });
  t.teardown(() => w.close());
  const attempt = (password: string) =>
    postForm(`${w.url}/token`, { grant_type: 'password', username: alice.username, password }, { auth: [confA.id, confA.secret], headers: { 'x-forwarded-for': '198.51.100.9' } });
  const counted = await attempt('wrong-password');
  const blocked = await attempt(alice.password);
  t.deepEqual([counted.status, blocked.status], [400, 429]);
  t.like(requestLines(w, counted.headers.get('x-request-id')!)[0], { status: 400, client_id: confA.id, throttle: 'counted' });
  t.like(requestLines(w, blocked.headers.get('x-request-id')!)[0], { status: 429, client_id: confA.id, throttle: 'blocked' });
});

test('GATEHOUSE_LOG_LEVEL=warn keeps request lines out; warnings stay', async (t) => {
  const w = await startWorld({ env: { GATEHOUSE_LOG_LEVEL: 'warn' } });
  t.teardown(() => w.close());
  const login = await w.login(alice);
  await w.refresh(login.refresh);
  await w.refresh(login.refresh); // reuse: a warning
  t.false(entries(w).some((entry) => entry.msg === 'request'));
  t.true(entries(w).some((entry) => entry.level === 'warn' && entry.msg.includes('reuse')));
});
