/**
 * Secrets never leave: a real server process is driven through every endpoint with known secrets — client
 * secrets, passwords (right and wrong), access and refresh tokens, the key-encryption secret — and neither its
 * log nor any error body contains one of them. Files holding secrets are created 0600.
 */
import test from 'ava';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { onPostgres } from '../helpers/database.js';
import { basic, postForm, send, type Reply } from '../helpers/http.js';
import { cleanup, sandbox } from '../helpers/process.js';

test.after.always(cleanup);

const KEY_SECRET = 'key-secret-value-0123456789abcdef0123456789';
const APP_SECRET = 'app-secret-value-0123456789abcdef0123456789';
const RS_SECRET = 'rs-secret-value-0123456789abcdef01234567890';
const ADMIN_SECRET = 'admin-secret-value-0123456789abcdef0123456';
const PASSWORD = 'alice-password-value-1';
const WRONG_PASSWORD = 'wrong-password-value-2';
const WRONG_SECRET = 'wrong-secret-value-0123456789abcdef012345';

test('no secret appears in the log or in any error body, whatever endpoint is called', async (t) => {
  t.timeout(60_000);
  const box = await sandbox({ GATEHOUSE_KEY_SECRETS: KEY_SECRET });
  await box.cliJson(['clients', 'create', '--id', 'app', '--secret', APP_SECRET, '--grants', 'password,refresh_token,client_credentials', '--scopes', 'read', '--audience', 'https://api.example']);
  await box.cliJson(['clients', 'create', '--id', 'rs', '--secret', RS_SECRET, '--audience', 'https://api.example', '--introspect']);
  await box.cliJson(['clients', 'create', '--id', 'admin', '--secret', ADMIN_SECRET, '--grants', 'client_credentials', '--scopes', 'gatehouse:admin']);
  await box.cliJson(['users', 'create', '--username', 'alice', '--password-stdin'], { input: PASSWORD + '\n' });
  const server = await box.start();
  const u = server.url;
  const app: [string, string] = ['app', APP_SECRET];
  const replies: Reply[] = [];
  const keep = async (reply: Promise<Reply>) => {
    const answered = await reply;
    replies.push(answered);
    return answered;
  };

  const login = (await keep(postForm(`${u}/token`, { grant_type: 'password', username: 'alice', password: PASSWORD }, { auth: app }))).json;
  const renewed = (await keep(postForm(`${u}/token`, { grant_type: 'refresh_token', refresh_token: login.refresh_token }, { auth: app }))).json;
  const admin = (await keep(postForm(`${u}/token`, { grant_type: 'client_credentials' }, { auth: ['admin', ADMIN_SECRET] }))).json;
  const secrets = [KEY_SECRET, APP_SECRET, RS_SECRET, ADMIN_SECRET, PASSWORD, WRONG_PASSWORD, WRONG_SECRET, login.access_token, login.refresh_token, renewed.access_token, renewed.refresh_token, admin.access_token];

  // Failures of every kind, each carrying a secret somewhere in the request.
  await keep(postForm(`${u}/token`, { grant_type: 'password', username: 'alice', password: WRONG_PASSWORD }, { auth: app }));
  await keep(postForm(`${u}/token`, { grant_type: 'password', username: PASSWORD, password: WRONG_PASSWORD }, { auth: app }));
  await keep(postForm(`${u}/token`, { grant_type: 'client_credentials' }, { auth: ['app', WRONG_SECRET] }));
  await keep(postForm(`${u}/token`, { grant_type: 'client_credentials', client_id: 'app', client_secret: APP_SECRET }, { auth: app }));
  await keep(postForm(`${u}/token?client_secret=${APP_SECRET}`, { grant_type: 'client_credentials' }, { auth: app }));
  await keep(postForm(`${u}/token`, `grant_type=password&username=alice&password=${PASSWORD}&password=${PASSWORD}`, { auth: app }));
  await keep(postForm(`${u}/token`, { grant_type: 'refresh_token', refresh_token: login.refresh_token }, { auth: app })); // reuse
  await keep(postForm(`${u}/token`, { grant_type: 'refresh_token', refresh_token: renewed.refresh_token, scope: 'write' }, { auth: app }));
  await keep(postForm(`${u}/token`, { grant_type: PASSWORD }, { auth: app }));
  await keep(postForm(`${u}/introspect`, { token: renewed.access_token }, { auth: ['rs', RS_SECRET] }));
  await keep(postForm(`${u}/introspect`, { token: login.refresh_token }, { auth: ['rs', WRONG_SECRET] }));
  await keep(postForm(`${u}/introspect`, { token: renewed.access_token }, { auth: app }));
  await keep(postForm(`${u}/revoke`, { token: renewed.refresh_token }, { auth: ['rs', RS_SECRET] }));
  await keep(postForm(`${u}/revoke`, { token: renewed.refresh_token, token_type_hint: PASSWORD }, { auth: app }));
  await keep(send(`${u}/admin/users/alice/sessions`, { headers: { authorization: `Bearer ${admin.access_token}` } }));
  await keep(send(`${u}/admin/users/alice/sessions`, { headers: { authorization: `Bearer ${login.access_token}` } }));
  await keep(send(`${u}/admin/users/${PASSWORD}/sessions`, { headers: { authorization: `Bearer ${admin.access_token}` } }));
  await keep(send(`${u}/token?password=${PASSWORD}`, { headers: { authorization: basic('app', APP_SECRET) } }));
  await keep(send(`${u}/${APP_SECRET}`));
  await keep(send(`${u}/.well-known/jwks.json`));
  for (let i = 0; i < 8; i++) await keep(postForm(`${u}/token`, { grant_type: 'password', username: 'alice', password: WRONG_PASSWORD }, { auth: app }));
  await box.cliJson(['keys', 'rotate', '--now']);
  await box.cliJson(['sessions', 'revoke', '--user', 'alice']);
  const audit = JSON.stringify(await box.cliJson(['audit']));
  t.is(await server.stop('SIGTERM'), 0);

  const log = server.logs.join('\n') + server.stdout();
  t.true(log.length > 0);
  for (const secret of secrets) {
    t.false(log.includes(secret), `the log contains a secret (${secret.slice(0, 6)}…)`);
    t.false(audit.includes(secret), `the audit trail contains a secret (${secret.slice(0, 6)}…)`);
    for (const reply of replies.filter((r) => r.status >= 400 || r.json?.active !== undefined)) {
      t.false(reply.text.includes(secret), `an error or introspection body contains a secret (${secret.slice(0, 6)}…): ${reply.status}`);
    }
  }
  t.true(replies.some((r) => r.status === 429), 'the lockout was reached too');

  // Files that hold secrets are private.
  const mode = (path: string) => statSync(path).mode & 0o777;
  if (!onPostgres) t.is(mode(join(box.dir, 'g.sqlite')) & 0o077, 0, 'the database is not readable by others');
});

test('the generated key secret file and its folder are private', async (t) => {
  const box = await sandbox();
  const server = await box.start();
  t.is(await server.stop('SIGTERM'), 0);
  t.is(statSync(join(box.dir, 'keys', 'key-secret')).mode & 0o777, 0o600);
  t.is(statSync(join(box.dir, 'keys')).mode & 0o077, 0);
});
