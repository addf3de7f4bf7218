/**
 * Push delivery (RFC 8935) of Shared Signals streams, black box: a real issuer with its push worker, and a
 * receiver written from the RFC text on plain node:http (test/helpers/push-receiver.ts). SETs are verified with
 * jose against the published JWKS. Nothing waits on a fixed sleep: tests wait on the receiver's requests or on
 * what the issuer records, with generous deadlines.
 */
import { join } from 'node:path';
import anyTest, { type TestFn } from 'ava';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { runJanitor } from '../../src/maintenance/janitor.js';
import { streamDeliveryState } from '../../src/ssf/control.js';
import { freshDatabase } from '../helpers/database.js';
import { startWorld, type World } from '../helpers/fixtures.js';
import { decodeJwt, postForm, send, type Reply } from '../helpers/http.js';
import { runCli } from '../helpers/process.js';
import { startPushReceiver, type PushReceiver } from '../helpers/push-receiver.js';
import { startIssuer, tempDir } from '../helpers/issuer.js';

const test = anyTest as TestFn;
const PUSH = 'urn:ietf:rfc:8935';
const SESSION_REVOKED = 'https://schemas.openid.net/secevent/caep/event-type/session-revoked';
const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';
const rx = { id: 'push-rx', secret: 'push-rx-0123456789abcdef0123456789abcd' } as const;
/** Small backoff so retries happen within a test; the schedule's shape is the same as with the defaults. */
const FAST_RETRIES = { GATEHOUSE_SSF_PUSH_BACKOFF_MS: '20', GATEHOUSE_SSF_PUSH_BACKOFF_MAX_SECONDS: '1' };

async function world(env: Record<string, string> = {}, extra: { database?: Awaited<ReturnType<typeof freshDatabase>>; dir?: string } = {}): Promise<World> {
  const w = await startWorld({ env: { ...FAST_RETRIES, ...env }, push: true, ...extra });
  await w.createClient({ ...rx, receiver: true });
  return w;
}

async function tokenOf(w: Pick<World, 'api'>): Promise<string> {
  const reply = await postForm(`${w.api}/token`, { grant_type: 'client_credentials' }, { auth: [rx.id, rx.secret] });
  if (reply.status !== 200) throw new Error(`token: ${reply.status} ${reply.text}`);
  return reply.json.access_token;
}

function call(url: string, method: string, token: string, body?: unknown): Promise<Reply> {
  return send(url, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

async function pushStream(w: World, token: string, endpoint: string, extra: Record<string, unknown> = {}): Promise<string> {
  const reply = await call(`${w.api}/ssf/streams`, 'POST', token, { delivery: { method: PUSH, endpoint_url: endpoint, ...extra } });
  if (reply.status !== 201) throw new Error(`create: ${reply.status} ${reply.text}`);
  return reply.json.stream_id;
}

async function verify(w: Pick<World, 'api'>, token: string, streamId: string, state: string): Promise<void> {
  const reply = await call(`${w.api}/ssf/verify`, 'POST', token, { stream_id: streamId, state });
  if (reply.status !== 204) throw new Error(`verify: ${reply.status} ${reply.text}`);
}

const stateOf = (received: { body: string }) => decodeJwt(received.body).payload.events[VERIFICATION]?.state as string | undefined;

async function until(condition: () => Promise<boolean>, what: string, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function withReceiver(t: { teardown(fn: () => unknown): void }): Promise<PushReceiver> {
  const receiver = await startPushReceiver();
  t.teardown(() => receiver.close().catch(() => undefined));
  return receiver;
}

test('PUSH-01 a session ended at the admin API is pushed at once: POST, application/secevent+jwt, the Authorization header, a SET that verifies against the JWKS', async (t) => {
  const w = await world();
  t.teardown(() => w.close());
  const receiver = await withReceiver(t);
  const token = await tokenOf(w);

  const config = (await send(`${w.url}/.well-known/ssf-configuration`)).json;
  t.true(config.delivery_methods_supported.includes(PUSH));

  const created = await call(`${w.api}/ssf/streams`, 'POST', token, { delivery: { method: PUSH, endpoint_url: receiver.url, authorization_header: 'Bearer rx-secret-value' }, events_requested: [SESSION_REVOKED] });
  t.is(created.status, 201);
  t.deepEqual(created.json.delivery, { method: PUSH, endpoint_url: receiver.url });
  t.false(created.text.includes('rx-secret-value'), 'the authorization_header is never returned');
  const streamId = created.json.stream_id as string;
  const read = await call(`${w.api}/ssf/streams?stream_id=${streamId}`, 'GET', token);
  t.false(read.text.includes('rx-secret-value'));

  // RFC 8936 poll is for poll streams only.
  t.is((await call(`${w.api}/ssf/poll/${streamId}`, 'POST', token, { returnImmediately: true })).status, 400);

  const login = await w.login();
  const sid = decodeJwt(login.access).payload.sid as string;
  const ended = Date.now();
  const admin = await send(`${w.url}/admin/sessions/${sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${await w.adminToken()}` } });
  t.is(admin.status, 204);
  const received = await receiver.next();
  t.true(received.at - ended < 10_000, `pushed ${received.at - ended} ms after the end`);
  t.is(received.method, 'POST');
  t.is(received.path, '/events');
  t.is(received.headers['content-type'], 'application/secevent+jwt');
  t.is(received.headers.authorization, 'Bearer rx-secret-value');

  const jwks = (await send(`${w.api}/.well-known/jwks.json`)).json;
  const { payload, protectedHeader } = await jwtVerify(received.body, createLocalJWKSet(jwks), { issuer: w.issuer, audience: rx.id, typ: 'secevent+jwt' });
  t.is(protectedHeader.typ, 'secevent+jwt');
  t.is(payload.jti, `${streamId}.${payload.txn}`);
  t.is(payload.sub, undefined);
  t.is(payload.exp, undefined);
  const event = (payload.events as Record<string, any>)[SESSION_REVOKED];
  t.truthy(event);
  t.deepEqual((payload.sub_id as any).session, { format: 'opaque', id: sid });

  // Acknowledged with 202: nothing is pending, the stream counts one delivery; no secret in the logs.
  await until(async () => (await streamDeliveryState(w.store, (await w.store.streams.find(streamId))!)).stream.push.delivered === 1, 'the delivery to be recorded');
  const state = await streamDeliveryState(w.store, (await w.store.streams.find(streamId))!);
  t.is(state.pending, 0);
  t.false(w.logs.some((line) => line.includes('rx-secret-value')), 'the authorization header is never logged');
});

test('PUSH-02 a receiver that answers 503 gets the SET again with growing waits, then the rest in order once it answers 202', async (t) => {
  const w = await world();
  t.teardown(() => w.close());
  const receiver = await withReceiver(t);
  let failures = 3;
  receiver.answer = () => (failures-- > 0 ? { status: 503 } : { status: 202 });
  const token = await tokenOf(w);
  const streamId = await pushStream(w, token, receiver.url);
  for (const state of ['a', 'b', 'c']) await verify(w, token, streamId, state);
  await receiver.until((all) => all.filter((r) => r.headers['content-type'] === 'application/secevent+jwt').length >= 6, 'three failures and three deliveries');
  const states = receiver.received.map(stateOf);
  t.deepEqual(states, ['a', 'a', 'a', 'a', 'b', 'c']);
  const at = receiver.received.map((r) => r.at);
  // Retries waited (backoff 20 ms doubling, half of it jitter): at least 10 ms, 20 ms, 40 ms.
  t.true(at[1]! - at[0]! >= 9 && at[2]! - at[1]! >= 19 && at[3]! - at[2]! >= 39, `gaps ${at.slice(1, 4).map((v, i) => v - at[i]!).join(', ')} ms`);
});

test('PUSH-02 a receiver whose port is closed: retried with backoff, and everything is delivered in order when it comes back', async (t) => {
  const w = await world();
  t.teardown(() => w.close());
  const receiver = await withReceiver(t);
  const token = await tokenOf(w);
  const streamId = await pushStream(w, token, receiver.url);
  await receiver.close();
  for (const state of ['1', '2', '3', '4']) await verify(w, token, streamId, state);
  await until(async () => {
    const stream = await w.store.streams.find(streamId);
    return stream!.push.lastError !== null && /ECONNREFUSED/.test(stream!.push.lastError) && (await w.store.push.head(streamId))!.attempts >= 2;
  }, 'two refused attempts');
  t.is(receiver.received.length, 0);
  await receiver.reopen();
  await receiver.until((all) => all.length >= 4, 'four SETs');
  t.deepEqual(receiver.received.map(stateOf), ['1', '2', '3', '4']);
  const txns = receiver.received.map((r) => Number(r.txn));
  t.deepEqual([...txns].sort((a, b) => a - b), txns);
});

test('PUSH-03 after GATEHOUSE_SSF_PUSH_MAX_ATTEMPTS failures a SET is dead-lettered, kept and shown by the CLI; the next SET still goes', async (t) => {
  const dir = tempDir();
  const database = await freshDatabase(dir);
  const w = await world({ GATEHOUSE_SSF_PUSH_MAX_ATTEMPTS: '3' }, { database, dir });
  t.teardown(async () => {
    await w.close();
    await database.drop();
  });
  const receiver = await withReceiver(t);
  receiver.answer = (request) => (stateOf(request) === 'doomed' ? { status: 500 } : { status: 202 });
  const token = await tokenOf(w);
  const streamId = await pushStream(w, token, receiver.url);
  await verify(w, token, streamId, 'doomed');
  await verify(w, token, streamId, 'fine');
  await receiver.until((all) => all.some((r) => stateOf(r) === 'fine'), 'the SET after the dead one');
  t.deepEqual(receiver.received.map(stateOf), ['doomed', 'doomed', 'doomed', 'fine']);
  await until(async () => (await w.store.streams.find(streamId))!.push.delivered === 1, 'the delivery to be recorded');

  const env = { DATABASE_URL: database.url, GATEHOUSE_KEYS_DIR: join(dir, 'keys') };
  const shown = await runCli(['streams', 'show', streamId, '--json'], { env });
  t.is(shown.code, 0, shown.stderr);
  const state = JSON.parse(shown.stdout);
  t.like(state, { stream_id: streamId, delivery: 'push', pending: 0, push: { endpoint_url: receiver.url, delivered: 1, dead_lettered: 1, rejected: 0 } });
  t.regex(state.push.last_error, /HTTP 500; gave up after 3 attempts/);
  t.is(typeof state.push.last_attempt_at, 'string');
  const listed = await runCli(['streams', 'list'], { env });
  t.is(listed.code, 0, listed.stderr);
  t.regex(listed.stdout, new RegExp(`${streamId}\\s.*\\spush\\s+1\\s+HTTP 500`), 'list: delivery push, one dead, the last error');
  // Kept: the dead SET is still in the table, with its error.
  const dead = await w.db('ssf_pending').where({ stream_id: streamId, state: 'dead' });
  t.is(dead.length, 1);
  t.regex(dead[0].last_error, /HTTP 500/);
  t.is(Number(dead[0].attempts), 3);
});

test('PUSH-04 a 400 with the RFC 8935 error JSON is a rejection: recorded, not retried; the next SET goes', async (t) => {
  const w = await world();
  t.teardown(() => w.close());
  const receiver = await withReceiver(t);
  receiver.answer = (request) => (stateOf(request) === 'bad' ? { status: 400, json: { err: 'invalid_audience', description: 'not for us' } } : { status: 202 });
  const token = await tokenOf(w);
  const streamId = await pushStream(w, token, receiver.url);
  await verify(w, token, streamId, 'bad');
  await verify(w, token, streamId, 'good');
  await receiver.until((all) => all.some((r) => stateOf(r) === 'good'), 'the next SET');
  t.deepEqual(receiver.received.map(stateOf), ['bad', 'good']);
  await until(async () => (await w.store.streams.find(streamId))!.push.delivered === 1, 'the delivery to be recorded');
  const state = await streamDeliveryState(w.store, (await w.store.streams.find(streamId))!);
  t.like(state, { pending: 0, rejected: 1, dead: 0 });
  const [row] = await w.db('ssf_pending').where({ stream_id: streamId, state: 'rejected' });
  t.regex(row.last_error, /invalid_audience/);
  // Still not retried a while later: one more event goes through and the bad one was sent once only.
  await verify(w, token, streamId, 'later');
  await receiver.until((all) => all.some((r) => stateOf(r) === 'later'), 'a later SET');
  t.is(receiver.received.filter((r) => stateOf(r) === 'bad').length, 1);
});

test('PUSH-05 a receiver that never answers blocks no request: the admin API answers at once while a push hangs', async (t) => {
  const w = await world({ GATEHOUSE_SSF_PUSH_TIMEOUT_MS: '60000' });
  t.teardown(() => w.close());
  const receiver = await withReceiver(t);
  receiver.answer = () => 'hang';
  const token = await tokenOf(w);
  const streamId = await pushStream(w, token, receiver.url);
  await verify(w, token, streamId, 'slow');
  await receiver.next(); // the push is in flight, and its receiver holds it
  const adminToken = await w.adminToken();
  for (let i = 0; i < 3; i++) {
    const login = await w.login();
    const sid = decodeJwt(login.access).payload.sid as string;
    const started = Date.now();
    const reply = await send(`${w.url}/admin/sessions/${sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
    t.is(reply.status, 204);
    t.true(Date.now() - started < 5_000, `admin call took ${Date.now() - started} ms`);
  }
  const started = Date.now();
  t.is((await call(`${w.api}/ssf/streams?stream_id=${streamId}`, 'GET', token)).status, 200);
  t.true(Date.now() - started < 5_000);
  t.is(receiver.received.length, 1, 'the stream waits for its head SET: nothing else went out meanwhile');
});

test('PUSH-06 the allow-list on a loopback issuer: http only to loopback; no userinfo; refused with 400 and nothing stored', async (t) => {
  const w = await world();
  t.teardown(() => w.close());
  const token = await tokenOf(w);
  for (const url of ['http://10.0.0.1/', 'http://example.com/events', 'http://user:pw@127.0.0.1:9/x', 'https://user@example.com/x', 'ftp://127.0.0.1/x', 'not a url', 'http://127.0.0.1:9/x#frag']) {
    const reply = await call(`${w.api}/ssf/streams`, 'POST', token, { delivery: { method: PUSH, endpoint_url: url } });
    t.is(reply.status, 400, url);
    t.is(reply.json.error, 'invalid_request', url);
    t.regex(reply.json.error_description, /endpoint_url/, url);
  }
  t.is((await call(`${w.api}/ssf/streams`, 'POST', token, { delivery: { method: PUSH } })).status, 400);
  t.is((await call(`${w.api}/ssf/streams`, 'POST', token, { delivery: { method: PUSH, endpoint_url: 'http://127.0.0.1:9/x', authorization_header: 'a\r\nX-Injected: 1' } })).status, 400);
  t.is((await call(`${w.api}/ssf/streams`, 'GET', token)).json.length, 0, 'no stream was created');

  // An update to a refused URL changes nothing.
  const streamId = await pushStream(w, token, 'http://127.0.0.1:9/ok');
  const patched = await call(`${w.api}/ssf/streams`, 'PATCH', token, { stream_id: streamId, delivery: { method: PUSH, endpoint_url: 'http://10.0.0.1/' } });
  t.is(patched.status, 400);
  t.is((await call(`${w.api}/ssf/streams?stream_id=${streamId}`, 'GET', token)).json.delivery.endpoint_url, 'http://127.0.0.1:9/ok');
});

test('PUSH-06 the allow-list on an https issuer: no loopback, private, link-local or mapped address, however it is written', async (t) => {
  const w = await world({ GATEHOUSE_ISSUER: 'https://issuer.example.test' });
  t.teardown(() => w.close());
  const token = await tokenOf(w);
  for (const url of [
    'https://127.0.0.1/events',
    'https://127.1/events',
    'https://2130706433/events',
    'https://0x7f000001/events',
    'https://localhost/events',
    'https://[::1]/events',
    'https://[::ffff:127.0.0.1]/events',
    'https://[::ffff:a9fe:a9fe]/events',
    'https://169.254.169.254/latest/meta-data',
    'https://10.0.0.1/events',
    'https://192.168.1.1/events',
    'https://172.16.0.1/events',
    'https://100.64.0.1/events',
    'https://0.0.0.0/events',
    'https://[fd00::1]/events',
    'https://[fe80::1]/events',
    'http://127.0.0.1:9/events',
    'http://example.com/events',
    'https://user:pw@example.com/events',
  ]) {
    const reply = await call(`${w.api}/ssf/streams`, 'POST', token, { delivery: { method: PUSH, endpoint_url: url } });
    t.is(reply.status, 400, url);
    t.is(reply.json.error, 'invalid_request', url);
  }
  t.is((await call(`${w.api}/ssf/streams`, 'GET', token)).json.length, 0);
  // A public address literal is accepted (no DNS needed).
  const ok = await call(`${w.api}/ssf/streams`, 'POST', token, { delivery: { method: PUSH, endpoint_url: 'https://93.184.215.14/events' } });
  t.is(ok.status, 201, ok.text);
});

test('PUSH-07 two issuer instances on one database never push a SET twice', async (t) => {
  const dir = tempDir();
  const database = await freshDatabase(dir);
  // One issuer identifier for both, as behind a load balancer: a token of one is good at the other.
  const env = { GATEHOUSE_ISSUER: 'http://localhost:8999' };
  const a = await world(env, { database, dir });
  t.teardown(async () => {
    await a.close();
    await database.drop();
  });
  const b = await startIssuer({ env: { ...FAST_RETRIES, ...env }, push: true, database, dir });
  t.teardown(() => b.close());
  const receiver = await withReceiver(t);
  // Slow answers and a failure now and then widen the window in which two workers could both hold a stream.
  let n = 0;
  receiver.answer = () => (++n % 7 === 0 ? { status: 503 } : { status: 202, delayMs: 5 });
  const token = await tokenOf(a);
  const streams = [await pushStream(a, token, receiver.url), await pushStream(a, token, receiver.url), await pushStream(a, token, receiver.url)];
  const count = 20;
  await Promise.all(
    streams.map(async (streamId, s) => {
      for (let i = 0; i < count; i++) await verify(i % 2 === 0 ? a : b, token, streamId, `${s}-${i}`);
    }),
  );
  await receiver.until((all) => new Set(all.map((r) => r.jti)).size >= streams.length * count, 'every SET', 60_000);
  // A SET answered 503 comes again by design; one answered 202 never does.
  const accepted = receiver.received.filter((_, i) => (i + 1) % 7 !== 0).map((r) => r.jti);
  t.is(accepted.length, new Set(accepted).size, 'no SET was pushed twice after its 202');
  for (const [s, streamId] of streams.entries()) {
    const mine = receiver.received.filter((r, i) => (i + 1) % 7 !== 0 && r.jti.startsWith(`${streamId}.`)).map(stateOf);
    t.deepEqual(mine, Array.from({ length: count }, (_, i) => `${s}-${i}`), 'in order, each once');
  }
});


/** Ends one of alice's sessions at the admin API: an event for every stream. */
async function endASession(w: World): Promise<void> {
  const sid = decodeJwt((await w.login()).access).payload.sid as string;
  const reply = await send(`${w.url}/admin/sessions/${sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${await w.adminToken()}` } });
  if (reply.status !== 204) throw new Error(`end: ${reply.status} ${reply.text}`);
}

test('PUSH-08 the authorization_header is sealed at rest: no column holds it, and an envelope moved to another stream opens for nobody', async (t) => {
  const w = await world();
  t.teardown(() => w.close());
  const mine = await withReceiver(t);
  const thief = await withReceiver(t);
  const token = await tokenOf(w);
  const secret = 'Bearer rx-at-rest-0123456789';
  const victim = await pushStream(w, token, mine.url, { authorization_header: secret, events_requested: [SESSION_REVOKED] });
  const other = await pushStream(w, token, thief.url, { events_requested: [SESSION_REVOKED] });

  // What a database dump or a read-only SQL injection would show.
  const row = await w.db('ssf_streams').where({ id: victim }).first();
  t.false(JSON.stringify(await w.db('ssf_streams').select('*')).includes('rx-at-rest'), 'no column of any stream holds the header');
  t.is(row.push_authorization, null);
  t.regex(row.push_authorization_sealed, /^v1\./);

  // Someone who can write the table moves the envelope onto a stream whose endpoint they own: it is bound to
  // its stream, so it does not open there, and that stream's SETs are not sent with it (nor without it).
  await w.db('ssf_streams').where({ id: other }).update({ push_authorization_sealed: row.push_authorization_sealed });
  await endASession(w);
  const delivered = await mine.next();
  t.is(delivered.headers.authorization, secret, 'its own stream still sends it');
  await until(async () => (await w.store.streams.find(other))!.push.lastError !== null, 'the moved envelope to fail an attempt');
  t.regex((await w.store.streams.find(other))!.push.lastError!, /integrity check/);
  t.is(thief.received.length, 0, 'nothing went to the other endpoint');
  t.false(w.logs.some((line) => line.includes('rx-at-rest')), 'the header is never logged');
});

test('PUSH-08 a header stored in the clear before migration 010 is sealed at the next start and still sent; keys reencrypt re-seals it under a new secret', async (t) => {
  const dir = tempDir();
  const database = await freshDatabase(dir);
  t.teardown(() => database.drop());
  const oldSecret = 'old-key-secret-0123456789abcdef0123456789';
  const newSecret = 'new-key-secret-0123456789abcdef0123456789';
  const receiver = await withReceiver(t);
  const first = await world({ GATEHOUSE_KEY_SECRETS: oldSecret }, { database, dir });
  const streamId = await pushStream(first, await tokenOf(first), receiver.url, { events_requested: [SESSION_REVOKED] });
  // As migration 009's issuer stored it.
  await first.db('ssf_streams').where({ id: streamId }).update({ push_authorization: 'Bearer legacy-0123456789', push_authorization_sealed: null });
  await first.close();

  const second = await startIssuer({ env: { ...FAST_RETRIES, GATEHOUSE_KEY_SECRETS: oldSecret }, push: true, database, dir });
  t.teardown(() => second.close());
  await until(async () => (await second.db('ssf_streams').where({ id: streamId }).first()).push_authorization === null, 'the clear header to be sealed');
  const sealed = (await second.db('ssf_streams').where({ id: streamId }).first()).push_authorization_sealed as string;
  t.regex(sealed, /^v1\./);
  t.false(sealed.includes('legacy'));
  // A verification event (SSF 1.0 §8.1.4.2) is a SET for this stream alone.
  await verify(second, await tokenOf(second), streamId, 'after-sealing');
  t.is((await receiver.next()).headers.authorization, 'Bearer legacy-0123456789');
  await second.close();

  // A rotated key secret: the new one first, the old one still listed; reencrypt moves keys and headers over.
  const env = { DATABASE_URL: database.url, GATEHOUSE_KEYS_DIR: join(dir, 'keys'), GATEHOUSE_KEY_SECRETS: `${newSecret},${oldSecret}` };
  const reencrypted = await runCli(['keys', 'reencrypt', '--json'], { env });
  t.is(reencrypted.code, 0, reencrypted.stderr);
  t.like(JSON.parse(reencrypted.stdout), { push_authorizations_resealed: 1 });
  t.false(reencrypted.stdout.includes('legacy'));
  const third = await startIssuer({ env: { ...FAST_RETRIES, GATEHOUSE_KEY_SECRETS: newSecret }, push: true, database, dir });
  t.teardown(() => third.close());
  await verify(third, await tokenOf(third), streamId, 'after-reencrypt');
  t.is((await receiver.next()).headers.authorization, 'Bearer legacy-0123456789', 'opened with the new secret alone');
});

test('a push stream has no inactivity_timeout: the janitor leaves it enabled however long its receiver stays silent', async (t) => {
  const w = await world();
  t.teardown(() => w.close());
  const token = await tokenOf(w);
  const push = await pushStream(w, token, 'http://127.0.0.1:9/quiet');
  const polled = (await call(`${w.api}/ssf/streams`, 'POST', token, {})).json.stream_id as string;
  t.is((await call(`${w.api}/ssf/streams?stream_id=${push}`, 'GET', token)).json.inactivity_timeout, undefined);
  w.clock.advance(3 * 86_400);
  const report = await runJanitor(w.store, w.clock, { ssfInactivityTimeoutSeconds: 86_400 });
  t.is(report.streamsDisabled, 1);
  t.is((await w.store.streams.find(push))!.status, 'enabled');
  t.is((await w.store.streams.find(polled))!.status, 'disabled');
});
