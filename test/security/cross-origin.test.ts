/**
 * Issue #10, item 4: any web page can make its visitor's browser post a form to the issuer. Such a request
 * carries the page's Origin (or `Origin: null` from a sandboxed frame or a data: URL). Unless that origin is
 * registered for the client the request names, it is refused with 403 before any secret or password is looked at
 * or counted, so a hostile page cannot run up the lockout counters of its visitor's address (and lock her out),
 * revoke her tokens, or guess through her browser.
 */
import test, { type ExecutionContext } from 'ava';
import { registerPublicClient } from '../../src/clients/register-public.js';
import { alice, API, confA, rs1, startWorld, type World } from '../helpers/fixtures.js';
import { postForm, type Reply } from '../helpers/http.js';

const EVIL = 'https://evil.example';
const spa = { id: 'spa', origin: 'https://app.example' } as const;

async function world(t: ExecutionContext): Promise<World> {
  const w = await startWorld({ env: { GATEHOUSE_LOCKOUT_THRESHOLD: '3', GATEHOUSE_LOCKOUT_IP_THRESHOLD: '5' } });
  t.teardown(() => w.close());
  await registerPublicClient(w.store, { id: spa.id, grantTypes: ['password', 'refresh_token'], scope: 'read', audiences: [API], origins: [spa.origin] }, w.clock.now());
  return w;
}

function assertForeignOrigin(t: ExecutionContext, reply: Reply, what: string): void {
  t.is(reply.status, 403, what);
  t.deepEqual(reply.json, { error: 'invalid_request', error_description: 'Requests from this origin are not accepted for this client' }, what);
  t.is(reply.headers.get('access-control-allow-origin'), null, what);
  t.is(reply.headers.get('cache-control'), 'no-store', what);
}

const guess = (w: World, origin: string, password = 'wrong-password', clientId = spa.id): Promise<Reply> =>
  postForm(`${w.url}/token`, { grant_type: 'password', username: alice.username, password, client_id: clientId }, { headers: { origin } });

test('a cross-site form post of guesses changes no counter: the user logs in afterwards from the same address', async (t) => {
  const w = await world(t);
  for (const origin of [EVIL, 'null', 'https://app.example.evil.example', `${spa.origin}.`, 'https://APP.example']) {
    for (let i = 0; i < 4; i++) assertForeignOrigin(t, await guess(w, origin), origin);
  }
  // A confidential client named by a page, with its own secret even: no Origin is registered for it.
  const viaBasic = await postForm(
    `${w.url}/token`,
    { grant_type: 'password', username: alice.username, password: 'wrong-password' },
    { auth: [confA.id, confA.secret], headers: { origin: EVIL } },
  );
  assertForeignOrigin(t, viaBasic, 'confidential client');
  t.false((await w.store.audit.list({ limit: 100 })).some((event) => event.type === 'login_failed' || event.type === 'lockout'), 'nothing was checked');
  // Well past every threshold, yet nothing counted: alice logs in, from her app's page and from a native app.
  t.is((await guess(w, spa.origin, alice.password)).status, 200);
  t.is((await w.token({ grant_type: 'password', username: alice.username, password: alice.password })).status, 200);
});

test('the same page cannot guess client secrets through the browser, nor lock out the address', async (t) => {
  const w = await world(t);
  for (let i = 0; i < 10; i++) {
    const reply = await postForm(`${w.url}/introspect`, { token: 'x', client_id: rs1.id, client_secret: `guess-${i}` }, { headers: { origin: EVIL } });
    assertForeignOrigin(t, reply, '/introspect');
  }
  t.is((await postForm(`${w.url}/introspect`, { token: 'x' }, { auth: [rs1.id, rs1.secret] })).status, 200, 'the address is not blocked');
});

test('a cross-site /revoke is refused and revokes nothing', async (t) => {
  const w = await world(t);
  const login = await guess(w, spa.origin, alice.password);
  const { access_token: access, refresh_token: refresh } = login.json;
  assertForeignOrigin(t, await postForm(`${w.url}/revoke`, { token: refresh, client_id: spa.id }, { headers: { origin: EVIL } }), '/revoke');
  assertForeignOrigin(t, await postForm(`${w.url}/revoke`, { token: refresh, client_id: spa.id }, { headers: { origin: 'null' } }), '/revoke null');
  t.like((await w.introspect(access)).json, { active: true });
  // From the app's own page, it works.
  t.is((await postForm(`${w.url}/revoke`, { token: refresh, client_id: spa.id }, { headers: { origin: spa.origin } })).status, 200);
  t.deepEqual((await w.introspect(access)).json, { active: false });
});
