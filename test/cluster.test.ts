/** GATEHOUSE_WORKERS: several processes behind one port, prepared once, stopped together. */
import test from 'ava';
import { execFileSync } from 'node:child_process';
import { postForm, send } from './helpers/http.js';
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

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('two workers: one start line, requests served, a worker that dies is replaced, SIGTERM stops all with exit 0', async (t) => {
  t.timeout(60_000);
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
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && !workersOf(server.child.pid!).some((pid) => !workers.includes(pid))) await new Promise((r) => setTimeout(r, 100));
  t.is(workersOf(server.child.pid!).length, 2, 'the dead worker was replaced');
  t.is((await send(`${server.url}/healthz`)).status, 200);

  const last = workersOf(server.child.pid!);
  const code = await server.stop('SIGTERM');
  if (code !== 0) t.log(server.logs.slice(-8).join('\n'));
  t.is(code, 0);
  t.deepEqual(last.filter(alive), [], 'no worker outlives the primary');
});
