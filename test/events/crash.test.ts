/**
 * kill -9 in the middle of a stream of session ends (issue #12, step 1): no session ended without its event, no
 * event without its ended session, and every end the server answered is on disk with its event.
 */
import test from 'ava';
import { loadConfig } from '../../src/config.js';
import { createDatabase } from '../../src/storage/database.js';
import { decodeJwt, postForm, send } from '../helpers/http.js';
import { cleanup, sandbox } from '../helpers/process.js';

test.after.always(cleanup);

const app = { id: 'app', secret: 'app-0123456789abcdef0123456789abcdef' };
const admin = { id: 'ops', secret: 'ops-0123456789abcdef0123456789abcdef' };
const SESSIONS = 60;

test('kill -9 while sessions are being ended: every ended session has exactly one event, and every event its ended session', async (t) => {
  t.timeout(180_000);
  const box = await sandbox();
  await box.cliJson(['clients', 'create', '--id', app.id, '--secret', app.secret, '--grants', 'password,refresh_token', '--scopes', 'read']);
  await box.cliJson(['clients', 'create', '--id', admin.id, '--secret', admin.secret, '--grants', 'client_credentials', '--scopes', 'gatehouse:admin']);
  await box.cliJson(['users', 'create', '--username', 'alice', '--password', 'correct-horse']);
  const server = await box.start();
  const sessions: Array<{ sid: string; refresh: string }> = [];
  for (let i = 0; i < SESSIONS; i++) {
    const reply = await postForm(`${server.url}/token`, { grant_type: 'password', username: 'alice', password: 'correct-horse' }, { auth: [app.id, app.secret] });
    if (reply.status !== 200) throw new Error(`login: ${reply.status} ${reply.text}`);
    sessions.push({ sid: decodeJwt(reply.json.access_token).payload.sid, refresh: reply.json.refresh_token });
  }
  const adminToken = (await postForm(`${server.url}/token`, { grant_type: 'client_credentials' }, { auth: [admin.id, admin.secret] })).json.access_token;

  // Half are ended by the admin API, half by logging out at /revoke; two at a time, until the kill.
  const answered = new Set<string>();
  const end = async (index: number) => {
    const { sid, refresh } = sessions[index]!;
    try {
      const reply =
        index % 2 === 0
          ? await send(`${server.url}/admin/sessions/${sid}`, { method: 'DELETE', headers: { authorization: `Bearer ${adminToken}` } })
          : await postForm(`${server.url}/revoke`, { token: refresh }, { auth: [app.id, app.secret] });
      if (reply.status === 204 || reply.status === 200) answered.add(sid);
    } catch {
      // the server died under this request
    }
  };
  const workers = [0, 1].map(async (lane) => {
    for (let index = lane; index < SESSIONS; index += 2) await end(index);
  });
  // Kill once a random 15 to 30 ends were answered (not after a fixed time), so the kill lands mid-transaction.
  const killAfter = 15 + Math.floor(Math.random() * 15);
  const deadline = Date.now() + 60_000;
  while (answered.size < killAfter && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 2));
  server.child.kill('SIGKILL');
  await Promise.all(workers);
  t.true(answered.size >= 15, `${answered.size} ends answered before the kill`);

  const db = createDatabase(loadConfig(box.env).database);
  try {
    const ended = new Set<string>((await db('sessions').whereNotNull('ended_at').select('id')).map((row: { id: string }) => row.id));
    const events: Array<{ session_id: string }> = await db('events').where({ type: 'session_revoked' }).select('session_id');
    const counts = new Map<string, number>();
    for (const event of events) counts.set(event.session_id, (counts.get(event.session_id) ?? 0) + 1);
    for (const sid of answered) t.true(ended.has(sid), `answered end of ${sid} is durable`);
    for (const sid of ended) t.is(counts.get(sid), 1, `ended session ${sid} has exactly one event`);
    for (const sid of counts.keys()) t.true(ended.has(sid), `event for ${sid} has its ended session`);
  } finally {
    await db.destroy();
  }
});
