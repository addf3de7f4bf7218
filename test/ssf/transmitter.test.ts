/**
 * The Shared Signals transmitter (issue #12, step 2), black box: discovery (SSF 1.0 §7), stream management
 * (§8.1), poll delivery (RFC 8936) written from the RFC text with plain fetch, and the SETs (RFC 8417) decoded
 * and verified with jose against the issuer's published JWKS — never with the project's own code.
 */
import anyTest, { type TestFn } from 'ava';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import { openRuntime } from '../../src/boot.js';
import { endSession } from '../../src/sessions/control.js';
import { disableClient } from '../../src/clients/register.js';
import { disableUser, enableUser, setPassword } from '../../src/users/accounts.js';
import { API, confA, confB, startWorld, type World } from '../helpers/fixtures.js';
import { freshUser } from '../helpers/grants.js';
import { decodeJwt, postForm, send, type Reply } from '../helpers/http.js';

const test = anyTest as TestFn<World>;
// Every stream receives every event of the issuer: the tests that poll run one at a time (test.serial), so each
// sees only the events it caused.

const receiver = { id: 'rcv-1', secret: 'rcv-1-0123456789abcdef0123456789abcdef' } as const;
const receiver2 = { id: 'rcv-2', secret: 'rcv-2-0123456789abcdef0123456789abcdef' } as const;
const notReceiver = { id: 'svc-ssf', secret: 'svc-ssf-0123456789abcdef0123456789abcd' } as const;

const CAEP = 'https://schemas.openid.net/secevent/caep/event-type';
const SESSION_REVOKED = `${CAEP}/session-revoked`;
const CREDENTIAL_CHANGE = `${CAEP}/credential-change`;
const ACCOUNT_DISABLED = 'https://schemas.openid.net/secevent/risc/event-type/account-disabled';
const ACCOUNT_ENABLED = 'https://schemas.openid.net/secevent/risc/event-type/account-enabled';
const VERIFICATION = 'https://schemas.openid.net/secevent/ssf/event-type/verification';

test.before(async (t) => {
  // Long polls wait up to 55 s here: a poll that answers well before that was woken by its event.
  t.context = await startWorld({ env: { GATEHOUSE_SSF_POLL_WAIT_SECONDS: '55' } });
  const w = t.context;
  await w.createClient({ ...receiver, receiver: true });
  await w.createClient({ ...receiver2, receiver: true });
  await w.createClient({ ...notReceiver, grantTypes: ['client_credentials'], scope: 'read' });
  // A client that holds ssf.manage without being a receiver (data from before the rule, or a mistake).
  await w.db('clients').where({ id: notReceiver.id }).update({ scope: 'read ssf.manage ssf.read' });
});
test.after.always((t) => t.context?.close());

async function tokenFor(w: World, client: { id: string; secret: string }, scope?: string): Promise<string> {
  const reply = await postForm(`${w.api}/token`, { grant_type: 'client_credentials', ...(scope ? { scope } : {}) }, { auth: [client.id, client.secret] });
  if (reply.status !== 200) throw new Error(`token: ${reply.status} ${reply.text}`);
  return reply.json.access_token;
}

/** A JSON request with a Bearer token, as a receiver sends it. */
function call(url: string, method: string, token: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return send(url, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
}

async function configuration(w: World) {
  const reply = await send(`${w.url}/.well-known/ssf-configuration`);
  return reply.json;
}

async function createStream(w: World, token: string, body: Record<string, unknown> = { delivery: { method: 'urn:ietf:rfc:8936' } }) {
  const config = await configuration(w);
  const reply = await call(config.configuration_endpoint.replace(w.issuer, w.api), 'POST', token, body);
  if (reply.status !== 201) throw new Error(`create stream: ${reply.status} ${reply.text}`);
  return reply.json as { stream_id: string; delivery: { endpoint_url: string }; aud: string };
}

/** RFC 8936 §2.1: POST the poll endpoint with JSON. The endpoint_url names the issuer; requests go to its port. */
function pollAt(w: World, stream: { delivery: { endpoint_url: string } }, token: string, body: Record<string, unknown>): Promise<Reply> {
  return call(stream.delivery.endpoint_url.replace(w.issuer, w.api), 'POST', token, body);
}

async function jwks(w: World): Promise<JSONWebKeySet> {
  return (await send(`${w.api}/.well-known/jwks.json`)).json;
}

async function adminEnd(w: World, sid: string) {
  const reply = await send(`${w.url}/admin/sessions/${sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${await w.adminToken()}` } });
  if (reply.status !== 204) throw new Error(`admin end: ${reply.status}`);
}

async function loginSid(w: World, user: { username: string; password: string }) {
  const tokens = await w.login(user);
  return decodeJwt(tokens.access).payload.sid as string;
}

/** Waits for a condition by looking again, with a generous deadline; never a fixed sleep standing for it. */
async function until(condition: () => Promise<boolean>, what: string, deadlineMs = 30_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await condition())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

test('SSF-01 discovery at /.well-known/ssf-configuration: the endpoints, poll and push delivery, the JWKS', async (t) => {
  const w = t.context;
  const reply = await send(`${w.url}/.well-known/ssf-configuration`);
  t.is(reply.status, 200);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  t.like(reply.json, {
    spec_version: '1_0',
    issuer: w.issuer,
    jwks_uri: `${w.issuer}/.well-known/jwks.json`,
    delivery_methods_supported: ['urn:ietf:rfc:8936', 'urn:ietf:rfc:8935'],
    configuration_endpoint: `${w.issuer}/ssf/streams`,
    status_endpoint: `${w.issuer}/ssf/status`,
    verification_endpoint: `${w.issuer}/ssf/verify`,
    add_subject_endpoint: `${w.issuer}/ssf/subjects/add`,
    remove_subject_endpoint: `${w.issuer}/ssf/subjects/remove`,
  });
  t.true(reply.json.events_supported.includes(SESSION_REVOKED));
});

test('SSF-01 an issuer with a path: the well-known segment goes before the path (RFC 8615, as RFC 8414 §3.1)', async (t) => {
  const w = await startWorld({ env: { GATEHOUSE_ISSUER: 'http://localhost:1234/tenant' } });
  t.teardown(() => w.close());
  const reply = await send(`${w.url}/.well-known/ssf-configuration/tenant`);
  t.is(reply.status, 200);
  t.is(reply.json.issuer, 'http://localhost:1234/tenant');
  t.is(reply.json.configuration_endpoint, 'http://localhost:1234/tenant/ssf/streams');
  t.is((await send(`${w.url}/.well-known/ssf-configuration`)).status, 404);
  t.is((await send(`${w.url}/tenant/.well-known/ssf-configuration`)).status, 404);
});

test('with GATEHOUSE_SIGNING_ALG=RS256 (the CAEP interoperability profile) the SETs are RS256 and verify against the JWKS', async (t) => {
  const w = await startWorld({ env: { GATEHOUSE_SIGNING_ALG: 'RS256' } });
  t.teardown(() => w.close());
  await w.createClient({ ...receiver, receiver: true });
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token);
  t.is((await call(`${w.api}/ssf/verify`, 'POST', token, { stream_id: stream.stream_id, state: 'rs' })).status, 204);
  const [set] = Object.values((await pollAt(w, stream, token, { returnImmediately: true })).json.sets as Record<string, string>);
  const { protectedHeader } = await jwtVerify(set!, createLocalJWKSet(await jwks(w)), { issuer: w.issuer, audience: receiver.id, typ: 'secevent+jwt', algorithms: ['RS256'] });
  t.is(protectedHeader.alg, 'RS256');
});

test('a stream is created, read, listed, given a status and deleted by its receiver', async (t) => {
  const w = t.context;
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token, { delivery: { method: 'urn:ietf:rfc:8936' }, events_requested: [SESSION_REVOKED, 'urn:example:unknown'], description: 'api instance 1' });
  t.is(stream.aud, receiver.id);
  t.like(stream, { iss: w.issuer, events_requested: [SESSION_REVOKED, 'urn:example:unknown'], events_delivered: [SESSION_REVOKED], description: 'api instance 1' });
  t.is(stream.delivery.endpoint_url, `${w.issuer}/ssf/poll/${stream.stream_id}`);
  const url = `${w.api}/ssf/streams`;
  t.deepEqual((await call(`${url}?stream_id=${stream.stream_id}`, 'GET', token)).json, stream);
  t.true((await call(url, 'GET', token)).json.some((s: { stream_id: string }) => s.stream_id === stream.stream_id));
  const patched = await call(url, 'PATCH', token, { stream_id: stream.stream_id, events_requested: [SESSION_REVOKED, CREDENTIAL_CHANGE] });
  t.is(patched.status, 200);
  t.deepEqual(patched.json.events_delivered, [SESSION_REVOKED, CREDENTIAL_CHANGE]);
  t.is(patched.json.description, 'api instance 1', 'PATCH keeps what it does not name');
  const replaced = await call(url, 'PUT', token, { stream_id: stream.stream_id, events_requested: [CREDENTIAL_CHANGE] });
  t.is(replaced.json.description, undefined, 'PUT replaces');

  const status = `${w.api}/ssf/status`;
  t.deepEqual((await call(`${status}?stream_id=${stream.stream_id}`, 'GET', token)).json, { stream_id: stream.stream_id, status: 'enabled' });
  const paused = await call(status, 'POST', token, { stream_id: stream.stream_id, status: 'paused', reason: 'maintenance' });
  t.deepEqual(paused.json, { stream_id: stream.stream_id, status: 'paused', reason: 'maintenance' });

  t.is((await call(`${url}?stream_id=${stream.stream_id}`, 'DELETE', token)).status, 204);
  t.is((await call(`${url}?stream_id=${stream.stream_id}`, 'GET', token)).status, 404);
  t.is((await call(`${url}?stream_id=${stream.stream_id}`, 'DELETE', token)).status, 404);
});

test.serial('SSF-02 an admin-ended session becomes one SET: typ secevent+jwt, verified against /jwks, the claims RFC 8417 and SSF require', async (t) => {
  const w = t.context;
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token);
  const user = await freshUser(w);
  const sid = await loginSid(w, user);
  await adminEnd(w, sid);
  const reply = await pollAt(w, stream, token, { returnImmediately: true });
  t.is(reply.status, 200);
  t.regex(reply.headers.get('content-type') ?? '', /^application\/json/);
  t.regex(reply.headers.get('cache-control') ?? '', /no-store/);
  const entries = Object.entries(reply.json.sets as Record<string, string>);
  t.is(entries.length, 1);
  const [jti, set] = entries[0]!;
  t.is(decodeProtectedHeader(set).typ, 'secevent+jwt');
  const { payload, protectedHeader } = await jwtVerify(set, createLocalJWKSet(await jwks(w)), { issuer: w.issuer, audience: receiver.id, typ: 'secevent+jwt' });
  t.is(typeof protectedHeader.kid, 'string');
  t.is(payload.jti, jti);
  t.is(typeof payload.iat, 'number');
  t.is(typeof payload.txn, 'string');
  t.false('sub' in payload, 'no sub (SSF 1.0 §4.1.7)');
  t.false('exp' in payload, 'no exp (SSF 1.0 §4.1.9)');
  t.like(payload.sub_id as object, { format: 'complex', session: { format: 'opaque', id: sid }, user: { format: 'iss_sub', iss: w.issuer, sub: user.id } });
  const events = payload.events as Record<string, any>;
  t.deepEqual(Object.keys(events), [SESSION_REVOKED], 'one event per SET');
  t.is(events[SESSION_REVOKED].initiating_entity, 'admin');
  t.is(typeof events[SESSION_REVOKED].event_timestamp, 'number');
  t.is(typeof events[SESSION_REVOKED].reason_admin.en, 'string');
});

test.serial('SSF-04 RFC 8936 poll and ack: unacknowledged SETs come again, acknowledged ones never; maxEvents and moreAvailable', async (t) => {
  const w = t.context;
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token);
  const user = await freshUser(w);
  await adminEnd(w, await loginSid(w, user));
  await adminEnd(w, await loginSid(w, user));

  // §2.1: maxEvents bounds the SETs; §2.2: moreAvailable says there are others.
  const first = await pollAt(w, stream, token, { maxEvents: 1, returnImmediately: true });
  t.is(Object.keys(first.json.sets).length, 1);
  t.true(first.json.moreAvailable);
  const [firstJti] = Object.keys(first.json.sets);

  // Not acknowledged: sent again.
  const again = await pollAt(w, stream, token, { maxEvents: 10, returnImmediately: true });
  t.is(Object.keys(again.json.sets).length, 2);
  t.true(firstJti! in again.json.sets);
  t.false(again.json.moreAvailable);

  // §2.1 ack (and setErrs, which also settles a SET): then nothing is left.
  const [secondJti] = Object.keys(again.json.sets).filter((jti) => jti !== firstJti);
  const acked = await pollAt(w, stream, token, {
    ack: [firstJti],
    setErrs: { [secondJti!]: { err: 'invalid_request', description: 'not understood' } },
    returnImmediately: true,
  });
  t.is(acked.status, 200);
  t.deepEqual(acked.json, { sets: {}, moreAvailable: false });
  t.deepEqual((await pollAt(w, stream, token, { returnImmediately: true })).json, { sets: {}, moreAvailable: false });
  // Acknowledging what is not (or no longer) pending is harmless.
  t.is((await pollAt(w, stream, token, { ack: [firstJti, 'nonsense', `${stream.stream_id}.99999999`], returnImmediately: true })).status, 200);
});

test.serial('long polling: a poll with returnImmediately=false answers as soon as an admin ends a session', async (t) => {
  const w = t.context;
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token);
  const user = await freshUser(w);
  const sid = await loginSid(w, user);
  const started = Date.now();
  const polling = pollAt(w, stream, token, { returnImmediately: false });
  // The poll has looked at its stream (and found nothing) once polled_at is set: it is waiting now.
  await until(async () => (await w.db('ssf_streams').where({ id: stream.stream_id }).first()).polled_at !== null, 'the poll to start waiting');
  await adminEnd(w, sid);
  const reply = await polling;
  const elapsedMs = Date.now() - started;
  t.is(reply.status, 200);
  const sets = Object.values(reply.json.sets as Record<string, string>);
  t.is(sets.length, 1);
  t.is(decodeJwt(sets[0]!).payload.sub_id.session.id, sid);
  t.true(elapsedMs < 20_000, `answered after ${elapsedMs} ms, far below the 55 s wait`);
});

test.serial('long polling: an event committed by another instance (the CLI) wakes the poll: NOTIFY on PostgreSQL, the table poll on SQLite', async (t) => {
  const w = t.context;
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token);
  const user = await freshUser(w);
  const sid = await loginSid(w, user);
  const other = await openRuntime(w.config);
  t.teardown(() => other.close());
  const started = Date.now();
  const polling = pollAt(w, stream, token, {});
  await until(async () => (await w.db('ssf_streams').where({ id: stream.stream_id }).first()).polled_at !== null, 'the poll to start waiting');
  await endSession(other.store, sid, w.clock.now(), 'cli');
  const reply = await polling;
  t.is(Object.keys(reply.json.sets).length, 1);
  t.true(Date.now() - started < 20_000);
});

test.serial('long polling: 20 polls of one stream at once hold no lock or connection while they wait, all wake on one event, and one ack settles it', async (t) => {
  const w = t.context;
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token);
  const user = await freshUser(w);
  const sid = await loginSid(w, user);
  const started = Date.now();
  const polls = Array.from({ length: 20 }, () => pollAt(w, stream, token, { returnImmediately: false }));
  await until(async () => (await w.db('ssf_streams').where({ id: stream.stream_id }).first()).polled_at !== null, 'the polls to start waiting');
  // While they wait, the issuer answers everything else: logins, introspection, another stream's management.
  const busy = await Promise.all([w.login(user), tokenFor(w, receiver2), w.introspect((await w.login(user)).access)]);
  t.is((busy[2] as Reply).json.active, true);
  t.true(Date.now() - started < 20_000, 'the waiting polls held up no other request');
  await adminEnd(w, sid);
  const replies = await Promise.all(polls);
  t.true(Date.now() - started < 30_000, `answered after ${Date.now() - started} ms, far below the 55 s wait`);
  // Nothing was acknowledged yet, so each poll carries the SET (RFC 8936 §2.4: unacknowledged SETs come again).
  const jtis = replies.map((reply) => {
    t.is(reply.status, 200);
    return Object.keys(reply.json.sets as Record<string, string>);
  });
  const first = jtis[0]![0]!;
  t.true(jtis.every((keys) => keys.length === 1 && keys[0] === first), 'every poll got the one SET');
  const acked = await pollAt(w, stream, token, { returnImmediately: true, ack: [first] });
  t.deepEqual(acked.json.sets, {}, 'acknowledged by one poll: no poll gets it again');
  t.deepEqual((await pollAt(w, stream, token, { returnImmediately: true })).json.sets, {});
});

test.serial('every stream gets every event, with a cursor and acknowledgements of its own', async (t) => {
  const w = t.context;
  const one = await tokenFor(w, receiver);
  const two = await tokenFor(w, receiver2);
  const streamA = await createStream(w, one);
  const streamB = await createStream(w, one);
  const streamC = await createStream(w, two);
  const user = await freshUser(w);
  await setPassword(w.store, w.deps.passwords, user.username, 'a-new-password-1', w.clock.now());
  const jtis: string[] = [];
  for (const [stream, token] of [[streamA, one], [streamB, one], [streamC, two]] as const) {
    const reply = await pollAt(w, stream, token, { returnImmediately: true });
    const sets = Object.entries(reply.json.sets as Record<string, string>);
    t.is(sets.length, 1);
    const { payload } = await jwtVerify(sets[0]![1], createLocalJWKSet(await jwks(w)), { issuer: w.issuer, audience: stream.aud, typ: 'secevent+jwt' });
    t.deepEqual(Object.keys(payload.events as object), [CREDENTIAL_CHANGE]);
    t.like((payload.events as any)[CREDENTIAL_CHANGE], { credential_type: 'password', change_type: 'update' });
    t.deepEqual(payload.sub_id, { format: 'iss_sub', iss: w.issuer, sub: user.id });
    jtis.push(sets[0]![0]);
    await pollAt(w, stream, token, { ack: [sets[0]![0]], returnImmediately: true });
  }
  t.is(new Set(jtis).size, 3, 'one SET per stream, each with its own jti');
  // Acknowledging on one stream leaves the others alone, and another receiver's stream is not there for it.
  t.is((await pollAt(w, streamC, one, { returnImmediately: true })).status, 404);
});

test.serial('events_requested filters; a paused stream holds events and an enabled one delivers them; a disabled one drops them', async (t) => {
  const w = t.context;
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token, { events_requested: [ACCOUNT_DISABLED] });
  const status = (value: string) => call(`${w.api}/ssf/status`, 'POST', token, { stream_id: stream.stream_id, status: value });
  const user = await freshUser(w);
  await adminEnd(w, await loginSid(w, user)); // session-revoked: not requested
  t.is((await status('paused')).status, 200);
  await disableUser(w.store, user.username, w.clock.now());
  t.deepEqual((await pollAt(w, stream, token, { returnImmediately: true })).json, { sets: {}, moreAvailable: false }, 'held while paused');
  t.is((await status('enabled')).status, 200);
  const reply = await pollAt(w, stream, token, { returnImmediately: true });
  const types = Object.values(reply.json.sets as Record<string, string>).map((set) => Object.keys(decodeJwt(set).payload.events)[0]);
  t.true(types.includes(ACCOUNT_DISABLED));
  t.false(types.includes(SESSION_REVOKED));
  t.is((await status('disabled')).status, 200);
  const other = await freshUser(w);
  await disableUser(w.store, other.username, w.clock.now());
  t.is((await status('enabled')).status, 200);
  const after = await pollAt(w, stream, token, { returnImmediately: true });
  const subjects = Object.values(after.json.sets as Record<string, string>).map((set) => decodeJwt(set).payload.sub_id.sub);
  t.false(subjects.includes(other.id), 'what happened while disabled is not delivered');
});

test.serial('the issuer\'s own event types: token-revoked (with jti), client-disabled, key-revoked; and RISC account-enabled', async (t) => {
  const w = t.context;
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token);
  const user = await freshUser(w);
  const login = await w.login(user);
  const claims = decodeJwt(login.access).payload;
  t.is((await w.revoke(login.access)).status, 200);
  const service = await postForm(`${w.api}/token`, { grant_type: 'client_credentials' }, { auth: [confB.id, confB.secret] });
  t.is((await w.revoke(service.json.access_token, confB)).status, 200);
  const doomed = { id: 'ssf-doomed', secret: 'ssf-doomed-0123456789abcdef0123456789ab' };
  await w.createClient({ ...doomed, grantTypes: ['client_credentials'], scope: 'read', audiences: [API] });
  await disableClient(w.store, doomed.id, w.clock.now());
  const kid = w.keys.ring.records.find((record) => record.state === 'next')?.kid;
  t.truthy(kid);
  t.true(await w.keys.revoke(kid!));
  await disableUser(w.store, user.username, w.clock.now());
  await enableUser(w.store, user.username, w.clock.now());

  const reply = await pollAt(w, stream, token, { returnImmediately: true });
  const keySet = createLocalJWKSet(await jwks(w));
  const received = [];
  for (const set of Object.values(reply.json.sets as Record<string, string>)) {
    const { payload } = await jwtVerify(set, keySet, { issuer: w.issuer, audience: receiver.id, typ: 'secevent+jwt' });
    const [type] = Object.keys(payload.events as object);
    received.push({ type, sub_id: payload.sub_id, event: (payload.events as any)[type!] });
  }
  const own = (name: string) => `${w.issuer}/ssf/event-type/${name}`;
  t.deepEqual(received.map((r) => r.type), [own('token-revoked'), own('token-revoked'), own('client-disabled'), own('key-revoked'), ACCOUNT_DISABLED, ACCOUNT_ENABLED]);
  t.deepEqual(received[0]!.sub_id, {
    format: 'complex',
    user: { format: 'iss_sub', iss: w.issuer, sub: user.id },
    session: { format: 'opaque', id: claims.sid },
    application: { format: 'opaque', id: confA.id },
  });
  t.is(received[0]!.event.jti, claims.jti);
  t.deepEqual(received[1]!.sub_id, { format: 'complex', application: { format: 'opaque', id: confB.id } });
  t.is(received[1]!.event.jti, decodeJwt(service.json.access_token).payload.jti);
  t.deepEqual(received[2]!.sub_id, { format: 'opaque', id: doomed.id });
  t.deepEqual(received[3]!.sub_id, { format: 'opaque', id: kid });
  t.is(received[3]!.event.kid, kid);
  t.deepEqual(received[5]!.sub_id, { format: 'iss_sub', iss: w.issuer, sub: user.id });
  for (const { event } of received) t.is(typeof event.reason_admin?.en, 'string');
  const metadata = await configuration(w);
  for (const { type } of received) t.true(metadata.events_supported.includes(type), `${type} is listed in events_supported`);
});

test.serial('subjects (SSF 1.0 §8.1.3): a removed user gets no more events on that stream, other users and streams do; added back, it does again', async (t) => {
  const w = t.context;
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token);
  const other = await createStream(w, token);
  const quiet = await freshUser(w);
  const loud = await freshUser(w);
  const removed = await call(`${w.api}/ssf/subjects/remove`, 'POST', token, { stream_id: stream.stream_id, subject: { format: 'iss_sub', iss: w.issuer, sub: quiet.id } });
  t.is(removed.status, 204);
  // A session of the other user, removed as a complex subject with a session member, is filtered as well.
  const loudSid = await loginSid(w, loud);
  t.is((await call(`${w.api}/ssf/subjects/remove`, 'POST', token, { stream_id: stream.stream_id, subject: { format: 'complex', session: { format: 'opaque', id: loudSid } } })).status, 204);
  await adminEnd(w, await loginSid(w, quiet));
  await adminEnd(w, loudSid);
  await adminEnd(w, await loginSid(w, loud));
  const subjectsOf = async (s: typeof stream) => {
    const reply = await pollAt(w, s, token, { returnImmediately: true });
    await pollAt(w, s, token, { ack: Object.keys(reply.json.sets), returnImmediately: true });
    return Object.values(reply.json.sets as Record<string, string>).map((set) => decodeJwt(set).payload.sub_id);
  };
  const filtered = await subjectsOf(stream);
  t.is(filtered.length, 1, 'only the session of the loud user that was not removed');
  t.is(filtered[0].user.sub, loud.id);
  t.not(filtered[0].session.id, loudSid);
  t.is((await subjectsOf(other)).length, 3, 'another stream of the same receiver is not filtered');

  const added = await call(`${w.api}/ssf/subjects/add`, 'POST', token, { stream_id: stream.stream_id, subject: { format: 'iss_sub', iss: w.issuer, sub: quiet.id }, verified: true });
  t.is(added.status, 200);
  t.is(added.text, '');
  await adminEnd(w, await loginSid(w, quiet));
  t.deepEqual((await subjectsOf(stream)).map((subject) => subject.user.sub), [quiet.id]);
  // A subject that names nobody is answered the same: nothing is revealed about who exists.
  t.is((await call(`${w.api}/ssf/subjects/remove`, 'POST', token, { stream_id: stream.stream_id, subject: { format: 'iss_sub', iss: w.issuer, sub: 'nobody' } })).status, 204);
});

test.serial('verification (SSF 1.0 §8.1.4.2): the state comes back in a verification SET about the stream', async (t) => {
  const w = t.context;
  const token = await tokenFor(w, receiver);
  const stream = await createStream(w, token);
  t.is((await call(`${w.api}/ssf/verify`, 'POST', token, { stream_id: stream.stream_id, state: 'VGhpcyBpcyBhbiBleGFtcGxl' })).status, 204);
  const reply = await pollAt(w, stream, token, {});
  const sets = Object.values(reply.json.sets as Record<string, string>);
  t.is(sets.length, 1);
  const { payload } = await jwtVerify(sets[0]!, createLocalJWKSet(await jwks(w)), { issuer: w.issuer, audience: receiver.id, typ: 'secevent+jwt' });
  t.deepEqual(payload.sub_id, { format: 'opaque', id: stream.stream_id });
  t.deepEqual(payload.events, { [VERIFICATION]: { state: 'VGhpcyBpcyBhbiBleGFtcGxl' } });
});

test('no token, a token without the scope, a client that is not a receiver: 401/403 with OAuth error bodies', async (t) => {
  const w = t.context;
  const url = `${w.api}/ssf/streams`;
  const body = { delivery: { method: 'urn:ietf:rfc:8936' } };
  const none = await call(url, 'POST', undefined, body);
  t.is(none.status, 401);
  t.regex(none.headers.get('www-authenticate') ?? '', /^Bearer realm="/);
  t.is(none.json.error, 'unauthorized');

  const readOnly = await tokenFor(w, receiver, 'ssf.read');
  const refused = await call(url, 'POST', readOnly, body);
  t.is(refused.status, 403);
  t.is(refused.json.error, 'insufficient_scope');
  t.is((await call(url, 'GET', readOnly)).status, 200, 'ssf.read reads');

  const adminToken = await w.adminToken();
  t.is((await call(url, 'POST', adminToken, body)).json.error, 'insufficient_scope');

  const impostor = await call(url, 'POST', await tokenFor(w, notReceiver), body);
  t.is(impostor.status, 403);
  t.is(impostor.json.error, 'access_denied');

  const garbage = await call(url, 'GET', 'not.a.token');
  t.is(garbage.status, 401);
  t.is(garbage.json.error, 'invalid_token');
});

test('hostile input gets a 4xx and changes nothing: oversized, malformed, wrong types, unknown streams, push delivery', async (t) => {
  const w = t.context;
  // receiver2: no other test that runs at the same time creates its streams, so their count is this test's.
  const token = await tokenFor(w, receiver2);
  const stream = await createStream(w, token);
  const streams = `${w.api}/ssf/streams`;
  const poll = `${w.api}/ssf/poll/${stream.stream_id}`;
  const before = (await call(streams, 'GET', token)).json.length;
  const cases: Array<[string, Promise<Reply>, number]> = [
    ['oversized', call(streams, 'POST', token, JSON.stringify({ description: 'x'.repeat(20_000) })), 413],
    ['malformed JSON', call(streams, 'POST', token, '{"delivery":'), 400],
    ['invalid UTF-8', send(streams, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0xff, 0x7d]) }), 400],
    ['an array', call(streams, 'POST', token, '[]'), 400],
    ['not JSON', call(streams, 'POST', token, undefined, { 'content-type': 'text/plain' }), 400],
    ['push delivery', call(streams, 'POST', token, { delivery: { method: 'urn:ietf:rfc:8935', endpoint_url: 'http://169.254.169.254/' } }), 400],
    ['events_requested not an array', call(streams, 'POST', token, { events_requested: 'all' }), 400],
    ['stream_id chosen by the receiver', call(streams, 'POST', token, { stream_id: 'mine' }), 400],
    ['unknown stream (GET)', call(`${streams}?stream_id=nope`, 'GET', token), 404],
    ['NUL in stream_id', call(`${streams}?stream_id=%00`, 'GET', token), 404],
    ['repeated stream_id', call(`${streams}?stream_id=a&stream_id=b`, 'GET', token), 400],
    ['unknown stream (DELETE)', call(`${streams}?stream_id=nope`, 'DELETE', token), 404],
    ['DELETE without stream_id', call(streams, 'DELETE', token), 400],
    ['unknown stream (PATCH)', call(streams, 'PATCH', token, { stream_id: 'nope' }), 404],
    ['stream_id a number', call(streams, 'PATCH', token, { stream_id: 7 }), 400],
    ['unknown stream (status)', call(`${w.api}/ssf/status?stream_id=nope`, 'GET', token), 404],
    ['bogus status', call(`${w.api}/ssf/status`, 'POST', token, { stream_id: stream.stream_id, status: 'on' }), 400],
    ['verify an unknown stream', call(`${w.api}/ssf/verify`, 'POST', token, { stream_id: 'nope' }), 404],
    ['verify with a state object', call(`${w.api}/ssf/verify`, 'POST', token, { stream_id: stream.stream_id, state: {} }), 400],
    ['poll an unknown stream', call(`${w.api}/ssf/poll/nope`, 'POST', token, { returnImmediately: true }), 404],
    ['poll with NUL', call(`${w.api}/ssf/poll/%00`, 'POST', token, { returnImmediately: true }), 404],
    ['maxEvents negative', call(poll, 'POST', token, { maxEvents: -1 }), 400],
    ['maxEvents a string', call(poll, 'POST', token, { maxEvents: '5' }), 400],
    ['returnImmediately a string', call(poll, 'POST', token, { returnImmediately: 'yes' }), 400],
    ['ack not an array', call(poll, 'POST', token, { ack: 'x' }), 400],
    ['ack of numbers', call(poll, 'POST', token, { ack: [1, 2] }), 400],
    ['setErrs without err', call(poll, 'POST', token, { setErrs: { x: {} } }), 400],
    ['subject of another issuer', call(`${w.api}/ssf/subjects/remove`, 'POST', token, { stream_id: stream.stream_id, subject: { format: 'iss_sub', iss: 'https://evil.example', sub: 'x' } }), 400],
    ['subject as email', call(`${w.api}/ssf/subjects/add`, 'POST', token, { stream_id: stream.stream_id, subject: { format: 'email', email: 'a@b.c' } }), 400],
    ['complex subject with two members', call(`${w.api}/ssf/subjects/remove`, 'POST', token, { stream_id: stream.stream_id, subject: { format: 'complex', user: { format: 'iss_sub', iss: w.issuer, sub: 'x' }, session: { format: 'opaque', id: 's' } } }), 400],
    ['subject not an object', call(`${w.api}/ssf/subjects/remove`, 'POST', token, { stream_id: stream.stream_id, subject: 'alice' }), 400],
    ['subject on an unknown stream', call(`${w.api}/ssf/subjects/remove`, 'POST', token, { stream_id: 'nope', subject: { format: 'iss_sub', iss: w.issuer, sub: 'x' } }), 404],
    ['poll with a query', call(`${poll}?maxEvents=1`, 'POST', token, { returnImmediately: true }), 400],
  ];
  for (const [what, pending, status] of cases) {
    const reply = await pending;
    t.is(reply.status, status, `${what}: ${reply.status} ${reply.text}`);
    t.regex(reply.headers.get('content-type') ?? '', /^application\/json/, what);
    t.is(typeof reply.json?.error, 'string', what);
  }
  t.is((await call(streams, 'GET', token)).json.length, before, 'no stream was created');
  t.is((await call(`${streams}?stream_id=${stream.stream_id}`, 'GET', token)).status, 200, 'the stream is untouched');
});
