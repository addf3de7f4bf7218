/**
 * The CLI side of logging in through the browser (issue #14), spawned for real: `clients create --redirect-uri
 * --post-logout-redirect-uri --third-party`, `sessions list/revoke` with login sessions, `consents list/revoke`.
 */
import test from 'ava';
import { authorizeThrough, BrowserAgent, pkce } from '../helpers/browser-agent.js';
import { decodeJwt, postForm } from '../helpers/http.js';
import { API, cleanup, client, sandbox, type Credentials, type Sandbox, type ServerProcess } from '../helpers/process.js';

test.after.always(cleanup);

const SPA = 'http://127.0.0.1:5173/callback';

test('clients create --redirect-uri, --post-logout-redirect-uri and --third-party; a public client registers its redirect origins', async (t) => {
  const box = await sandbox();
  const created = await box.cliJson([
    'clients', 'create', '--public', '--id', 'spa', '--scopes', 'read', '--audience', API,
    '--redirect-uri', SPA, '--redirect-uri', 'https://app.example/cb?x=1', '--post-logout-redirect-uri', 'http://127.0.0.1:5173/', '--third-party',
  ]);
  t.false('client_secret' in created);
  t.like(created, {
    client_id: 'spa',
    grant_types: ['authorization_code', 'refresh_token'],
    scope: 'read',
    audience: [API],
    introspect: false,
    token_endpoint_auth_method: 'none',
    origins: ['http://127.0.0.1:5173', 'https://app.example'],
    redirect_uris: [SPA, 'https://app.example/cb?x=1'],
    post_logout_redirect_uris: ['http://127.0.0.1:5173/'],
    third_party: true,
  });
  const web = await box.cliJson(['clients', 'create', '--id', 'web', '--grants', 'authorization_code,refresh_token', '--redirect-uri', 'https://web.example/callback']);
  t.like(web, { grant_types: ['authorization_code', 'refresh_token'], redirect_uris: ['https://web.example/callback'] });
  t.regex(web.client_secret, /^[A-Za-z0-9_-]{43}$/);
  t.false('third_party' in web, 'first party by default');
  const human = await box.cli(['clients', 'create', '--public', '--id', 'spa-2', '--redirect-uri', 'http://localhost:5174/cb']);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, /redirect_uris: http:\/\/localhost:5174\/cb/);
  t.regex(human.stdout, /consent:\s+none \(first party\)/);
});

test('clients create refuses, with exit 2 and one stderr line, redirect URIs that cannot be matched exactly or safely', async (t) => {
  const box = await sandbox();
  const refused = async (args: string[], why: string, stderr: RegExp) => {
    const result = await box.cli(['clients', 'create', '--id', 'x', ...args, '--json']);
    t.is(result.code, 2, `${why}: exit ${result.code} ${result.stderr}`);
    t.regex(result.stderr, /^gatehouse: [^\n]+\n$/, why);
    t.regex(result.stderr, stderr, why);
  };
  const code = ['--public'];
  await refused([...code, '--redirect-uri', 'https://app.example/cb#x'], 'a fragment', /fragment/);
  await refused([...code, '--redirect-uri', 'http://app.example/cb'], 'http off loopback', /https/);
  await refused([...code, '--redirect-uri', 'https://App.example/cb'], 'not as clients send it', /exactly/);
  await refused([...code, '--redirect-uri', 'https://app.example'], 'no path', /exactly/);
  await refused([...code, '--redirect-uri', 'https://user:pw@app.example/cb'], 'credentials', /credentials/);
  await refused([...code, '--redirect-uri', 'not a uri'], 'not a URI', /absolute URI/);
  await refused(['--grants', 'authorization_code'], 'the code grant without a redirect URI', /redirect-uri/);
  await refused(['--grants', 'client_credentials', '--redirect-uri', 'https://app.example/cb'], 'a redirect URI without the code grant', /authorization_code/);
  await refused([...code, '--grants', 'password,refresh_token', '--third-party'], 'a third party with the password grant', /third-party/);
  await refused([...code, '--redirect-uri', SPA, '--post-logout-redirect-uri', 'http://evil.example/'], 'a bad logout return', /post-logout/);
  t.deepEqual(await box.cliJson(['clients', 'list']), [], 'nothing was created');
});

/** A running server with a browser client, an introspecting API and alice, logged in through one browser at two apps. */
async function loggedIn(t: import('ava').ExecutionContext): Promise<{ box: Sandbox; server: ServerProcess; rs: Credentials; tokens: any[]; agent: BrowserAgent }> {
  const box = await sandbox();
  await box.cliJson(['clients', 'create', '--public', '--id', 'spa', '--scopes', 'read', '--audience', API, '--redirect-uri', SPA]);
  await box.cliJson(['clients', 'create', '--public', '--id', 'partner', '--scopes', 'read', '--audience', API, '--redirect-uri', 'https://partner.example/cb', '--third-party']);
  const rs = await box.cliJson(['clients', 'create', '--id', 'rs', '--audience', API, '--introspect']);
  await box.cli(['users', 'create', '--username', 'alice', '--password-stdin'], { input: 'correct-horse\n' });
  const server = await box.start();
  t.teardown(() => server.stop());
  const agent = new BrowserAgent(server.url, server.issuer);
  const tokens = [];
  for (const [id, redirectUri] of [['spa', SPA], ['partner', 'https://partner.example/cb']] as const) {
    const { verifier, challenge } = pkce();
    const { location } = await authorizeThrough(agent, { clientId: id, redirectUri, challenge }, { username: 'alice', password: 'correct-horse' });
    const reply = await postForm(`${server.url}/token`, { grant_type: 'authorization_code', code: location.searchParams.get('code')!, redirect_uri: redirectUri, code_verifier: verifier, client_id: id });
    t.is(reply.status, 200, reply.text);
    tokens.push(reply.json);
  }
  return { box, server, rs: { id: rs.client_id, secret: rs.client_secret }, tokens, agent };
}

test('sessions list names the login session; sessions revoke LOGIN_SESSION ends every app session opened through it', async (t) => {
  const { box, server, rs, tokens } = await loggedIn(t);
  const http = client(server);
  const sessions = await box.cliJson(['sessions', 'list', '--user', 'alice']);
  t.is(sessions.length, 2);
  t.is(new Set(sessions.map((session: any) => session.login_session)).size, 1);
  const loginSession = sessions[0].login_session;
  t.deepEqual(sessions.map((session: any) => session.sid).sort(), tokens.map((token) => decodeJwt(token.access_token).payload.sid).sort());
  const human = await box.cli(['sessions', 'list']);
  t.regex(human.stdout, /LOGIN SESSION/);
  t.true(human.stdout.includes(loginSession));
  const revoked = await box.cliJson(['sessions', 'revoke', loginSession]);
  t.deepEqual(revoked, { sid: loginSession, ended: true });
  for (const token of tokens) t.deepEqual((await http.introspect(rs, token.access_token)).json, { active: false });
  t.deepEqual(await box.cliJson(['sessions', 'list']), []);
});

test('consents list and consents revoke: the third party loses its session and must ask again', async (t) => {
  const { box, server, rs, tokens, agent } = await loggedIn(t);
  const http = client(server);
  const consents = await box.cliJson(['consents', 'list', '--user', 'alice']);
  t.is(consents.length, 1);
  t.like(consents[0], { client_id: 'partner', scope: 'read' });
  t.true(Number.isInteger(consents[0].granted_at));
  const revoked = await box.cliJson(['consents', 'revoke', '--user', 'alice', '--client', 'partner']);
  t.deepEqual(revoked, { username: 'alice', client_id: 'partner', revoked: true, sessions_ended: 1 });
  t.deepEqual((await http.introspect(rs, tokens[1].access_token)).json, { active: false }, "the third party's session ended");
  t.like((await http.introspect(rs, tokens[0].access_token)).json, { active: true }, 'the first-party app is untouched');
  const again = await authorizeThrough(agent, { clientId: 'partner', redirectUri: 'https://partner.example/cb', challenge: pkce().challenge });
  t.deepEqual(again.seen, ['consent', 'redirect']);
  const twice = await box.cli(['consents', 'revoke', '--user', 'alice', '--client', 'spa']);
  t.is(twice.code, 1, 'no consent to revoke');
  t.is((await box.cli(['consents', 'list'])).code, 2, '--user is required');
});
