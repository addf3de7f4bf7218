/**
 * Issue #10, item 1 (load): one account or one address cannot take the whole Argon2 capacity, and a burst of
 * logins is refused at once when the line of password checks is full, rather than delaying everyone's login
 * without limit. Refusals for load are not counted as attempts. Password checks here are deliberately slow
 * (Argon2id with 40 passes) so that the requests of a burst overlap on any machine.
 */
import test, { type ExecutionContext } from 'ava';
import { confA, startWorld, type World } from '../helpers/fixtures.js';
import { postForm, type Reply } from '../helpers/http.js';

const SLOW_ARGON2 = { GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_ITERATIONS: '40' };
const BURST = 30;

async function world(t: ExecutionContext, env: Record<string, string>): Promise<World> {
  const w = await startWorld({ env: { GATEHOUSE_TRUST_PROXY_HOPS: '1', ...SLOW_ARGON2, ...env } });
  t.teardown(() => w.close());
  await w.createUser('carol', 'carol-password-1');
  return w;
}

function login(w: World, ip: string, password = 'carol-password-1'): Promise<Reply> {
  return postForm(`${w.url}/token`, { grant_type: 'password', username: 'carol', password }, { auth: [confA.id, confA.secret], headers: { 'x-forwarded-for': ip } });
}

const statuses = (replies: Reply[]) => replies.map((reply) => reply.status);

/** Nothing was left counted: with a threshold of 1, one more wrong guess from each address is still checked. */
async function assertNothingCounted(t: ExecutionContext, w: World, ips: string[]): Promise<void> {
  for (const ip of ips) t.is((await login(w, ip, 'wrong-password')).status, 400, `${ip} was not counted`);
}

test('at most GATEHOUSE_LOGIN_CONCURRENCY_USER checks of one user run at once; the rest are 429 and not counted', async (t) => {
  const w = await world(t, { GATEHOUSE_LOGIN_CONCURRENCY_USER: '2', GATEHOUSE_LOCKOUT_THRESHOLD: '1' });
  const ips = Array.from({ length: BURST }, (_, i) => `10.30.${i}.1`);
  const replies = await Promise.all(ips.map((ip) => login(w, ip)));
  const refused = replies.filter((reply) => reply.status === 429);
  t.true(refused.length >= 1, `a burst of ${BURST} at once was not limited: ${statuses(replies)}`);
  t.true(replies.every((reply) => reply.status === 200 || reply.status === 429), String(statuses(replies)));
  for (const reply of refused) {
    t.deepEqual(reply.json, { error: 'temporarily_unavailable', error_description: 'Too many failed attempts; try again later' });
    t.is(reply.headers.get('retry-after'), '1');
  }
  await assertNothingCounted(t, w, ips.filter((_, i) => replies[i]!.status === 429));
});

test('at most GATEHOUSE_LOGIN_CONCURRENCY_IP checks from one address run at once', async (t) => {
  const w = await world(t, { GATEHOUSE_LOGIN_CONCURRENCY_IP: '2' });
  const replies = await Promise.all(Array.from({ length: BURST }, () => login(w, '203.0.113.50')));
  t.true(replies.some((reply) => reply.status === 429), String(statuses(replies)));
  t.true(replies.every((reply) => reply.status === 200 || (reply.status === 429 && reply.headers.get('retry-after') === '1')), String(statuses(replies)));
});

test('a full Argon2 line answers 503 temporarily_unavailable with Retry-After at once, and counts nothing', async (t) => {
  // The test issuer hashes two at a time; with no queue, a third login at the same moment is refused.
  const w = await world(t, { GATEHOUSE_ARGON2_QUEUE_MAX: '0', GATEHOUSE_LOCKOUT_THRESHOLD: '1' });
  const ips = Array.from({ length: BURST }, (_, i) => `10.31.${i}.1`);
  const replies = await Promise.all(ips.map((ip) => login(w, ip)));
  const busy = replies.filter((reply) => reply.status === 503);
  t.true(busy.length >= 1, `no 503 in a burst of ${BURST}: ${statuses(replies)}`);
  t.true(replies.every((reply) => reply.status === 200 || reply.status === 503), String(statuses(replies)));
  for (const reply of busy) {
    t.deepEqual(reply.json, { error: 'temporarily_unavailable', error_description: 'Too many logins are being checked; try again shortly' });
    t.is(reply.headers.get('retry-after'), '1');
    t.is(reply.headers.get('cache-control'), 'no-store');
  }
  await assertNothingCounted(t, w, ips.filter((_, i) => replies[i]!.status === 503));
});
