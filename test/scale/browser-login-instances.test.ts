/**
 * Three real issuer processes on one database (PostgreSQL in the PostgreSQL run, one SQLite file in the other):
 * the browser login holds across instances (issue #14). Every decision two instances could race on is made by
 * the database: of concurrent redemptions of one code spread over the three, exactly one gets tokens; a login at
 * one instance is single sign-on at the others; a logout at one ends the sessions every app got at the others.
 */
import test from 'ava';
import { authorizeThrough, BrowserAgent, hiddenInputs, pkce } from '../helpers/browser-agent.js';
import { postForm, type Reply } from '../helpers/http.js';
import { API, cleanup, sandbox, type ServerProcess } from '../helpers/process.js';

test.after.always(cleanup);

const SPA = 'http://127.0.0.1:5173/callback';
const ISSUER = 'http://localhost:9';

test('a code redeemed at three instances at once gives one success; SSO and logout hold across instances', async (t) => {
  t.timeout(180_000);
  const box = await sandbox({ GATEHOUSE_ISSUER: ISSUER, GATEHOUSE_KEY_SECRETS: 'multi-instance-0123456789abcdef0123456789' });
  await box.cliJson(['clients', 'create', '--public', '--id', 'spa', '--scopes', 'read', '--audience', API, '--redirect-uri', SPA]);
  const rs = await box.cliJson(['clients', 'create', '--id', 'rs', '--audience', API, '--introspect']);
  await box.cli(['users', 'create', '--username', 'alice', '--password-stdin'], { input: 'correct-horse\n' });
  const instances = await Promise.all([box.start(), box.start(), box.start()]);
  const [a, b, c] = instances as [ServerProcess, ServerProcess, ServerProcess];
  const redeem = (server: ServerProcess, code: string, verifier: string) =>
    postForm(`${server.url}/token`, { grant_type: 'authorization_code', code, redirect_uri: SPA, code_verifier: verifier, client_id: 'spa' });
  const active = async (server: ServerProcess, token: string) => (await postForm(`${server.url}/introspect`, { token }, { auth: [rs.client_id, rs.client_secret] })).json.active;

  // Log in through A; the code goes to 30 redemptions spread over A, B and C.
  const browserAtA = new BrowserAgent(a.url, ISSUER);
  const first = pkce();
  const { location } = await authorizeThrough(browserAtA, { clientId: 'spa', redirectUri: SPA, challenge: first.challenge }, { username: 'alice', password: 'correct-horse' });
  const code = location.searchParams.get('code')!;
  const replies: Reply[] = await Promise.all(Array.from({ length: 30 }, (_, i) => redeem(instances[i % 3]!, code, first.verifier)));
  const statuses = replies.map((reply) => reply.status);
  t.is(statuses.filter((status) => status === 200).length, 1, `exactly one success: ${statuses.join(',')}`);
  t.true(replies.every((reply) => reply.status === 200 || reply.json.error === 'invalid_grant'));

  // The same browser (its cookies), now talking to B: single sign-on; the code redeemed at C.
  const browserAtB = new BrowserAgent(b.url, ISSUER);
  for (const [name, value] of browserAtA.cookies) browserAtB.cookies.set(name, value);
  const second = pkce();
  const sso = await authorizeThrough(browserAtB, { clientId: 'spa', redirectUri: SPA, challenge: second.challenge });
  t.deepEqual(sso.seen, ['redirect']);
  const tokens = (await redeem(c, sso.location.searchParams.get('code')!, second.verifier)).json;
  t.is(await active(a, tokens.access_token), true);

  // Logging out at B ends the session C opened, for every instance at the next request.
  const page = await browserAtB.get('/logout');
  t.is((await browserAtB.post('/logout', hiddenInputs(page.text))).status, 200);
  for (const server of instances) t.is(await active(server, tokens.access_token), false);

  for (const server of instances) t.is(await server.stop('SIGTERM'), 0);
});
