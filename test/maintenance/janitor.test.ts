/** The janitor deletes what can no longer matter, keeps what still can, and never stops the server answering. */
import test from 'ava';
import { runJanitor, RETENTION_SECONDS } from '../../src/maintenance/janitor.js';
import { alice, bob, startWorld, type World } from '../helpers/fixtures.js';
import { decodeJwt } from '../helpers/http.js';

async function count(world: World, table: string): Promise<number> {
  const [row] = await world.db(table).count({ n: '*' });
  return Number(row!.n);
}

/**
 * Loads expired rows straight into the tables with one INSERT … SELECT over a generated series each, on either
 * database: `sessions` finished sessions with one refresh token each, and `revocations` expired revocations.
 */
async function loadExpired(world: World, sessions: number, revocations: number, userId: string, at: number): Promise<void> {
  const series = (n: number) => `WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < ${n})`;
  await world.db.raw(
    `INSERT INTO sessions (id, user_id, client_id, scope, audience, created_at, expires_at, ended_at, end_reason)
     ${series(sessions)} SELECT 'old-' || x, ?, 'conf-A', 'read', 'x', ?, ?, NULL, NULL FROM s`,
    [userId, at - 100, at],
  );
  await world.db.raw(
    `INSERT INTO refresh_tokens (token_hash, session_id, created_at, expires_at, rotated_at)
     ${series(sessions)} SELECT 'rt-' || x, 'old-' || x, ?, ?, NULL FROM s`,
    [at - 100, at],
  );
  await world.db.raw(
    `INSERT INTO revoked_access_tokens (jti, expires_at, revoked_at) ${series(revocations)} SELECT 'jti-' || x, ?, ? FROM s`,
    [at, at - 100],
  );
}

test('expired rows go, live ones stay, and a rotated refresh token is kept for reuse detection until a day past its expiry', async (t) => {
  const world = await startWorld({ env: { GATEHOUSE_REFRESH_TOKEN_TTL: '3600', GATEHOUSE_SESSION_MAX_AGE: '7200' } });
  t.teardown(() => world.close());
  const ended = await world.login(bob);
  const live = await world.login(alice);
  const rotated = live.refresh;
  const renewed = (await world.refresh(rotated)).json;
  t.is((await world.revoke(ended.refresh)).status, 200, 'bob logs out');
  t.is((await world.revoke(renewed.access_token)).status, 200, 'an access token revoked on its own');

  // Nothing is old enough yet.
  t.like(await runJanitor(world.store, world.clock), { revocations: 0, refreshTokens: 0, sessions: 0 });

  // Past the access token's exp: its revocation row is useless.
  world.clock.advance(301);
  t.like(await runJanitor(world.store, world.clock), { revocations: 1, sessions: 0 });

  // A day after bob's logout his session goes; alice's live session and its tokens stay.
  world.clock.advance(RETENTION_SECONDS);
  const report = await runJanitor(world.store, world.clock);
  t.is(report.sessions, 1);
  const reuse = await world.refresh(rotated);
  t.is(reuse.json.error, 'invalid_grant', 'the rotated token is still known, so its replay is caught');
  t.is(await count(world, 'sessions'), 1);
  t.is((await world.introspect(renewed.access_token)).json.active, false);

  // A day after the whole session expired, nothing of it is left.
  world.clock.advance(7200 + RETENTION_SECONDS);
  await runJanitor(world.store, world.clock);
  t.is(await count(world, 'sessions'), 0);
  t.is(await count(world, 'refresh_tokens'), 0);
  t.is(await count(world, 'revoked_access_tokens'), 0);
});

test('1,000,000 expired rows: the janitor clears them in batches while the server keeps answering', async (t) => {
  t.timeout(300_000);
  // Loading 1,000,000 rows in a few statements is the fixture, not a request: it may take longer than the
  // 10-second statement timeout that bounds requests, on a busy machine.
  const world = await startWorld({ env: { GATEHOUSE_DB_STATEMENT_TIMEOUT: '300' } });
  t.teardown(() => world.close());
  const live = await world.login(alice);
  const at = world.clock.now() - RETENTION_SECONDS - 10;
  await loadExpired(world, 250_000, 500_000, world.aliceSub, at);
  t.is(await count(world, 'sessions'), 250_001);

  let answered = 0;
  let running = true;
  const traffic = (async () => {
    while (running) {
      const reply = await world.introspect(live.access);
      t.is(reply.status, 200);
      t.true(reply.json.active);
      answered++;
    }
  })();
  const started = Date.now();
  const report = await runJanitor(world.store, world.clock);
  const seconds = (Date.now() - started) / 1000;
  running = false;
  await traffic;

  t.like(report, { revocations: 500_000, refreshTokens: 250_000, sessions: 250_000 });
  t.true(answered >= 20, `${answered} introspections answered during ${seconds.toFixed(1)} s of cleaning`);
  t.log(`${answered} introspections answered while 1,000,000 rows were deleted in ${seconds.toFixed(1)} s`);
  t.is(await count(world, 'sessions'), 1, 'the live session is kept');
  t.is(decodeJwt(live.access).payload.sid, (await world.db('sessions').first('id')).id);
  t.is((await world.refresh(live.refresh)).status, 200, 'and it still renews');
});

test('browser login: expired forms go at once, codes a day after their expiry (a used one still catches its reuse until then), finished login sessions a day after', async (t) => {
  const { startBrowserWorld, spa } = await import('../helpers/browser-world.js');
  const { authorizePath, pkce } = await import('../helpers/browser-agent.js');
  const world = await startBrowserWorld({ env: { GATEHOUSE_SESSION_MAX_AGE: '7200' } });
  t.teardown(() => world.close());
  const { code, verifier, agent } = await world.codeFor(spa);
  t.is((await world.redeem(spa, code, verifier)).status, 200);
  await agent.get(authorizePath({ clientId: spa.id, redirectUri: spa.redirectUri, challenge: pkce().challenge, extra: { prompt: 'login' } })); // an open form
  t.like(await runJanitor(world.store, world.clock), { authorizationRequests: 0, authorizationCodes: 0, loginSessions: 0 });

  world.clock.advance(901); // both forms expired (15 min); the used code expired 841 s ago
  t.like(await runJanitor(world.store, world.clock), { authorizationRequests: 2, authorizationCodes: 0 });
  t.is((await world.redeem(spa, code, verifier)).json.error, 'invalid_grant', 'the used code is still known');

  world.clock.advance(RETENTION_SECONDS + 7200); // the login session expired more than a day ago
  t.like(await runJanitor(world.store, world.clock), { authorizationCodes: 1, loginSessions: 1 });
  t.is(await count(world, 'authorization_codes'), 0);
  t.is(await count(world, 'login_sessions'), 0);
});
