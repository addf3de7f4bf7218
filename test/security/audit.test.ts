/** The audit trail records the security events with time, actor, subject and client, and `gatehouse audit` reads it. */
import test from 'ava';
import { auditJson } from '../../src/audit/audit.js';
import { rotateClientSecret } from '../../src/clients/register.js';
import { disableUser } from '../../src/users/accounts.js';
import { alice, bob, confA, startWorld } from '../helpers/fixtures.js';
import { decodeJwt, postForm, send } from '../helpers/http.js';
import { cleanup, sandbox } from '../helpers/process.js';

test.after.always(cleanup);

test('logins, failures, lockouts, reuse, session ends, user changes and key events are recorded, without secrets', async (t) => {
  const world = await startWorld({ env: { GATEHOUSE_LOCKOUT_THRESHOLD: '2' } });
  t.teardown(() => world.close());
  const first = await world.login(alice);
  const renewed = await world.refresh(first.refresh);
  await world.refresh(first.refresh); // reuse: ends the session
  await world.token({ grant_type: 'password', username: 'bob', password: 'wrong-password-1' });
  await world.token({ grant_type: 'password', username: 'bob', password: 'wrong-password-2' });
  await world.token({ grant_type: 'password', username: 'typed-a-password-here', password: 'x-wrong-x' });
  const second = await world.login(alice);
  const adminToken = await world.adminToken();
  t.is((await send(`${world.url}/admin/sessions/${decodeJwt(second.access).payload.sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } })).status, 204);
  await disableUser(world.store, bob.username, world.clock.now());
  const kid = world.keys.signingKey().kid;
  await world.keys.revoke(kid);

  const events = (await world.store.audit.list({ limit: 100 })).map(auditJson).reverse();
  const types = events.map((event) => event.type);
  t.deepEqual(
    types.filter((type) => type !== 'login_failed'),
    ['login', 'refresh_reuse', 'lockout', 'login', 'session_ended', 'user_disabled', 'key_revoked', 'key_rotated'],
  );
  t.is(types.filter((type) => type === 'login_failed').length, 3);
  t.like(events.find((e) => e.type === 'login'), { actor: 'ip:127.0.0.1', subject: 'alice', client_id: confA.id });
  t.like(events.find((e) => e.type === 'refresh_reuse'), { subject: 'alice', client_id: confA.id });
  t.like(events.find((e) => e.type === 'session_ended'), { actor: 'admin-api:admin', subject: 'alice' });
  t.like(events.find((e) => e.type === 'key_revoked'), { actor: 'cli', subject: kid });
  const unknownFailure = events.filter((e) => e.type === 'login_failed').at(-1)!;
  t.is(unknownFailure.subject, null, 'an unknown username is not written down');
  const trail = JSON.stringify(events);
  for (const secret of [alice.password, 'wrong-password-1', 'typed-a-password-here', first.access, first.refresh, renewed.json.refresh_token, adminToken]) {
    t.false(trail.includes(secret), 'no secret in the audit trail');
  }
  t.true(events.every((e) => Number.isInteger(e.at)));
});

test('gatehouse audit [--user] [--since] [--json] reads the trail; rotate-secret keeps the old secret for the overlap', async (t) => {
  const box = await sandbox();
  const created = await box.cliJson(['clients', 'create', '--id', 'app', '--grants', 'password,client_credentials', '--scopes', 'read']);
  await box.cliJson(['users', 'create', '--username', 'erin', '--password', 'erin-password-1']);
  await box.cliJson(['users', 'create', '--username', 'fred', '--password', 'fred-password-1']);
  const server = await box.start();
  const login = (user: string, password: string) => postForm(`${server.url}/token`, { grant_type: 'password', username: user, password }, { auth: ['app', created.client_secret] });
  t.is((await login('erin', 'erin-password-1')).status, 200);
  t.is((await login('fred', 'nope-nope-nope')).status, 400);
  await box.cliJson(['users', 'disable', 'erin']);

  const erin = await box.cliJson(['audit', '--user', 'erin']);
  t.deepEqual(erin.map((e: { type: string }) => e.type), ['user_disabled', 'login'], 'newest first, only erin');
  t.like(erin[1], { actor: 'ip:127.0.0.1', subject: 'erin', client_id: 'app' });
  t.deepEqual((await box.cliJson(['audit', '--since', '1h'])).map((e: { type: string }) => e.type), ['user_disabled', 'login_failed', 'login']);
  t.deepEqual(await box.cliJson(['audit', '--since', String(Math.floor(Date.now() / 1000) + 3600)]), []);
  t.is((await box.cli(['audit', '--user', 'nobody'])).code, 1);
  t.is((await box.cli(['audit', '--since', 'yesterday-ish'])).code, 2);

  // Secret rotation with an overlap: both secrets work during it (when it ends: the in-process test below).
  const rotated = await box.cliJson(['clients', 'rotate-secret', 'app', '--overlap', '600']);
  t.is(rotated.client_id, 'app');
  t.regex(rotated.client_secret, /^[A-Za-z0-9_-]{43}$/);
  t.true(Math.abs(rotated.previous_secret_expires_at - (Math.floor(Date.now() / 1000) + 600)) <= 5);
  const cc = (secret: string) => postForm(`${server.url}/token`, { grant_type: 'client_credentials' }, { auth: ['app', secret] });
  t.is((await cc(created.client_secret)).status, 200, 'the old secret works during the overlap');
  t.is((await cc(rotated.client_secret)).status, 200, 'the new one works at once');
  t.is((await box.cli(['clients', 'rotate-secret', 'nope'])).code, 1);
  t.is((await box.cli(['clients', 'rotate-secret', 'app', '--overlap', 'soon'])).code, 2);
  t.is((await box.cliJson(['audit'])).filter((e: { type: string }) => e.type === 'client_secret_rotated').length, 1);
  t.is(await server.stop('SIGTERM'), 0);
});

test('a rotated client secret stops working exactly when the overlap ends', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const fresh = await rotateClientSecret(world.store, confA.id, 60, world.clock.now());
  const cc = (secret: string) => postForm(`${world.url}/token`, { grant_type: 'client_credentials' }, { auth: [confA.id, secret] });
  world.clock.advance(59);
  t.is((await cc(confA.secret)).status, 200, 'the old secret, one second before the end');
  world.clock.advance(1);
  t.is((await cc(confA.secret)).status, 401, 'and not at the end');
  t.is((await cc(fresh)).status, 200);
});

test('fields longer than their columns are cut, never a failed write (PostgreSQL refuses an over-long varchar)', async (t) => {
  const world = await startWorld();
  t.teardown(() => world.close());
  const { audit } = await import('../../src/audit/audit.js');
  const astral = '😀'.repeat(300); // two UTF-16 units each: cut between them, never inside one
  await audit(world.store, world.clock.now(), {
    type: 'login_failed',
    actor: `ip:${'a'.repeat(1000)}`,
    subject: astral,
    clientId: 'c'.repeat(500),
    detail: `nul\0inside ${'d'.repeat(2000)}`,
  });
  const [record] = await world.store.audit.list({ limit: 1 });
  t.is(record!.actor.length, 256);
  t.true(record!.actor.startsWith('ip:aaa') && record!.actor.endsWith('…'));
  t.true(record!.subject!.length <= 256);
  t.true(record!.subject!.endsWith('😀…'), 'whole code points only');
  t.is(record!.clientId!.length, 128);
  t.true(record!.detail!.length <= 512);
  t.false(record!.detail!.includes('\0'));
});
