/** `gatehouse clients create --public [--origin …]`, spawned for real; then the public client at a real server. */
import test from 'ava';
import { postForm } from '../helpers/http.js';
import { API, cleanup, sandbox } from '../helpers/process.js';

test.after.always(cleanup);

test('clients create --public: no secret, auth method none, the code flow and refresh_token by default, origins stored', async (t) => {
  const box = await sandbox();
  const created = await box.cliJson([
    'clients', 'create', '--public', '--id', 'web', '--scopes', 'read write', '--audience', API, '--redirect-uri', 'https://app.example/callback',
    '--origin', 'https://app.example', '--origin', 'http://localhost:5173', '--origin', 'https://app.example',
  ]);
  t.is(created.client_secret, undefined);
  t.is(created.client_id, 'web');
  t.is(created.token_endpoint_auth_method, 'none');
  // The password grant is no longer a default (RFC 9700 §2.4); --grants password asks for it.
  t.deepEqual(created.grant_types, ['authorization_code', 'refresh_token']);
  t.deepEqual(created.origins, ['https://app.example', 'http://localhost:5173'], 'a repeated origin is stored once');
  t.deepEqual(created.redirect_uris, ['https://app.example/callback']);
  t.is(created.introspect, false);

  const listed = (await box.cliJson(['clients', 'list'])).find((client: any) => client.client_id === 'web');
  t.is(listed.token_endpoint_auth_method, 'none');
  t.deepEqual(listed.origins, ['https://app.example', 'http://localhost:5173']);

  const human = await box.cli(['clients', 'create', '--public', '--id', 'web-2', '--grants', 'password']);
  t.is(human.code, 0, human.stderr);
  t.regex(human.stdout, /none \(public client/);
  t.notRegex(human.stdout, /client_secret/);

  // A confidential client's listing is unchanged: no auth method or origins members.
  const confidential = await box.cliJson(['clients', 'create', '--id', 'svc', '--grants', 'client_credentials']);
  t.false('token_endpoint_auth_method' in confidential);
  t.false('origins' in confidential);
});

test('clients create --public refuses, with exit 2 and one stderr line, what a public client cannot have', async (t) => {
  const box = await sandbox();
  const usage = async (args: string[], why: string) => {
    const result = await box.cli(['clients', 'create', '--id', 'p', ...args, '--json']);
    t.is(result.code, 2, `${why}: exit ${result.code} ${result.stderr}`);
    t.regex(result.stderr, /^gatehouse: [^\n]+\n$/, why);
    t.is(result.stdout, '', why);
  };
  await usage(['--public', '--grants', 'client_credentials'], 'client_credentials');
  await usage(['--public', '--grants', 'password,client_credentials'], 'client_credentials among others');
  await usage(['--public', '--introspect'], 'introspection');
  await usage(['--public', '--secret', 'x'.repeat(40)], 'a secret');
  await usage(['--public'], 'the default code flow without a --redirect-uri');
  await usage(['--origin', 'https://app.example'], '--origin without --public');
  for (const origin of ['https://app.example/', 'https://app.example/app', 'http://app.example', 'https://App.example', 'not a url']) {
    await usage(['--public', '--grants', 'password', '--origin', origin], `origin ${origin}`);
  }
  t.deepEqual(await box.cliJson(['clients', 'list']), [], 'nothing was created');
});

test('a public client created by the CLI logs in at a running server with client_id alone, with CORS for its origin', async (t) => {
  const box = await sandbox();
  await box.cliJson(['clients', 'create', '--public', '--id', 'web', '--grants', 'password,refresh_token', '--scopes', 'read', '--audience', API, '--origin', 'https://app.example']);
  await box.cli(['users', 'create', '--username', 'alice', '--password-stdin'], { input: 'correct-horse\n' });
  const server = await box.start();
  t.teardown(() => server.stop());
  const login = await postForm(`${server.url}/token`, { grant_type: 'password', username: 'alice', password: 'correct-horse', client_id: 'web' }, { headers: { origin: 'https://app.example' } });
  t.is(login.status, 200, login.text);
  t.is(login.headers.get('access-control-allow-origin'), 'https://app.example');
  const renewed = await postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: login.json.refresh_token, client_id: 'web' });
  t.is(renewed.status, 200, renewed.text);
});
