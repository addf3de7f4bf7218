/**
 * Brute-force protection (RFC 6749 §4.3.2 and §2.3.1 "MUST protect against brute force attacks", TOK-21): each
 * lockout rule, the growth and decay of the waits, the reset on success, and that a blocked account answers the
 * same whatever the password and whether the username exists. Client addresses come from X-Forwarded-For here
 * (GATEHOUSE_TRUST_PROXY), so that one test process can be many clients.
 */
import test, { type ExecutionContext } from 'ava';
import { confA, confB, startWorld, type World } from '../helpers/fixtures.js';
import { postForm, type Reply } from '../helpers/http.js';

const ENV = {
  GATEHOUSE_TRUST_PROXY: 'true',
  GATEHOUSE_LOCKOUT_THRESHOLD: '5',
  GATEHOUSE_LOCKOUT_IP_THRESHOLD: '12',
  GATEHOUSE_LOCKOUT_USER_THRESHOLD: '8',
  GATEHOUSE_LOCKOUT_MAX_SECONDS: '900',
};

async function world(t: ExecutionContext, env: Record<string, string> = {}): Promise<World> {
  const created = await startWorld({ env: { ...ENV, ...env } });
  t.teardown(() => created.close());
  await created.createUser('carol', 'carol-password-1');
  return created;
}

function login(w: World, username: string, password: string, ip = '198.51.100.1'): Promise<Reply> {
  return postForm(`${w.url}/token`, { grant_type: 'password', username, password }, { auth: [confA.id, confA.secret], headers: { 'x-forwarded-for': ip } });
}

function assertBlocked(t: ExecutionContext, reply: Reply, what: string): number {
  t.is(reply.status, 429, what);
  t.deepEqual(reply.json, { error: 'temporarily_unavailable', error_description: 'Too many failed attempts; try again later' }, what);
  const retryAfter = Number(reply.headers.get('retry-after'));
  t.true(retryAfter >= 1, `${what}: Retry-After ${retryAfter}`);
  return retryAfter;
}

test('per (username, IP): the 6th attempt waits, right or wrong password alike, and the wait grows then decays', async (t) => {
  const w = await world(t);
  for (let i = 0; i < 5; i++) t.is((await login(w, 'carol', 'wrong-password')).json.error, 'invalid_grant');
  const wrong = await login(w, 'carol', 'wrong-password');
  const right = await login(w, 'carol', 'carol-password-1');
  const first = assertBlocked(t, wrong, 'wrong password while blocked');
  assertBlocked(t, right, 'right password while blocked');
  t.is(right.text, wrong.text, 'indistinguishable bodies');
  t.is((await login(w, 'carol', 'carol-password-1', '198.51.100.2')).status, 200, 'another address is not affected');

  // After the wait, one more failure doubles it.
  w.clock.advance(first);
  t.is((await login(w, 'carol', 'wrong-password')).json.error, 'invalid_grant');
  const second = assertBlocked(t, await login(w, 'carol', 'carol-password-1'), 'blocked again');
  t.true(second >= 2 * first, `the wait grew from ${first} to ${second}`);

  // Attempts while blocked are refused without counting, and after the decay period everything is forgotten.
  w.clock.advance(900);
  t.is((await login(w, 'carol', 'carol-password-1')).status, 200);
});

test('a successful login resets the (username, IP) counter', async (t) => {
  const w = await world(t);
  for (let i = 0; i < 4; i++) await login(w, 'carol', 'wrong-password');
  t.is((await login(w, 'carol', 'carol-password-1')).status, 200);
  for (let i = 0; i < 4; i++) t.is((await login(w, 'carol', 'wrong-password')).status, 400, `failure ${i + 1} after the reset`);
  t.is((await login(w, 'carol', 'carol-password-1')).status, 200);
});

test('an unknown username is throttled exactly like a known one', async (t) => {
  const w = await world(t);
  const known: Reply[] = [];
  const unknown: Reply[] = [];
  for (let i = 0; i < 6; i++) {
    known.push(await login(w, 'carol', 'wrong-password', '198.51.100.7'));
    unknown.push(await login(w, 'nobody-here', 'wrong-password', '198.51.100.8'));
  }
  t.deepEqual(known.map((r) => [r.status, r.text]), unknown.map((r) => [r.status, r.text]));
  t.is(known.at(-1)!.status, 429);
});

test('per IP: spraying many usernames from one address blocks that address', async (t) => {
  const w = await world(t);
  for (let i = 0; i < 12; i++) t.is((await login(w, `user-${i}`, 'guess', '203.0.113.9')).status, 400);
  assertBlocked(t, await login(w, 'carol', 'carol-password-1', '203.0.113.9'), 'any username from the sprayer');
  t.is((await login(w, 'carol', 'carol-password-1', '203.0.113.10')).status, 200, 'other addresses are not affected');
});

test('per username across IPs: a higher cap and at most a minute, and never from an address the user logged in from', async (t) => {
  const w = await world(t);
  t.is((await login(w, 'carol', 'carol-password-1', '192.0.2.100')).status, 200, 'carol logs in from home once');
  // A distributed guess: 8 failures from 8 addresses, each far below its own limits.
  for (let i = 0; i < 8; i++) t.is((await login(w, 'carol', `guess-${i}`, `10.0.0.${i}`)).status, 400);
  const wait = assertBlocked(t, await login(w, 'carol', 'carol-password-1', '10.0.1.1'), 'a new address');
  t.true(wait <= 60, `the per-username wait is short: ${wait}`);
  t.is((await login(w, 'carol', 'carol-password-1', '192.0.2.100')).status, 200, 'carol at home is never locked out by it');
  // Sustained guessing keeps doubling the wait, but it never exceeds a minute.
  for (let round = 0; round < 6; round++) {
    w.clock.advance(61);
    await login(w, 'carol', 'another-guess', `10.0.2.${round}`);
    t.true(assertBlocked(t, await login(w, 'carol', 'carol-password-1', '10.0.3.1'), `round ${round}`) <= 60);
  }
});

test('client authentication: a blocked client_id slows only wrong secrets; a blocked address is refused outright', async (t) => {
  const w = await world(t, { GATEHOUSE_LOCKOUT_USER_THRESHOLD: '6', GATEHOUSE_LOCKOUT_IP_THRESHOLD: '10' });
  const cc = (secret: string, ip: string) =>
    postForm(`${w.url}/token`, { grant_type: 'client_credentials' }, { auth: [confB.id, secret], headers: { 'x-forwarded-for': ip } });
  // Guesses at conf-B's secret from three addresses (2 each: below the per-address limit of 10).
  for (let i = 0; i < 6; i++) t.is((await cc('guess', `10.1.0.${i % 3}`)).status, 401);
  assertBlocked(t, await cc('guess', '10.1.0.0'), 'further wrong secrets for the blocked client_id');
  t.is((await cc(confB.secret, '10.9.9.9')).status, 200, 'the real service is not locked out');

  // One address guessing at many clients gets blocked itself, right secret or not.
  for (let i = 0; i < 10; i++) await postForm(`${w.url}/token`, { grant_type: 'client_credentials' }, { auth: [`nope-${i}`, 'x'], headers: { 'x-forwarded-for': '10.2.0.1' } });
  assertBlocked(t, await cc(confB.secret, '10.2.0.1'), 'the guessing address');
  t.is((await cc(confB.secret, '10.2.0.2')).status, 200);
});

test('without GATEHOUSE_TRUST_PROXY, X-Forwarded-For is ignored: the socket address counts', async (t) => {
  const w = await world(t, { GATEHOUSE_TRUST_PROXY: 'false' });
  for (let i = 0; i < 5; i++) await login(w, 'carol', 'wrong-password', `10.3.0.${i}`);
  assertBlocked(t, await login(w, 'carol', 'carol-password-1', '10.3.1.1'), 'a forged header does not dodge the limit');
});

test('an attempt below the threshold blocks nobody, not even a concurrent attempt whose clock read was a second earlier', async (t) => {
  const w = await world(t);
  const ip = '198.51.100.9';
  // Two first logins from one address at once: the second read its `now` (a second earlier) before it waited for
  // the counters' row lock, which the first held while it counted its attempt.
  const start = w.clock.now();
  w.clock.set(start + 1);
  const first = await w.deps.throttle.reserveLogin('carol', ip);
  w.clock.set(start);
  const second = await w.deps.throttle.reserveLogin('dave', ip);
  t.true(first.ok);
  t.true(second.ok, `refused: ${JSON.stringify(second)}`);
});
