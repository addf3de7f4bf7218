/**
 * Event mode (issue #12): the middleware as a Shared Signals receiver. Black box: a real issuer behind the
 * counting proxy, the notes API with `events` on a free port. What is counted is what reaches the issuer
 * (POST /introspect, the long polls); what is asserted is what a client of the API sees.
 *
 * The issuer's long poll waits POLL_WAIT seconds here, so a poll that answers sooner was woken by an event: a
 * token refused well within POLL_WAIT of the change was refused because of the event, not of a timeout.
 */
import test from 'ava';
import { SignJWT, generateKeyPair } from 'jose';
import { disableClient } from '../../src/clients/register.js';
import { ssfConfigurationUrl } from '../../src/resource-server/transmitter-api.js';
import { silentLogger } from '../../src/lib/log.js';
import { createResourceServer } from '../../src/resource-server/index.js';
import { disableUser, setPassword } from '../../src/users/accounts.js';
import { startExampleApi } from '../../scripts/example-api.js';
import { decodeJwt, send } from '../helpers/http.js';
import { NOTES_API, notesApp, notesEvents, notesRs, startNotesWorld, type NotesWorld, type NotesWorldOptions } from '../helpers/notes.js';

const POLL_WAIT = 20;
/** How soon after the change the token must be refused: well within the bound (POLL_WAIT + margin). */
const PROMPT_MS = 8000;

const introspections = (notes: NotesWorld) => notes.proxy.count('POST', '/introspect');
const polls = (notes: NotesWorld) => notes.proxy.seen.filter((seen) => seen.method === 'POST' && seen.path.startsWith('/ssf/poll/')).length;
const pollPath = (notes: NotesWorld) => [...notes.proxy.seen].reverse().find((seen) => seen.path.startsWith('/ssf/poll/'))!.path;

/** Waits for a condition by looking again, with a generous deadline; never a fixed sleep standing for it. */
async function until(condition: () => boolean | Promise<boolean>, what: string, deadlineMs = 30_000): Promise<number> {
  const start = Date.now();
  while (!(await condition())) {
    if (Date.now() - start > deadlineMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return Date.now() - start;
}

async function eventWorld(t: { teardown(fn: () => Promise<void>): void }, events: Partial<NonNullable<NotesWorldOptions['events']>> = {}): Promise<NotesWorld> {
  const notes = await startNotesWorld({ events: { pollWaitSeconds: POLL_WAIT, retryDelayMs: 100, ...events } });
  t.teardown(() => notes.close());
  await until(() => notes.api.resourceServer.eventStreamCurrent(), 'the event stream to be current');
  return notes;
}

/** Another instance of the notes API in event mode, on the same issuer: a stream of its own. */
async function secondApi(notes: NotesWorld, t: { teardown(fn: () => Promise<void>): void }) {
  const api = await startExampleApi({
    issuer: notes.issuer,
    clientId: notesRs.id,
    clientSecret: notesRs.secret,
    audience: NOTES_API,
    clock: notes.world.clock,
    log: silentLogger,
    timeoutMs: 20_000,
    events: { clientId: notesEvents.id, clientSecret: notesEvents.secret, pollWaitSeconds: POLL_WAIT, retryDelayMs: 100 },
  });
  t.teardown(() => api.close());
  return api;
}

/** A logged-in user whose token the API has accepted once and now answers from its cache. */
async function cachedToken(notes: NotesWorld, t: { is(a: unknown, b: unknown, m?: string): void }) {
  const user = await notes.newUser();
  const { access } = await notes.login(user);
  const before = introspections(notes);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is(introspections(notes) - before, 1, 'introspected once, then answered from the cache');
  return { user, access, sid: decodeJwt(access).payload.sid as string, jti: decodeJwt(access).payload.jti as string };
}

/** Calls the API until it refuses the token; returns how long that took. Never a 200 after the first 401. */
async function refusedWithin(notes: NotesWorld, access: string): Promise<number> {
  const elapsed = await until(async () => (await notes.notes('GET', access)).status === 401, 'the API to refuse the token');
  for (let i = 0; i < 3; i++) if ((await notes.notes('GET', access)).status !== 401) throw new Error('accepted again after a 401');
  return elapsed;
}

test.serial('a token is introspected once, then served from the cache until an event; the stream is the API instance\'s own', async (t) => {
  const notes = await eventWorld(t);
  const { access } = await cachedToken(notes, t);
  const before = introspections(notes);
  const replies = await Promise.all(Array.from({ length: 20 }, () => notes.notes('GET', access)));
  t.true(replies.every((reply) => reply.status === 200));
  t.is(introspections(notes), before, 'never an introspection for a token already accepted');
  t.is(notes.proxy.count('POST', '/ssf/streams'), 1);
  t.is(notes.proxy.count('POST', '/ssf/verify'), 1, 'a verification event was asked for at start');
  // Refusals are never cached: a bad token is asked about each time.
  t.is((await notes.notes('GET', 'not-a-token')).status, 401);
  t.is((await notes.notes('GET', 'not-a-token')).status, 401);
  t.is(introspections(notes), before + 2);
});

const changes: Array<[string, (notes: NotesWorld, token: { user: { username: string; password: string }; access: string; sid: string }) => Promise<void>]> = [
  [
    'an administrator ends the session',
    async (notes, { sid }) => {
      const reply = await send(`${notes.world.api}/admin/sessions/${sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${await notes.world.adminToken()}` } });
      if (reply.status !== 204) throw new Error(`admin end: ${reply.status}`);
    },
  ],
  ['an administrator ends every session of the user', async (notes, { user }) => notes.endSessions(user.username)],
  ['the password changes', async (notes, { user }) => void (await setPassword(notes.world.store, notes.world.deps.passwords, user.username, 'another-password-1', notes.world.clock.now()))],
  ['the user is disabled', async (notes, { user }) => void (await disableUser(notes.world.store, user.username, notes.world.clock.now()))],
  ['the client is disabled', async (notes) => disableClient(notes.world.store, notesApp.id, notes.world.clock.now())],
  [
    'the access token is revoked',
    async (notes, { access }) => {
      const reply = await notes.world.revoke(access, notesApp, { token_type_hint: 'access_token' });
      if (reply.status !== 200) throw new Error(`revoke: ${reply.status}`);
    },
  ],
  [
    'the signing key is revoked',
    async (notes, { access }) => {
      if (!(await notes.world.keys.revoke(decodeJwt(access).header.kid as string))) throw new Error('key not revoked');
    },
  ],
];

for (const [what, change] of changes) {
  test.serial(`${what}: the next call is 401 promptly (well within the staleness bound), after one introspection`, async (t) => {
    const notes = await eventWorld(t);
    const token = await cachedToken(notes, t);
    const other = await cachedToken(notes, t);
    const before = introspections(notes);
    const started = Date.now();
    await change(notes, token);
    const changedAfter = Date.now() - started;
    const elapsed = await refusedWithin(notes, token.access);
    t.true(elapsed < PROMPT_MS, `refused ${elapsed} ms after the change was committed (${changedAfter} ms to commit it)`);
    t.true(introspections(notes) > before, 'the refusal came from the issuer: the cached entry was evicted');
    const reply = await notes.notes('GET', token.access);
    t.is(reply.headers.get('www-authenticate'), 'Bearer realm="api", error="invalid_token"');
    if (what === 'an administrator ends the session' || what === 'the access token is revoked') {
      // Isolation (ADM-02): another user's token is still answered from the cache.
      const count = introspections(notes);
      t.is((await notes.notes('GET', other.access)).status, 200);
      t.is(introspections(notes), count, 'the other token was not evicted');
    }
  });
}

test.serial('a revoked signing key evicts exactly the tokens it signed: one signed by the next key stays cached and the stream stays current', async (t) => {
  const notes = await eventWorld(t);
  const old = await notes.login(await notes.newUser());
  const oldKid = decodeJwt(old.access).header.kid as string;
  // The next key signs from now on. An API instance started now holds a stream token of the next key, so
  // revoking the old one cannot end its stream: whatever it refuses, it refuses because of the key-revoked event.
  await notes.world.keys.rotate('now');
  const second = await secondApi(notes, t);
  await until(() => second.resourceServer.eventStreamCurrent(), 'the second instance to be current');
  const fresh = await notes.login(await notes.newUser());
  t.not(decodeJwt(fresh.access).header.kid, oldKid);
  const call = (access: string) => send(`${second.url}/notes`, { headers: { authorization: `Bearer ${access}` } });
  for (const access of [old.access, fresh.access]) t.is((await call(access)).status, 200);
  const cached = introspections(notes);
  for (const access of [old.access, fresh.access]) t.is((await call(access)).status, 200);
  t.is(introspections(notes), cached, 'both answered from the cache');

  const pollsBefore = polls(notes);
  t.true(await notes.world.keys.revoke(oldKid));
  const elapsed = await until(async () => (await call(old.access)).status === 401, 'the old key\'s token to be refused');
  t.true(elapsed < PROMPT_MS, `refused ${elapsed} ms after the revocation`);
  t.true(polls(notes) > pollsBefore, 'the event came by the stream');
  t.true(second.resourceServer.eventStreamCurrent(), 'the stream never stopped being current');
  const count = introspections(notes);
  t.is((await call(fresh.access)).status, 200);
  t.is(introspections(notes), count, 'the next key\'s token was not evicted: still answered from the cache');
});

test.serial('a token of a revoked key is never cached again, even while an issuer still answers "active" for it (its key ring lags)', async (t) => {
  const notes = await eventWorld(t);
  // What the issuer answered for the token while its key was good.
  let active: string | undefined;
  notes.proxy.rewrite = (path, body) => {
    if (path === '/introspect' && JSON.parse(body).active === true) active = body;
    return undefined;
  };
  // A key of its own for the token: the receiver's token, signed by the first key, stays good (its refusal would
  // empty the cache and hide what is tested here).
  await notes.world.keys.rotate('now');
  const token = await cachedToken(notes, t);
  const pollsBefore = polls(notes);
  if (!(await notes.world.keys.revoke(decodeJwt(token.access).header.kid as string))) throw new Error('key not revoked');
  await until(() => polls(notes) > pollsBefore, 'the event to be processed');
  // An instance that has not re-read its key ring yet (a revocation by the CLI reaches it within seconds): it
  // still answers "active", after the event was applied. That answer must not be kept.
  notes.proxy.rewrite = (path) => (path === '/introspect' ? active : undefined);
  const before = introspections(notes);
  t.is((await notes.notes('GET', token.access)).status, 200, 'the lagging issuer said active');
  t.is((await notes.notes('GET', token.access)).status, 200);
  t.is(introspections(notes) - before, 2, 'asked each time: not cached');
  notes.proxy.rewrite = undefined;
  t.is((await notes.notes('GET', token.access)).status, 401, 'refused once the issuer knows');
});

test.serial('the race: an introspection answer in flight when an event arrives is not cached', async (t) => {
  const notes = await eventWorld(t);
  const user = await notes.newUser();
  const { access } = await notes.login(user);
  // The issuer answers "active" at once, but the answer is held on its way back to the API.
  notes.proxy.rule = { path: '/introspect', action: 'holdAnswer' };
  const first = notes.notes('GET', access);
  await notes.proxy.waitForHeld(1, 20_000);
  const pollsBefore = polls(notes);
  await notes.endSessions(user.username);
  // The receiver asks again only after it processed the answer that carried the event (its ack goes with it).
  await until(() => polls(notes) > pollsBefore, 'the event to be processed');
  notes.proxy.rule = undefined;
  await notes.proxy.release();
  t.is((await first).status, 200, 'the answer was the issuer\'s, from before the end');
  const before = introspections(notes);
  t.is((await notes.notes('GET', access)).status, 401, 'not served from the cache');
  t.is(introspections(notes), before + 1);
});

test.serial('an event about someone else while an introspection is in flight does not keep that answer out of the cache', async (t) => {
  const notes = await eventWorld(t);
  const user = await notes.newUser();
  const bystander = await notes.newUser();
  const { access } = await notes.login(user);
  await notes.login(bystander);
  notes.proxy.rule = { path: '/introspect', action: 'holdAnswer' };
  const first = notes.notes('GET', access);
  await notes.proxy.waitForHeld(1, 20_000);
  const pollsBefore = polls(notes);
  await notes.endSessions(bystander.username);
  await until(() => polls(notes) > pollsBefore, 'the event to be processed');
  notes.proxy.rule = undefined;
  await notes.proxy.release();
  t.is((await first).status, 200);
  const before = introspections(notes);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is(introspections(notes), before, 'cached: the event evicted nothing of this token');
});

test.serial('fail closed at start: until its verification event is back, a second API instance introspects every request; then it has a stream of its own', async (t) => {
  const notes = await eventWorld(t);
  const { access } = await cachedToken(notes, t);
  notes.proxy.rule = { path: '/ssf/verify', action: 'hold' };
  const second = await secondApi(notes, t);
  await notes.proxy.waitForHeld(1, 20_000);
  const before = introspections(notes);
  for (let i = 0; i < 3; i++) t.is((await send(`${second.url}/notes`, { headers: { authorization: `Bearer ${access}` } })).status, 200);
  t.is(introspections(notes), before + 3, 'not current yet: every request introspected');
  t.false(second.resourceServer.eventStreamCurrent());
  notes.proxy.rule = undefined;
  await notes.proxy.release();
  await until(() => second.resourceServer.eventStreamCurrent(), 'the second instance to be current');
  t.is(notes.proxy.count('POST', '/ssf/streams'), 2, 'one stream per API instance');
  const count = introspections(notes);
  for (let i = 0; i < 3; i++) t.is((await send(`${second.url}/notes`, { headers: { authorization: `Bearer ${access}` } })).status, 200);
  t.is(introspections(notes), count + 1);
});

test.serial('fail closed: the issuer unreachable — 503 for every request, never a cached 200', async (t) => {
  const notes = await eventWorld(t);
  const { access } = await cachedToken(notes, t);
  await notes.proxy.close();
  await until(async () => (await notes.notes('GET', access)).status === 503, 'a 503');
  for (let i = 0; i < 5; i++) t.is((await notes.notes('GET', access)).status, 503);
  t.false(notes.api.resourceServer.eventStreamCurrent());
  t.true(notes.apiLogs.some((line) => /event stream not current/.test(line)));
});

test.serial('fail closed: a long poll that does not answer within pollWait + margin ends the cache; it comes back after', async (t) => {
  const notes = await eventWorld(t, { pollWaitSeconds: 2, pollMarginSeconds: 2 });
  const { access } = await cachedToken(notes, t);
  const path = pollPath(notes);
  const before = introspections(notes);
  notes.proxy.rule = { path, action: 'hang' };
  const elapsed = await until(async () => {
    t.is((await notes.notes('GET', access)).status, 200);
    return introspections(notes) > before;
  }, 'a request introspected again');
  t.true(elapsed < 20_000, `${elapsed} ms`);
  t.false(notes.api.resourceServer.eventStreamCurrent());
  notes.proxy.rule = undefined;
  await until(() => notes.api.resourceServer.eventStreamCurrent(), 'the stream to be current again');
  // The cache was dropped on the way: the token is introspected once more, then cached again.
  const count = introspections(notes);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is(introspections(notes), count + 1);
});

test.serial('fail closed: a deleted stream is noticed at the next event, the token refused, and a new stream opened', async (t) => {
  const notes = await eventWorld(t);
  const { user, access } = await cachedToken(notes, t);
  const streamId = pollPath(notes).split('/').pop()!;
  await notes.world.store.streams.delete(streamId);
  await notes.endSessions(user.username);
  t.true((await refusedWithin(notes, access)) < PROMPT_MS);
  await until(() => notes.proxy.count('POST', '/ssf/streams') === 2 && notes.api.resourceServer.eventStreamCurrent(), 'a new stream, verified');
  t.not(pollPath(notes).split('/').pop(), streamId);
  const other = await cachedToken(notes, t);
  t.is((await notes.notes('GET', other.access)).status, 200);
});

test.serial('fail closed: a stream disabled at the issuer is noticed at once, and nothing is served from the cache', async (t) => {
  const notes = await eventWorld(t);
  const { access } = await cachedToken(notes, t);
  const streamId = pollPath(notes).split('/').pop()!;
  const { setStreamStatus } = await import('../../src/ssf/control.js');
  await setStreamStatus(notes.world.store, streamId, 'disabled', 'test', notes.world.clock.now());
  await until(() => !notes.api.resourceServer.eventStreamCurrent(), 'the stream to count as not current', PROMPT_MS);
  const before = introspections(notes);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is(introspections(notes), before + 1, 'introspected, not from the cache');
});

/** A SET like the issuer's, signed with a key the issuer never had, under a kid the JWKS does not list. */
async function foreignSet(notes: NotesWorld, streamId: string, sid: string, kid: string) {
  const { privateKey } = await generateKeyPair('ES256');
  const jti = `${streamId}.999999`;
  const set = await new SignJWT({
    jti,
    iat: notes.world.clock.now(),
    txn: '999999',
    sub_id: { format: 'complex', session: { format: 'opaque', id: sid }, user: { format: 'iss_sub', iss: notes.issuer, sub: 'x' } },
    events: { 'https://schemas.openid.net/secevent/caep/event-type/session-revoked': { event_timestamp: notes.world.clock.now() } },
  })
    .setProtectedHeader({ alg: 'ES256', kid, typ: 'secevent+jwt' })
    .setIssuer(notes.issuer)
    .setAudience(notesEvents.id)
    .sign(privateKey);
  return { jti, set };
}

test.serial('fail closed: a paused stream holds its events, so the cache is not used; enabled again, it is verified anew and used', async (t) => {
  const notes = await eventWorld(t);
  const { user, access } = await cachedToken(notes, t);
  const streamId = pollPath(notes).split('/').pop()!;
  const { setStreamStatus } = await import('../../src/ssf/control.js');
  const verifications = notes.proxy.count('POST', '/ssf/verify');
  await setStreamStatus(notes.world.store, streamId, 'paused', null, notes.world.clock.now());
  await until(() => !notes.api.resourceServer.eventStreamCurrent(), 'the stream to count as not current', PROMPT_MS);
  // While paused, an ended session is refused at once: the issuer is asked.
  await notes.endSessions(user.username);
  t.is((await notes.notes('GET', access)).status, 401);
  await setStreamStatus(notes.world.store, streamId, 'enabled', null, notes.world.clock.now());
  await until(() => notes.api.resourceServer.eventStreamCurrent(), 'the stream to be current again');
  t.true(notes.proxy.count('POST', '/ssf/verify') > verifications, 'verified anew');
  await cachedToken(notes, t);
});

test.serial('fail closed: a SET that cannot be checked because the JWKS is unreachable is neither acknowledged nor refused, and the cache waits for the JWKS', async (t) => {
  const notes = await eventWorld(t, { pollWaitSeconds: 2 });
  const { access, sid } = await cachedToken(notes, t);
  const streamId = pollPath(notes).split('/').pop()!;
  // A SET under a kid the receiver has not seen: it must read the JWKS again before it can tell.
  const { jti, set } = await foreignSet(notes, streamId, sid, 'a-key-not-seen-yet');
  let inject = true;
  notes.proxy.rewrite = (path, body) => {
    if (!inject || !path.startsWith('/ssf/poll/')) return undefined;
    const answer = JSON.parse(body);
    answer.sets[jti] = set;
    return JSON.stringify(answer);
  };
  notes.proxy.rule = { path: '/.well-known/jwks.json', action: 'status', status: 503 };
  await until(() => !notes.api.resourceServer.eventStreamCurrent(), 'the stream to count as not current');
  const before = introspections(notes);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is(introspections(notes), before + 1, 'introspected, not from the cache');
  t.false(notes.world.logs.some((line) => line.includes('could not process')), 'not reported as bad: it could not be checked');
  // The JWKS is back: the SET is checked, found foreign, reported; the stream is current again.
  notes.proxy.rule = undefined;
  await until(() => notes.world.logs.some((line) => line.includes('could not process') && line.includes('invalid_key')), 'the bad SET to be reported');
  inject = false;
  await until(() => notes.api.resourceServer.eventStreamCurrent(), 'the stream to be current again');
  await cachedToken(notes, t);
});

test.serial('a forged SET (a key the issuer never had) is reported in setErrs, evicts nothing, and the stream goes on', async (t) => {
  const notes = await eventWorld(t, { pollWaitSeconds: 2 });
  const { user, access, sid } = await cachedToken(notes, t);
  const streamId = pollPath(notes).split('/').pop()!;
  const { jti, set: forged } = await foreignSet(notes, streamId, sid, decodeJwt(access).header.kid as string);
  let injected = false;
  notes.proxy.rewrite = (path, body) => {
    if (injected || !path.startsWith('/ssf/poll/')) return undefined;
    injected = true;
    const answer = JSON.parse(body);
    answer.sets[jti] = forged;
    return JSON.stringify(answer);
  };
  await until(() => notes.world.logs.some((line) => line.includes('could not process') && line.includes('invalid_key')), 'the transmitter to hear of the bad SET');
  notes.proxy.rewrite = undefined;
  const before = introspections(notes);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is(introspections(notes), before, 'still answered from the cache: nothing was evicted');
  t.true(notes.api.resourceServer.eventStreamCurrent());
  t.true(notes.apiLogs.some((line) => /does not verify/.test(line)));
  // And real events still work.
  await notes.endSessions(user.username);
  t.true((await refusedWithin(notes, access)) < PROMPT_MS);
});

test.serial('stop() ends polling and deletes the stream', async (t) => {
  const notes = await eventWorld(t);
  const streamId = pollPath(notes).split('/').pop()!;
  t.truthy(await notes.world.store.streams.find(streamId));
  await notes.api.resourceServer.stop();
  t.is(await notes.world.store.streams.find(streamId), undefined);
  t.false(notes.api.resourceServer.eventStreamCurrent());
});

test.serial('an event committed between a long poll\'s look at the outbox and its wait still wakes that poll', async (t) => {
  const notes = await eventWorld(t);
  const { user, access } = await cachedToken(notes, t);
  const signal = notes.world.store.eventSignal;
  // Only a wake can end the poll's wait in time here: the signal's own timer (its safety net, 1 s on SQLite and
  // 5 s while PostgreSQL LISTEN is up) is put out of reach, so a lost wake shows as a refusal after POLL_WAIT.
  Object.defineProperty(signal, 'pollIntervalMs', { get: () => 60_000, set: () => {}, configurable: true });
  const wait = signal.wait.bind(signal);
  let armed = true;
  signal.wait = async (...args: Parameters<typeof wait>) => {
    if (armed) {
      armed = false;
      // The session ends (committed, signal woken) after the poll looked at the outbox and before its wait is
      // registered: the window a busy issuer or a NOTIFY from another instance falls into.
      await notes.endSessions(user.username);
    }
    return wait(...args);
  };
  signal.wake(); // the long poll in flight looks again, then waits anew: through the wait above
  const elapsed = await refusedWithin(notes, access);
  t.false(armed);
  t.true(elapsed < 5000, `refused ${elapsed} ms after the end; a lost wake waits for the long poll's end (${POLL_WAIT} s)`);
});

test('events and cache are two modes; events needs a receiver client', (t) => {
  const valid = { issuer: 'https://auth.example.com', clientId: 'api', clientSecret: 's', audience: 'https://api.example.com' };
  t.throws(() => createResourceServer({ ...valid, cache: { ttlSeconds: 5 }, events: { clientId: 'r', clientSecret: 's' } }), { instanceOf: TypeError });
  t.throws(() => createResourceServer({ ...valid, events: { clientId: '', clientSecret: 's' } }), { instanceOf: TypeError });
  t.throws(() => createResourceServer({ ...valid, events: { clientId: 'r', clientSecret: 's', pollWaitSeconds: 0 } }), { instanceOf: TypeError });
});

test('SSF 1.0 §7.2: the ssf-configuration of an issuer with a path has the well-known segment first', (t) => {
  t.is(ssfConfigurationUrl('https://auth.example.com'), 'https://auth.example.com/.well-known/ssf-configuration');
  t.is(ssfConfigurationUrl('https://auth.example.com/tenant'), 'https://auth.example.com/.well-known/ssf-configuration/tenant');
});

test.serial('an issuer with a path: the receiver finds its endpoints through the ssf-configuration', async (t) => {
  const notes = await startNotesWorld({ issuerPath: '/tenant', events: { pollWaitSeconds: POLL_WAIT, retryDelayMs: 100 } });
  t.teardown(() => notes.close());
  await until(() => notes.api.resourceServer.eventStreamCurrent(), 'the event stream to be current');
  t.is(notes.proxy.count('GET', '/.well-known/ssf-configuration/tenant'), 1);
  const user = await notes.newUser();
  const { access } = await notes.login(user);
  for (let i = 0; i < 3; i++) t.is((await notes.notes('GET', access)).status, 200);
  t.is(notes.proxy.count('POST', '/tenant/introspect'), 1);
  await notes.endSessions(user.username);
  t.true((await refusedWithin(notes, access)) < PROMPT_MS);
});
