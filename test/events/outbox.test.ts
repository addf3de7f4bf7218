/**
 * The event outbox (issue #12, step 1): every change that ends tokens early writes exactly one event row per
 * thing it ended, in the transaction of the change; a refused change, or one that changes nothing, writes none;
 * and a change that fails half way leaves neither the change nor its event. The changes are made the way a
 * client or an operator makes them: over HTTP, or with the functions the CLI calls.
 */
import anyTest, { type TestFn } from 'ava';
import { openRuntime } from '../../src/boot.js';
import { disableClient } from '../../src/clients/register.js';
import { endSession } from '../../src/sessions/control.js';
import { runJanitor } from '../../src/maintenance/janitor.js';
import { revokeConsent } from '../../src/users/consents.js';
import { disableUser, enableUser, setPassword } from '../../src/users/accounts.js';
import { partner, spa, spa2, startBrowserWorld, type BrowserWorld } from '../helpers/browser-world.js';
import { onPostgres } from '../helpers/database.js';
import { API, confA, confB } from '../helpers/fixtures.js';
import { freshUser, isActive } from '../helpers/grants.js';
import { hiddenInputs } from '../helpers/browser-agent.js';
import { decodeJwt, send } from '../helpers/http.js';

const test = anyTest as TestFn<BrowserWorld>;
test.before(async (t) => {
  t.context = await startBrowserWorld();
});
test.after.always((t) => t.context?.close());

interface Row {
  id: number;
  type: string;
  session_id: string | null;
  user_id: string | null;
  client_id: string | null;
  jti: string | null;
  kid: string | null;
  reason: string | null;
  initiator: string | null;
  stream_id: string | null;
  detail: string | null;
  created_at: number;
}

/** The events about one subject (tests of this file run at once, each with subjects of its own). */
async function eventsWhere(w: BrowserWorld, where: Partial<Record<'user_id' | 'client_id' | 'kid' | 'jti', string>>): Promise<Array<Omit<Row, 'id' | 'created_at' | 'stream_id' | 'detail'>>> {
  const rows: Row[] = await w.db('events').where(where).orderBy('id');
  return rows.map(({ id: _id, created_at: _at, stream_id: _stream, detail: _detail, ...rest }) => ({ ...rest }));
}

const sessionRevoked = (sid: string | null, userId: string, clientId: string | null, reason: string, initiator: string) => ({
  type: 'session_revoked',
  session_id: sid,
  user_id: userId,
  client_id: clientId,
  jti: null,
  kid: null,
  reason,
  initiator,
});

async function login(w: BrowserWorld, user: { username: string; password: string }) {
  const tokens = await w.login(user);
  return { ...tokens, sid: decodeJwt(tokens.access).payload.sid as string };
}

const adminCall = async (w: BrowserWorld, method: string, path: string) =>
  send(`${w.url}${path}`, { method, headers: { authorization: `Bearer ${await w.adminToken()}` } });

test('ADM-01 an admin ending one session writes one session-revoked event for it; ending it again writes none', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { sid } = await login(w, user);
  const other = await login(w, user);
  t.is((await adminCall(w, 'DELETE', `/admin/sessions/${sid}`)).status, 204);
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), [sessionRevoked(sid, user.id, confA.id, 'admin', 'admin')]);
  t.is((await adminCall(w, 'DELETE', `/admin/sessions/${sid}`)).status, 204);
  t.is((await adminCall(w, 'DELETE', '/admin/sessions/no-such-session')).status, 404);
  t.is((await eventsWhere(w, { user_id: user.id })).length, 1);
  t.true(await isActive(t, w, other.access), 'the other session stays, and no event names it');
});

test('ending every session of a user writes one event for the user; with nothing left to end, none', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  await login(w, user);
  await login(w, user);
  t.is((await adminCall(w, 'DELETE', `/admin/users/${user.username}/sessions`)).status, 204);
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), [sessionRevoked(null, user.id, null, 'admin', 'admin')]);
  t.is((await adminCall(w, 'DELETE', `/admin/users/${user.username}/sessions`)).status, 204);
  t.is((await eventsWhere(w, { user_id: user.id })).length, 1);
});

test('REV-04 logout by revoking a refresh token writes one event; a second revoke and another client\'s attempt write none', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { refresh, sid } = await login(w, user);
  t.is((await w.revoke(refresh, confB)).status, 400, 'another client may not revoke it');
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), []);
  t.is((await w.revoke(refresh)).status, 200);
  t.is((await w.revoke(refresh)).status, 200);
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), [sessionRevoked(sid, user.id, confA.id, 'revoked', 'user')]);
});

test('revoking one access token writes one token-revoked event with its jti; revoking it again writes none', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { access, sid } = await login(w, user);
  const { jti } = decodeJwt(access).payload;
  t.is((await w.revoke(access, confB)).status, 400);
  t.is((await w.revoke(access)).status, 200);
  t.is((await w.revoke(access)).status, 200);
  t.deepEqual(await eventsWhere(w, { jti }), [
    { type: 'token_revoked', session_id: sid, user_id: user.id, client_id: confA.id, jti, kid: null, reason: 'revoked', initiator: 'user' },
  ]);
  t.true(await isActive(t, w, (await w.login(user)).access), 'the user is not logged out');
});

test('RT-03 refresh token reuse ends the session and writes one event (policy); the refused retries write none', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { refresh, sid } = await login(w, user);
  const renewed = await w.refresh(refresh);
  t.is(renewed.status, 200);
  t.is((await w.refresh(refresh)).json?.error, 'invalid_grant');
  t.is((await w.refresh(refresh)).json?.error, 'invalid_grant');
  t.is((await w.refresh(renewed.json.refresh_token)).json?.error, 'invalid_grant');
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), [sessionRevoked(sid, user.id, confA.id, 'refresh_reuse', 'policy')]);
});

test('a reused authorization code ends its session and writes one event', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { code, verifier } = await w.codeFor(spa, { user });
  const first = await w.redeem(spa, code, verifier);
  t.is(first.status, 200);
  t.is((await w.redeem(spa, code, verifier)).json?.error, 'invalid_grant');
  const sid = decodeJwt(first.json.access_token).payload.sid;
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), [sessionRevoked(sid, user.id, spa.id, 'code_reuse', 'policy')]);
});

test('logging out at /logout writes one event per session the login session carried', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const one = await w.codeFor(spa, { user });
  const two = await w.codeFor(spa2, { agent: one.agent, user: null });
  const sids = [(await w.redeem(spa, one.code, one.verifier)).json, (await w.redeem(spa2, two.code, two.verifier)).json].map(
    (body) => decodeJwt(body.access_token).payload.sid as string,
  );
  const page = await one.agent.get('/logout');
  t.is((await one.agent.post('/logout', hiddenInputs(page.text))).status, 200);
  const rows = await eventsWhere(w, { user_id: user.id });
  t.deepEqual(
    rows.sort((a, b) => (a.client_id! < b.client_id! ? -1 : 1)),
    [sessionRevoked(sids[0]!, user.id, spa.id, 'logout', 'user'), sessionRevoked(sids[1]!, user.id, spa2.id, 'logout', 'user')],
  );
});

test('withdrawing a consent writes one event for the user at that client; a consent never given writes none', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { code, verifier } = await w.codeFor(partner, { user });
  t.is((await w.redeem(partner, code, verifier)).status, 200);
  t.is(await revokeConsent(w.store, user.username, partner.id, w.clock.now(), 'cli'), 1);
  await t.throwsAsync(revokeConsent(w.store, user.username, partner.id, w.clock.now(), 'cli'));
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), [sessionRevoked(null, user.id, partner.id, 'consent_revoked', 'admin')]);
});

test('a password change writes one credential-change event; a refused new password writes none', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { access } = await login(w, user);
  await t.throwsAsync(setPassword(w.store, w.deps.passwords, user.username, 'short', w.clock.now()));
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), []);
  t.is(await setPassword(w.store, w.deps.passwords, user.username, 'another-password-1', w.clock.now()), 1);
  t.false(await isActive(t, w, access));
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), [
    { type: 'credential_change', session_id: null, user_id: user.id, client_id: null, jti: null, kid: null, reason: 'password_changed', initiator: 'admin' },
  ]);
});

test('disabling a user writes account-disabled, enabling writes account-enabled; repeating either writes nothing', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  await login(w, user);
  await disableUser(w.store, user.username, w.clock.now());
  await disableUser(w.store, user.username, w.clock.now());
  await enableUser(w.store, user.username, w.clock.now());
  await enableUser(w.store, user.username, w.clock.now());
  await t.throwsAsync(disableUser(w.store, 'nobody-at-all', w.clock.now()));
  const of = (type: string, reason: string) => ({ type, session_id: null, user_id: user.id, client_id: null, jti: null, kid: null, reason, initiator: 'admin' });
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), [of('account_disabled', 'user_disabled'), of('account_enabled', 'user_enabled')]);
});

test('disabling a client writes one client-disabled event; an unknown client writes none', async (t) => {
  const w = t.context;
  const id = 'outbox-client';
  await w.createClient({ id, secret: 'outbox-client-0123456789abcdef0123456', grantTypes: ['client_credentials'], scope: 'read', audiences: [API] });
  await disableClient(w.store, id, w.clock.now());
  await t.throwsAsync(disableClient(w.store, 'outbox-nobody', w.clock.now()));
  t.deepEqual(await eventsWhere(w, { client_id: id }), [
    { type: 'client_disabled', session_id: null, user_id: null, client_id: id, jti: null, kid: null, reason: 'client_disabled', initiator: 'admin' },
  ]);
  t.deepEqual(await eventsWhere(w, { client_id: 'outbox-nobody' }), []);
});

test('revoking a signing key writes one key-revoked event; revoking it again writes none', async (t) => {
  const w = t.context;
  const next = w.keys.ring.records.find((record) => record.state === 'next' || record.state === 'retired');
  t.truthy(next, 'a key that is not the current one');
  t.true(await w.keys.revoke(next!.kid));
  t.false(await w.keys.revoke(next!.kid));
  t.deepEqual(await eventsWhere(w, { kid: next!.kid }), [
    { type: 'key_revoked', session_id: null, user_id: null, client_id: null, jti: null, kid: next!.kid, reason: 'key_revoked', initiator: 'admin' },
  ]);
});

test('ids grow with every event, and an event is written only inside the transaction of its change', async (t) => {
  const w = t.context;
  await t.throwsAsync(w.store.events.append(w.clock.now(), { type: 'session_revoked', userId: 'x' }), { message: /transaction/ });
  const rows: Array<{ id: number | string }> = await w.db('events').select('id').orderBy('id');
  const ids = rows.map((row) => Number(row.id));
  t.deepEqual(ids, [...new Set(ids)].sort((a, b) => a - b));
});

/** A fault injected into the database: every INSERT into events fails, as a full disk or a lost connection would. */
async function breakEvents(w: BrowserWorld): Promise<() => Promise<void>> {
  if (onPostgres) {
    await w.db.raw(`CREATE FUNCTION outbox_fault() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$`);
    await w.db.raw('CREATE TRIGGER outbox_fault BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION outbox_fault()');
    return async () => {
      await w.db.raw('DROP TRIGGER outbox_fault ON events');
      await w.db.raw('DROP FUNCTION outbox_fault()');
    };
  }
  await w.db.raw(`CREATE TRIGGER outbox_fault BEFORE INSERT ON events BEGIN SELECT RAISE(ABORT, 'injected fault'); END`);
  return async () => void (await w.db.raw('DROP TRIGGER outbox_fault'));
}

test.serial('a change whose event cannot be written does not happen: the session stays alive and no event exists', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { access, sid } = await login(w, user);
  const repair = await breakEvents(w);
  let reply;
  try {
    reply = await adminCall(w, 'DELETE', `/admin/sessions/${sid}`);
  } finally {
    await repair();
  }
  t.is(reply.status, 500);
  t.is(reply.json?.error, 'server_error');
  t.true(await isActive(t, w, access), 'the session did not end without its event');
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), []);
  t.true(w.logs.some((line) => line.includes('"level":50') || line.includes('"error"')), 'the fault was logged');
  // Once the database takes events again, the same change writes exactly one.
  t.is((await adminCall(w, 'DELETE', `/admin/sessions/${sid}`)).status, 204);
  t.false(await isActive(t, w, access));
  t.is((await eventsWhere(w, { user_id: user.id })).length, 1);
});

test.serial('the janitor deletes events older than GATEHOUSE_EVENT_RETENTION_SECONDS and keeps newer ones', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  await login(w, user);
  t.is((await adminCall(w, 'DELETE', `/admin/users/${user.username}/sessions`)).status, 204);
  const before = await w.db('events').count({ n: '*' });
  t.true(Number(before[0]!.n) > 0);
  t.like(await runJanitor(w.store, w.clock, { eventRetentionSeconds: 3600 }), { events: 0 });
  w.clock.advance(3601);
  const report = await runJanitor(w.store, w.clock, { eventRetentionSeconds: 3600 });
  t.is(report.events, Number(before[0]!.n));
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), []);
});

test('an event committed by another instance wakes a waiter here: at once by NOTIFY on PostgreSQL, by the short poll on SQLite', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const { sid } = await login(w, user);
  const other = await openRuntime(w.config);
  t.teardown(() => other.close());
  const started = Date.now();
  const woken = w.store.eventSignal.wait(60_000).then(() => Date.now() - started);
  await endSession(other.store, sid, w.clock.now(), 'cli');
  const waitedMs = await woken;
  // PostgreSQL: the LISTEN connection (or, if it was not up yet, its first wake on connecting); SQLite: ≤ 1 s poll.
  t.true(waitedMs < 4000, `woken after ${waitedMs} ms`);
  t.is((await eventsWhere(w, { user_id: user.id })).length, 1);
});

test('an event written in a nested transaction is undone with its outer transaction, and kept with it', async (t) => {
  const w = t.context;
  const user = await freshUser(w);
  const write = (tx: typeof w.store) => tx.transaction((inner) => inner.events.append(w.clock.now(), { type: 'session_revoked', userId: user.id, reason: 'admin', initiator: 'admin' }));
  await t.throwsAsync(
    w.store.transaction(async (tx) => {
      await write(tx);
      throw new Error('the outer change fails after the nested one succeeded');
    }),
    { message: /outer change fails/ },
  );
  t.deepEqual(await eventsWhere(w, { user_id: user.id }), []);
  const woken = w.store.eventSignal.wait(60_000);
  await w.store.transaction((tx) => write(tx));
  await woken;
  t.is((await eventsWhere(w, { user_id: user.id })).length, 1);
});
