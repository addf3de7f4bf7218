/**
 * Issue #10, item 3: the client address behind proxies. Only the right-most GATEHOUSE_TRUST_PROXY_HOPS entries of
 * X-Forwarded-For were written by proxies we trust; the left-most is whatever the client sent. So rotating the
 * left-most entry changes nothing, a value that is not an IP address is not believed, `::ffff:a.b.c.d` is the
 * IPv4 address, and IPv6 addresses count by their /64.
 */
import test from 'ava';
import fc from 'fast-check';
import { isIP } from 'node:net';
import { clientAddress, normaliseAddress, throttleAddress } from '../../src/http/client-address.js';
import { confA, confB, rs1, startWorld, type World } from '../helpers/fixtures.js';
import { postForm, type Reply } from '../helpers/http.js';

test('clientAddress: the N-th entry from the right, never one the client chose', (t) => {
  t.is(clientAddress('10.0.0.1', undefined, 1), '10.0.0.1', 'no header: the socket');
  t.is(clientAddress('10.0.0.1', '198.51.100.7', 0), '10.0.0.1', 'no trusted hops: the header is ignored');
  t.is(clientAddress('10.0.0.1', '198.51.100.7', 1), '198.51.100.7');
  t.is(clientAddress('10.0.0.1', 'spoofed-by-client, 203.0.113.9, 198.51.100.7', 1), '198.51.100.7', 'the balancer appended the last');
  t.is(clientAddress('10.0.0.1', '1.2.3.4, 203.0.113.9, 198.51.100.7', 2), '203.0.113.9', 'two proxies');
  t.is(clientAddress('10.0.0.1', '203.0.113.9', 3), '203.0.113.9', 'fewer entries than hops: the left-most a proxy wrote');
  t.is(clientAddress('10.0.0.1', 'not-an-address', 1), '10.0.0.1', 'garbage: the socket');
  t.is(clientAddress('10.0.0.1', '198.51.100.7, ', 1), '10.0.0.1', 'an empty last entry: the socket');
  t.is(clientAddress('10.0.0.1', '198.51.100.7:4711', 1), '10.0.0.1', 'with a port it is not an address');
  t.is(clientAddress('::ffff:10.0.0.1', undefined, 0), '10.0.0.1');
  t.is(clientAddress('10.0.0.1', '::FFFF:198.51.100.7', 1), '198.51.100.7');
  t.is(clientAddress('10.0.0.1', '[2001:DB8::1]', 1), '2001:db8::1');
});

test('normaliseAddress and throttleAddress: IPv4-mapped IPv6 is IPv4; IPv6 counts by its /64', (t) => {
  t.is(normaliseAddress('::ffff:192.0.2.1'), '192.0.2.1');
  t.is(normaliseAddress('2001:DB8::A'), '2001:db8::a');
  t.is(throttleAddress('192.0.2.1'), '192.0.2.1');
  t.is(throttleAddress('2001:db8:1:2:3:4:5:6'), '2001:db8:1:2::/64');
  t.is(throttleAddress('2001:db8:1:2::ffff'), '2001:db8:1:2::/64');
  t.is(throttleAddress('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(throttleAddress('::1'), '0:0:0:0::/64');
  t.is(throttleAddress('2001:0db8:0001:0002::1'), '2001:db8:1:2::/64', 'leading zeros do not make another key');
  t.not(throttleAddress('2001:db8:1:3::1'), throttleAddress('2001:db8:1:2::1'));
});

test('property: whatever X-Forwarded-For holds, the address is the socket or an IP address from the trusted part', (t) => {
  const entry = fc.oneof(fc.ipV4(), fc.ipV6(), fc.string(), fc.constantFrom('', ' ', 'unknown', '::ffff:1.2.3.4', '[::1]', '1.2.3.4:80'));
  fc.assert(
    fc.property(fc.array(entry, { maxLength: 6 }), fc.integer({ min: 0, max: 8 }), (entries, hops) => {
      const header = entries.join(', ');
      const address = clientAddress('192.0.2.99', header, hops);
      if (address === '192.0.2.99') return;
      if (isIP(address) === 0) throw new Error(`not an address: ${address}`);
      // It came from one of the right-most `hops` entries.
      const trusted = entries.slice(Math.max(0, entries.length - hops)).map(normaliseAddress);
      if (!trusted.includes(address)) throw new Error(`${address} is not among the trusted entries ${JSON.stringify(trusted)}`);
    }),
  );
  t.pass();
});

async function world(t: { teardown(fn: () => Promise<void>): void }, hops = '1'): Promise<World> {
  const w = await startWorld({ env: { GATEHOUSE_TRUST_PROXY_HOPS: hops, GATEHOUSE_LOCKOUT_THRESHOLD: '3', GATEHOUSE_LOCKOUT_IP_THRESHOLD: '10' } });
  t.teardown(() => w.close());
  await w.createUser('carol', 'carol-password-1');
  return w;
}

const login = (w: World, forwardedFor: string, password = 'wrong-password'): Promise<Reply> =>
  postForm(`${w.url}/token`, { grant_type: 'password', username: 'carol', password }, { auth: [confA.id, confA.secret], headers: { 'x-forwarded-for': forwardedFor } });

test('rotating the left-most X-Forwarded-For entry does not dodge the lockout, nor set the audit actor', async (t) => {
  const w = await world(t);
  for (let i = 0; i < 3; i++) t.is((await login(w, `10.9.9.${i}, 198.51.100.30`)).status, 400);
  t.is((await login(w, '10.9.9.77, 198.51.100.30', 'carol-password-1')).status, 429, 'blocked: the balancer saw one address');
  t.is((await login(w, '198.51.100.30, 198.51.100.31', 'carol-password-1')).status, 200, 'claiming the blocked address changes nothing for another');
  const actors = new Set((await w.store.audit.list({ limit: 50 })).map((event) => event.actor));
  t.deepEqual([...actors].sort(), ['ip:198.51.100.30', 'ip:198.51.100.31']);
});

test('an entry that is not an address counts as the socket address; ::ffff:a.b.c.d as a.b.c.d', async (t) => {
  const w = await world(t);
  for (const value of ['garbage', 'x'.repeat(300), '<script>']) t.is((await login(w, `203.0.113.1, ${value}`)).status, 400);
  t.is((await login(w, '127.0.0.1', 'carol-password-1')).status, 429, 'the three counted against the socket address');
  t.false((await w.store.audit.list({ limit: 50 })).some((event) => !/^ip:[0-9a-f.:]+$/.test(event.actor)), 'every actor is an address');

  for (let i = 0; i < 3; i++) await login(w, '::ffff:198.51.100.40');
  t.is((await login(w, '198.51.100.40', 'carol-password-1')).status, 429, 'one address, two spellings');
});

test('IPv6: the failures of a whole /64 count together; the next /64 is another client', async (t) => {
  const w = await world(t);
  for (let i = 1; i <= 3; i++) t.is((await login(w, `2001:db8:1:2::${i}`)).status, 400);
  t.is((await login(w, '2001:db8:1:2:ffff:ffff:ffff:ffff', 'carol-password-1')).status, 429);
  t.is((await login(w, '2001:db8:1:3::1', 'carol-password-1')).status, 200);
});

test("someone else's client-auth failures cannot block a resource server by naming its address", async (t) => {
  const w = await world(t);
  // The attacker, at 203.0.113.66, claims to be the resource server at 10.0.0.5.
  for (let i = 0; i < 15; i++) {
    await postForm(`${w.url}/introspect`, { token: 'x' }, { auth: [rs1.id, `guess-${i}`], headers: { 'x-forwarded-for': '10.0.0.5, 203.0.113.66' } });
  }
  const attacker = await postForm(`${w.url}/token`, { grant_type: 'client_credentials' }, { auth: [confB.id, confB.secret], headers: { 'x-forwarded-for': '203.0.113.66' } });
  t.is(attacker.status, 429, 'the attacker is blocked');
  const rs = await postForm(`${w.url}/introspect`, { token: 'x' }, { auth: [rs1.id, rs1.secret], headers: { 'x-forwarded-for': '10.0.0.5' } });
  t.is(rs.status, 200, 'the resource server is not');
});

test('two trusted hops: the address the outer balancer saw', async (t) => {
  const w = await world(t, '2');
  for (let i = 0; i < 3; i++) t.is((await login(w, `10.8.0.${i}, 198.51.100.50, 10.0.0.1`)).status, 400);
  t.is((await login(w, '198.51.100.50, 10.0.0.2', 'carol-password-1')).status, 429);
  t.is((await login(w, '198.51.100.51, 10.0.0.1', 'carol-password-1')).status, 200);
});
