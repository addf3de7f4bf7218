/**
 * Three real issuer processes on one database (PostgreSQL in the PostgreSQL run, one SQLite file in the other):
 * every guarantee of the core holds across instances.
 */
import test from 'ava';
import { request } from 'node:http';
import { basic, decodeJwt, postForm, send, type Reply } from '../helpers/http.js';
import { cleanup, sandbox, startServerProcess, type ServerProcess } from '../helpers/process.js';

test.after.always(cleanup);

const API = 'https://api.example.test';
const app = { id: 'app', secret: 'app-0123456789abcdef0123456789abcdef' };
const rs = { id: 'rs', secret: 'rs-0123456789abcdef0123456789abcdef' };
const admin = { id: 'admin', secret: 'admin-0123456789abcdef0123456789abcdef' };

async function setUp() {
  const box = await sandbox({ GATEHOUSE_ISSUER: 'http://localhost:9', GATEHOUSE_KEY_SECRETS: 'multi-instance-0123456789abcdef0123456789' });
  await box.cliJson(['clients', 'create', '--id', app.id, '--secret', app.secret, '--grants', 'password,refresh_token', '--scopes', 'read', '--audience', API]);
  await box.cliJson(['clients', 'create', '--id', rs.id, '--secret', rs.secret, '--audience', API, '--introspect']);
  await box.cliJson(['clients', 'create', '--id', admin.id, '--secret', admin.secret, '--grants', 'client_credentials', '--scopes', 'gatehouse:admin']);
  for (let i = 0; i < 12; i++) await box.cliJson(['users', 'create', '--username', `user${i}`, '--password', `password-${i}-xyz`]);
  const instances = await Promise.all([box.start(), box.start(), box.start()]);
  return { box, instances };
}

const login = (server: ServerProcess, user: number) =>
  postForm(`${server.url}/token`, { grant_type: 'password', username: `user${user}`, password: `password-${user}-xyz` }, { auth: [app.id, app.secret] });
const refresh = (server: ServerProcess, token: string) => postForm(`${server.url}/token`, { grant_type: 'refresh_token', refresh_token: token }, { auth: [app.id, app.secret] });
const introspect = async (server: ServerProcess, token: string) => (await postForm(`${server.url}/introspect`, { token }, { auth: [rs.id, rs.secret] })).json;

test('tokens of one instance introspect on the others; an admin end through A is seen by B and C; 50 concurrent refreshes give one success', async (t) => {
  t.timeout(120_000);
  const { instances } = await setUp();
  const [a, b, c] = instances as [ServerProcess, ServerProcess, ServerProcess];

  const first = (await login(a, 0)).json;
  for (const other of [b, c]) t.like(await introspect(other, first.access_token), { active: true, username: 'user0' });

  const adminToken = (await postForm(`${a.url}/token`, { grant_type: 'client_credentials' }, { auth: [admin.id, admin.secret] })).json.access_token;
  const ended = await send(`${a.url}/admin/sessions/${decodeJwt(first.access_token).payload.sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } });
  t.is(ended.status, 204);
  for (const other of [b, c]) t.deepEqual(await introspect(other, first.access_token), { active: false }, 'inactive at the next request');
  t.is((await refresh(c, first.refresh_token)).json.error, 'invalid_grant');

  const second = (await login(b, 1)).json;
  const replies: Reply[] = await Promise.all(Array.from({ length: 50 }, (_, i) => refresh(instances[i % 3]!, second.refresh_token)));
  const statuses = replies.map((reply) => reply.status);
  t.is(statuses.filter((status) => status === 200).length, 1, `exactly one success: ${statuses.join(',')}`);
  t.true(replies.every((reply) => reply.status === 200 || reply.json.error === 'invalid_grant'));
  const winner = replies.find((reply) => reply.status === 200)!.json;
  for (const server of instances) t.deepEqual(await introspect(server, winner.access_token), { active: false }, 'with grace 0 the session ended');
  t.is((await refresh(a, winner.refresh_token)).json.error, 'invalid_grant');

  for (const server of instances) t.is(await server.stop('SIGTERM'), 0);
});

/**
 * A POST on a new connection each time. A refused connection was not processed; nor was one the stopping
 * server closed before reading its request (it drains only requests it has begun). Were that ever wrong, the
 * retry would replay a consumed refresh token and the chain's session would end: the test would catch it.
 */
function postOnce(url: string, body: string): Promise<{ status: number; json: any } | 'refused'> {
  return new Promise((resolve) => {
    const target = new URL(url);
    const req = request(
      { host: target.hostname, port: target.port, path: target.pathname, method: 'POST', agent: false, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(app.id, app.secret) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text || '{}') }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNREFUSED' || error.code === 'ECONNRESET') resolve('refused');
      else throw error;
    });
    req.end(body);
  });
}

test('restarting one instance under load loses no session', async (t) => {
  t.timeout(120_000);
  const { box, instances } = await setUp();
  const pool: ServerProcess[] = [...instances];
  const chains = await Promise.all(
    Array.from({ length: 10 }, async (_, user) => {
      const body = (await login(pool[user % 3]!, user + 2)).json;
      return { sid: decodeJwt(body.access_token).payload.sid as string, refresh: body.refresh_token as string, renewals: 0 };
    }),
  );

  let running = true;
  let refused = 0;
  const load = chains.map(async (chain, index) => {
    let turn = index;
    while (running) {
      const server = pool[turn++ % pool.length]!;
      const reply = await postOnce(`${server.url}/token`, `grant_type=refresh_token&refresh_token=${chain.refresh}`);
      if (reply === 'refused') {
        refused++;
        continue; // the request never arrived: the same token goes to the next instance, as a load balancer would
      }
      t.is(reply.status, 200, `chain ${index}: ${JSON.stringify(reply.json)}`);
      if (reply.status !== 200) return;
      chain.refresh = reply.json.refresh_token;
      chain.renewals++;
    }
  });

  await new Promise((resolve) => setTimeout(resolve, 1000));
  const restarted = pool[1]!;
  t.is(await restarted.stop('SIGTERM'), 0, 'the instance drains and exits cleanly');
  await new Promise((resolve) => setTimeout(resolve, 500));
  pool[1] = await box.start();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  running = false;
  await Promise.all(load);

  for (const chain of chains) {
    t.true(chain.renewals > 3, `chain renewed ${chain.renewals} times`);
    const reply = await refresh(pool[2]!, chain.refresh);
    t.is(reply.status, 200, 'its latest refresh token still works');
    t.is(decodeJwt(reply.json.access_token).payload.sid, chain.sid, 'in the same session');
  }
  t.log(`${chains.reduce((sum, chain) => sum + chain.renewals, 0)} renewals, ${refused} refused connections during the restart`);
  for (const server of pool) t.is(await server.stop('SIGTERM'), 0);
});
