/** `gatehouse clients …`, spawned for real (issue 2, CLI contract). */
import test from 'ava';
import { API, cleanup, client, nowSeconds, sandbox } from '../helpers/process.js';
import { postForm } from '../helpers/http.js';

test.after.always(cleanup);

const ONE_LINE = /^[^\n]+\n$/;
const CREATE_FIELDS = ['audience', 'client_id', 'client_secret', 'grant_types', 'introspect', 'scope'];

test('clients create --json prints exactly the contract fields; a generated secret is 256 bits of base64url, new each time', async (t) => {
  const box = await sandbox();
  const first = await box.cli(['clients', 'create', '--id', 'first', '--json']);
  t.is(first.code, 0, first.stderr);
  const created = JSON.parse(first.stdout); // the whole stdout is one JSON value
  t.deepEqual(Object.keys(created).sort(), CREATE_FIELDS);
  t.regex(created.client_secret, /^[A-Za-z0-9_-]{43}$/, '32 random bytes = 43 base64url characters');
  t.deepEqual(created, { client_id: 'first', client_secret: created.client_secret, grant_types: [], scope: '', audience: [], introspect: false }, 'no --grants = no grants');

  const second = await box.cliJson(['clients', 'create', '--id', 'second']);
  t.regex(second.client_secret, /^[A-Za-z0-9_-]{43}$/);
  t.not(second.client_secret, created.client_secret);

  // The secret is shown once: the listing never carries it.
  const listed = await box.cli(['clients', 'list', '--json']);
  t.is(listed.code, 0);
  const clients = JSON.parse(listed.stdout);
  t.true(Array.isArray(clients));
  t.deepEqual(clients.map((c: any) => c.client_id).sort(), ['first', 'second']);
  t.false(listed.stdout.includes(created.client_secret));
  t.false(listed.stdout.includes(second.client_secret));
  for (const c of clients) t.is(c.client_secret, undefined);
  for (const c of clients) if (c.created_at !== undefined) t.true(Number.isInteger(c.created_at) && Math.abs(c.created_at - nowSeconds()) < 60, 'times are epoch seconds');

  // Without --json the secret is still shown once, for a human.
  const human = await box.cli(['clients', 'create', '--id', 'third']);
  t.is(human.code, 0);
  t.regex(human.stdout, /[A-Za-z0-9_-]{43}/);
});

test('clients create takes --secret, --grants, --scopes, a repeated --audience and --introspect', async (t) => {
  const box = await sandbox();
  const secret = 'x'.repeat(32);
  const created = await box.cliJson([
    'clients', 'create', '--id', 'full', '--secret', secret, '--grants', 'password,refresh_token,client_credentials', '--scopes', 'read write',
    '--audience', API, '--audience', 'https://other.example.test', '--introspect',
  ]);
  t.deepEqual(created, {
    client_id: 'full',
    client_secret: secret,
    grant_types: ['password', 'refresh_token', 'client_credentials'],
    scope: 'read write',
    audience: [API, 'https://other.example.test'],
    introspect: true,
  });
  const [listed] = await box.cliJson(['clients', 'list']);
  t.is(listed.client_id, 'full');
  t.deepEqual(listed.grant_types, ['password', 'refresh_token', 'client_credentials']);
  t.deepEqual(listed.audience, [API, 'https://other.example.test']);
  t.is(listed.introspect, true);
});

test('clients create --secret-stdin reads the chosen secret from stdin (one trailing newline dropped), out of argv and history', async (t) => {
  const box = await sandbox();
  const secret = 'y'.repeat(40);
  const created = await box.cliJson(['clients', 'create', '--id', 'from-stdin', '--secret-stdin', '--grants', 'client_credentials'], { input: `${secret}\n` });
  t.is(created.client_secret, secret);
  const server = await box.start();
  const token = await postForm(`${server.url}/token`, { grant_type: 'client_credentials' }, { auth: ['from-stdin', secret] });
  t.is(token.status, 200);
  await server.stop();
  const both = await box.cli(['clients', 'create', '--id', 'both', '--secret', secret, '--secret-stdin'], { input: secret });
  t.is(both.code, 2);
  t.regex(both.stderr, /at most one of --secret or --secret-stdin/);
  const short = await box.cli(['clients', 'create', '--id', 'short', '--secret-stdin'], { input: 'short\n' });
  t.is(short.code, 2, 'a short secret is bad input, as with --secret');
});

test('clients create: ids of 1-128 printable ASCII without spaces (":" allowed); bad usage exits 2, a duplicate 1, with one stderr line', async (t) => {
  const box = await sandbox();
  const ok = async (id: string) => {
    const result = await box.cli(['clients', 'create', '--id', id, '--json']);
    t.is(result.code, 0, `${JSON.stringify(id)}: ${result.stderr}`);
    t.is(JSON.parse(result.stdout).client_id, id);
  };
  const usage = async (args: string[], why: string) => {
    const result = await box.cli(['clients', 'create', ...args, '--json']);
    t.is(result.code, 2, `${why}: exit ${result.code}, ${result.stderr}`);
    t.regex(result.stderr, ONE_LINE, `${why}: one line on stderr`);
    t.false(result.stderr.includes('    at '), `${why}: no stack`);
    t.is(result.stdout, '', `${why}: nothing on stdout`);
  };

  await ok('urn:gatehouse:client:1');
  await ok('c'.repeat(128));
  await ok('!~');
  await usage(['--id', 'has space'], 'space in id');
  await usage(['--id', 'c'.repeat(129)], '129 characters');
  await usage(['--id', ''], 'empty id');
  await usage([], 'no --id');
  await usage(['--id', 'caf\u00e9'], 'non-ASCII id');
  await usage(['--id', 'tab\there'], 'control character in id');
  await usage(['--id', 'short-secret', '--secret', 's'.repeat(31)], '--secret of 31 characters');
  await usage(['--id', 'unknown-option', '--colour', 'blue'], 'unknown option');
  await usage(['--id', 'bad-grant', '--grants', 'implicit'], 'unknown grant type');
  // A secret of exactly 32 characters is enough.
  const exact = await box.cli(['clients', 'create', '--id', 'exact-secret', '--secret', 's'.repeat(32), '--json']);
  t.is(exact.code, 0, exact.stderr);

  const duplicate = await box.cli(['clients', 'create', '--id', 'urn:gatehouse:client:1', '--json']);
  t.is(duplicate.code, 1, 'a duplicate id is a refused operation');
  t.regex(duplicate.stderr, ONE_LINE);
  t.is(duplicate.stdout, '');

  // Nothing refused was stored.
  const ids = (await box.cliJson(['clients', 'list'])).map((c: any) => c.client_id).sort();
  t.deepEqual(ids, ['!~', 'c'.repeat(128), 'exact-secret', 'urn:gatehouse:client:1'].sort());

  const unknownCommand = await box.cli(['clients', 'explode']);
  t.is(unknownCommand.code, 2);
  t.regex(unknownCommand.stderr, ONE_LINE);
});

test('a client without grants may use none; clients disable ends its tokens at the next introspection, on a running server', async (t) => {
  const box = await sandbox();
  // Created while no server runs.
  const app = await box.cliJson(['clients', 'create', '--id', 'app', '--grants', 'password,refresh_token,client_credentials', '--scopes', 'read', '--audience', API]);
  const rs = await box.cliJson(['clients', 'create', '--id', 'rs', '--audience', API, '--introspect']);
  await box.cli(['users', 'create', '--username', 'alice', '--password', 'correct-horse']);
  const server = await box.start();
  const http = client(server);
  const appCreds = { id: app.client_id, secret: app.client_secret };
  const rsCreds = { id: rs.client_id, secret: rs.client_secret };

  // No --grants: a pure resource-server client gets no token of any kind.
  const byRs = await http.token({ grant_type: 'client_credentials' }, rsCreds);
  t.is(byRs.status, 400);
  t.is(byRs.json.error, 'unauthorized_client');
  const rsLogin = await http.login(rsCreds, 'alice', 'correct-horse');
  t.is(rsLogin.json.error, 'unauthorized_client');

  const user = await http.mustLogin(appCreds, 'alice', 'correct-horse');
  const service = await http.token({ grant_type: 'client_credentials' }, appCreds);
  t.is(service.status, 200);
  t.is((await http.introspect(rsCreds, user.access)).json.active, true);
  t.is((await http.introspect(rsCreds, service.json.access_token)).json.active, true);

  // Disabled by the CLI while the server runs.
  const disabled = await box.cli(['clients', 'disable', 'app', '--json']);
  t.is(disabled.code, 0, disabled.stderr);
  t.is(typeof JSON.parse(disabled.stdout), 'object', '--json: one JSON value');
  t.deepEqual((await http.introspect(rsCreds, user.access)).json, { active: false });
  t.deepEqual((await http.introspect(rsCreds, service.json.access_token)).json, { active: false });
  const refreshed = await http.refresh(appCreds, user.refresh);
  t.true(refreshed.status === 400 || refreshed.status === 401, `refresh of a disabled client: ${refreshed.status}`);
  t.true(['invalid_client', 'invalid_grant'].includes(refreshed.json.error));
  t.is((await http.token({ grant_type: 'client_credentials' }, appCreds)).status, 401, 'a disabled client no longer authenticates');
  t.deepEqual(await box.cliJson(['sessions', 'list']), [], 'its sessions ended');

  const unknown = await box.cli(['clients', 'disable', 'nobody']);
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, ONE_LINE);
  const missing = await box.cli(['clients', 'disable']);
  t.is(missing.code, 2);

  t.is(await server.stop(), 0);
});
