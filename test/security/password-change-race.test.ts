/**
 * Issue #10, item 2: a password change ends every session, including those that logins already in flight would
 * open. A login reads the user before its (slow) password check; if the password changes meanwhile, the session
 * must not be opened: the credential generation is re-checked in the transaction that inserts it.
 *
 * The logins here queue behind each other for Argon2 (the issuer hashes two at a time, with slow parameters), so
 * most of them have read the old password hash and are still waiting when the change commits.
 */
import test from 'ava';
import { confA, rs1, startWorld } from '../helpers/fixtures.js';
import { postForm, type Reply } from '../helpers/http.js';
import { PasswordHasher } from '../../src/passwords/argon2.js';
import { disableUser, setPassword } from '../../src/users/accounts.js';

const SLOW_ARGON2 = { GATEHOUSE_ARGON2_MEMORY_KIB: '8192', GATEHOUSE_ARGON2_ITERATIONS: '10' };

async function setUp() {
  const w = await startWorld({ env: SLOW_ARGON2 });
  await w.createUser('dave', 'old-password-1');
  // The change hashes with a hasher of its own, so that it does not wait behind the logins.
  const hasher = new PasswordHasher({ memoryKib: 8192, iterations: 10 }, 1);
  const logins = (n: number): Promise<Reply>[] =>
    Array.from({ length: n }, () => postForm(`${w.url}/token`, { grant_type: 'password', username: 'dave', password: 'old-password-1' }, { auth: [confA.id, confA.secret] }));
  return { w, hasher, logins };
}

test('no live session after a password change raced by 20 concurrent logins with the old password', async (t) => {
  const { w, hasher, logins } = await setUp();
  t.teardown(() => w.close());
  const inFlight = logins(20);
  // Let the logins reach the issuer and read dave's hash; the change then commits while most wait for Argon2.
  await new Promise((resolve) => setImmediate(resolve));
  await w.store.users.findByUsername('dave');
  await setPassword(w.store, hasher, 'dave', 'new-password-1', w.clock.now());
  const replies = await Promise.all(inFlight);

  const user = await w.store.users.findByUsername('dave');
  t.deepEqual(await w.store.sessions.listLive(w.clock.now(), { userId: user!.id }), [], 'no session of dave is alive');
  for (const reply of replies) {
    t.true(reply.status === 200 || (reply.status === 400 && reply.json.error === 'invalid_grant'), `${reply.status} ${reply.text}`);
    if (reply.status !== 200) continue;
    // A login that finished before the change: its session was ended by it.
    t.deepEqual((await postForm(`${w.url}/introspect`, { token: reply.json.access_token }, { auth: [rs1.id, rs1.secret] })).json, { active: false });
    t.is((await w.refresh(reply.json.refresh_token)).json.error, 'invalid_grant');
  }
  t.true(replies.some((reply) => reply.status === 400), 'some logins were still in flight when the password changed');
  // And the new password works.
  t.is((await postForm(`${w.url}/token`, { grant_type: 'password', username: 'dave', password: 'new-password-1' }, { auth: [confA.id, confA.secret] })).status, 200);
});

test('no live session after a user is disabled while logins are in flight', async (t) => {
  const { w, logins } = await setUp();
  t.teardown(() => w.close());
  const inFlight = logins(20);
  await new Promise((resolve) => setImmediate(resolve));
  await disableUser(w.store, 'dave', w.clock.now());
  const replies = await Promise.all(inFlight);
  const user = await w.store.users.findByUsername('dave');
  t.deepEqual(await w.store.sessions.listLive(w.clock.now(), { userId: user!.id }), []);
  for (const reply of replies.filter((r) => r.status === 200)) {
    t.deepEqual((await postForm(`${w.url}/introspect`, { token: reply.json.access_token }, { auth: [rs1.id, rs1.secret] })).json, { active: false });
  }
});
