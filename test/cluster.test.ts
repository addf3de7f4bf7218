/** GATEHOUSE_WORKERS: several processes behind one port, prepared once, stopped together. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { postForm } from './helpers/http.js';
import { cleanup, sandbox } from './helpers/process.js';

test.after.always(cleanup);

function workersOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((line) => Number(line.trim()))
      .filter((n) => n > 0);
  } catch {
    return []; // ps exits 1 when nothing matches
  }
}

/** A GET on a connection of its own (never a pooled one). */
function freshGet(url: string): Promise<{ status: number }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
    req.end();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('two workers: one start line, requests served, a worker that dies is replaced, SIGTERM stops all with exit 0', async (t) => {
  t.timeout(180_000);
  const box = await sandbox({ GATEHOUSE_WORKERS: '2' });
  const app = await box.cliJson(['clients', 'create', '--id', 'app', '--grants', 'password,refresh_token', '--scopes', 'read']);
  await box.cliJson(['users', 'create', '--username', 'alice', '--password', 'correct-horse']);
  const server = await box.start();
  t.is(server.logs.filter((line) => line.includes('Gatehouse issuer')).length, 1, 'one start line');
  t.true(server.logs.some((line) => line.includes('2 worker processes share the port')));
  const workers = workersOf(server.child.pid!);
  t.is(workers.length, 2);

  for (let i = 0; i < 10; i++) {
    const reply = await postForm(`${server.url}/token`, { grant_type: 'password', username: 'alice', password: 'correct-horse' }, { auth: ['app', app.client_secret] });
    t.is(reply.status, 200);
  }

  process.kill(workers[0]!, 'SIGKILL');
  // The event that matters: the primary's word that the replacement listens (it may take a while on a busy machine).
  await server.waitForLog(/replacement worker is serving/, 45_000);
  const now = workersOf(server.child.pid!);
  t.is(now.length, 2, 'the dead worker was replaced');
  t.false(now.includes(workers[0]!));
  // New connections only: a kept-alive one from the requests above may lead to the worker that was killed.
  for (let i = 0; i < 4; i++) t.is((await freshGet(`${server.url}/healthz`)).status, 200);

  const last = workersOf(server.child.pid!);
  const code = await server.stop('SIGTERM');
  if (code !== 0) t.log(server.logs.slice(-8).join('\n'));
  t.is(code, 0);
  t.deepEqual(last.filter(alive), [], 'no worker outlives the primary');
});
