/**
 * The optional cache (off by default): an accepted token is reused for at most min(TTL, its exp), so the TTL is
 * exactly how long an ended session can still pass (standards §16, ADM-01). Time is the issuer's ManualClock.
 */
import test from 'ava';
import { startNotesWorld } from '../helpers/notes.js';

const introspections = (world: { proxy: { count(method: string, path: string): number } }) => world.proxy.count('POST', '/introspect');

test('with a 30 s cache, an ended session still passes for at most 30 s, then 401', async (t) => {
  const notes = await startNotesWorld({ cache: { ttlSeconds: 30 } });
  t.teardown(() => notes.close());
  const user = await notes.newUser();
  const { access } = await notes.login(user);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is(introspections(notes), 1, 'the second request was answered from the cache');

  await notes.endSessions(user.username);
  notes.world.clock.advance(29);
  t.is((await notes.notes('GET', access)).status, 200, 'within the TTL: the documented bound');
  notes.world.clock.advance(1);
  const reply = await notes.notes('GET', access);
  t.is(reply.status, 401);
  t.is(reply.headers.get('www-authenticate'), 'Bearer realm="api", error="invalid_token"');
  t.is(introspections(notes), 2);
});

test('a cache entry never outlives the token: at exp the issuer is asked again, and the answer is "expired"', async (t) => {
  const notes = await startNotesWorld({ cache: { ttlSeconds: 3600 } });
  t.teardown(() => notes.close());
  const { access, exp } = await notes.login(await notes.newUser());
  t.is((await notes.notes('GET', access)).status, 200);
  notes.world.clock.set(exp - 1);
  t.is((await notes.notes('GET', access)).status, 200);
  t.is(introspections(notes), 1);
  notes.world.clock.set(exp);
  const reply = await notes.notes('GET', access);
  t.is(reply.status, 401);
  t.is(reply.headers.get('www-authenticate'), 'Bearer realm="api", error="invalid_token", error_description="The access token expired"');
  t.is(introspections(notes), 2);
});

test('refusals are not cached, and a cached token still needs the route scope', async (t) => {
  const notes = await startNotesWorld({ cache: { ttlSeconds: 60 } });
  t.teardown(() => notes.close());
  t.is((await notes.notes('GET', 'not-a-token')).status, 401);
  t.is((await notes.notes('GET', 'not-a-token')).status, 401);
  t.is(introspections(notes), 2);

  const { access } = await notes.login(await notes.newUser(), 'notes:read');
  t.is((await notes.notes('GET', access)).status, 200);
  t.is((await notes.notes('POST', access, { body: { text: 'x' } })).status, 403);
  t.is(introspections(notes), 3);
});

test('the cache holds at most maxEntries tokens, dropping the least recently used', async (t) => {
  const notes = await startNotesWorld({ cache: { ttlSeconds: 60, maxEntries: 2 } });
  t.teardown(() => notes.close());
  const [a, b, c] = await Promise.all([1, 2, 3].map(async () => (await notes.login(await notes.newUser())).access));
  for (const token of [a, b, a, c]) t.is((await notes.notes('GET', token)).status, 200);
  t.is(introspections(notes), 3, 'a, b, then a from the cache, then c (which pushes b out)');
  t.is((await notes.notes('GET', a)).status, 200);
  t.is(introspections(notes), 3, 'a was used recently: still cached');
  t.is((await notes.notes('GET', b)).status, 200);
  t.is(introspections(notes), 4, 'b was dropped');
});
