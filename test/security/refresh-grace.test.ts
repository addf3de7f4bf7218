/**
 * Issue #10, item 7: the refresh grace window (GATEHOUSE_REFRESH_GRACE_SECONDS) lets a client whose response was
 * lost present its rotated token again. It must not let a thief fork the session into independent chains:
 * successors minted from one token are one family, the first of them used supersedes the others, and a
 * superseded one that comes back ends the session, as does a replay after any successor was used.
 */
import test, { type ExecutionContext } from 'ava';
import { decodeJwt, type Reply } from '../helpers/http.js';
import { startWorld, type World } from '../helpers/fixtures.js';

async function world(t: ExecutionContext): Promise<World> {
  const w = await startWorld({ env: { GATEHOUSE_REFRESH_GRACE_SECONDS: '60' } });
  t.teardown(() => w.close());
  return w;
}

function tokens(t: ExecutionContext, reply: Reply): { access: string; refresh: string } {
  t.is(reply.status, 200, reply.text);
  return { access: reply.json.access_token, refresh: reply.json.refresh_token };
}

async function sessionIsLive(w: World, access: string): Promise<boolean> {
  return (await w.store.sessions.find(decodeJwt(access).payload.sid))?.endedAt === null;
}

function assertReuse(t: ExecutionContext, reply: Reply, what: string): void {
  t.is(reply.status, 400, `${what}: ${reply.text}`);
  t.is(reply.json.error, 'invalid_grant', what);
}

test('the lost response: a replay within the grace gets a sibling, and that chain goes on', async (t) => {
  const w = await world(t);
  const first = await w.login();
  tokens(t, await w.refresh(first.refresh)); // this answer is "lost"
  w.clock.advance(5);
  let current = tokens(t, await w.refresh(first.refresh));
  for (let i = 0; i < 3; i++) {
    w.clock.advance(30);
    current = tokens(t, await w.refresh(current.refresh));
  }
  t.like((await w.introspect(current.access)).json, { active: true });
});

test('three chains forked within the grace: the second one used ends the session', async (t) => {
  const w = await world(t);
  const first = await w.login();
  const siblings = [];
  for (let i = 0; i < 3; i++) siblings.push(tokens(t, await w.refresh(first.refresh)));
  const [a, b, c] = siblings as [ReturnType<typeof tokens>, ReturnType<typeof tokens>, ReturnType<typeof tokens>];
  w.clock.advance(120); // long after the grace
  const aNext = tokens(t, await w.refresh(a.refresh)); // the first of the family used: fine
  t.true(await sessionIsLive(w, a.access));
  assertReuse(t, await w.refresh(b.refresh), 'a superseded sibling');
  t.false(await sessionIsLive(w, a.access), 'the session ended');
  assertReuse(t, await w.refresh(aNext.refresh), 'the surviving chain is dead too');
  assertReuse(t, await w.refresh(c.refresh), 'and the third');
  t.deepEqual((await w.introspect(aNext.access)).json, { active: false });
  t.is((await w.store.audit.list({ limit: 20 })).filter((event) => event.type === 'refresh_reuse').length, 1);
});

test('a superseded sibling is reuse even within the grace', async (t) => {
  const w = await world(t);
  const first = await w.login();
  const a = tokens(t, await w.refresh(first.refresh));
  const b = tokens(t, await w.refresh(first.refresh));
  tokens(t, await w.refresh(b.refresh)); // b's chain goes first
  assertReuse(t, await w.refresh(a.refresh), 'a, superseded, a second later');
  t.false(await sessionIsLive(w, b.access));
});

test('a replay within the grace after a successor was used is reuse: the session ends', async (t) => {
  const w = await world(t);
  const first = await w.login();
  const second = tokens(t, await w.refresh(first.refresh));
  tokens(t, await w.refresh(second.refresh)); // the successor was used: whoever replays `first` now is another party
  w.clock.advance(10);
  assertReuse(t, await w.refresh(first.refresh), 'replay after the successor was used');
  t.false(await sessionIsLive(w, second.access));
});

test('concurrency: 10 siblings used at once, exactly one succeeds and the session ends', async (t) => {
  const w = await world(t);
  const first = await w.login();
  const siblings = await Promise.all(Array.from({ length: 10 }, () => w.refresh(first.refresh)));
  const refreshTokens = siblings.map((reply) => tokens(t, reply).refresh);
  t.is(new Set(refreshTokens).size, 10);
  const uses = await Promise.all(refreshTokens.map((token) => w.refresh(token)));
  const statuses = uses.map((reply) => reply.status);
  t.is(statuses.filter((status) => status === 200).length, 1, String(statuses));
  t.true(uses.every((reply) => reply.status === 200 || reply.json.error === 'invalid_grant'));
  t.false(await sessionIsLive(w, first.access));
});
